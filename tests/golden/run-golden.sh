#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
#
# One golden case: run the real gamevm binary on a fixture host and compare
# its stdout (the argv as JSON) and stderr (the plan's diagnostics) with
# expected/NAME.stdout and expected/NAME.stderr. An empty expected stdout
# means the case must fail (exit status non-zero); otherwise it must succeed.
#
#   run-golden.sh NAME HOST OVERLAY CONFIG [shell]
#
# HOST is a tree under tests/hosts/; OVERLAY ('-' for none) is a directory
# under tests/golden/overlays/ copied over a copy of HOST (a zero-length file
# there masks the host's file of that name, like /etc/qemu/firmware does).
# Paths are relative to the source root, so messages name them stably.
# With "shell", the argv is compared in its shell-quoted form instead of JSON.
#
# GAMEVM_GOLDEN_UPDATE=1 writes the expected files instead of comparing.
set -eu

name=$1 host=$2 overlay=$3 conf=$4 format=${5:-json}
: "${GAMEVM_SRCDIR:?}" "${GAMEVM_BIN:?}"
expected=tests/golden/expected/$name

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cd "$GAMEVM_SRCDIR"

root=tests/hosts/$host
if [ "$overlay" != - ]; then
	cp -a "tests/hosts/$host" "$tmp/root"
	cp -a "tests/golden/overlays/$overlay/." "$tmp/root/"
	root=$tmp/root
fi

json=--json
[ "$format" = shell ] && json=

rc=0
# shellcheck disable=SC2086 # $json is one word or none
env -u JOURNAL_STREAM -u GAMEVM_LOG_LEVEL \
	"$GAMEVM_BIN" --root "$root" --run-dir /run/gamevm --state-dir /var/lib/gamevm \
	cmdline $json "$conf" >"$tmp/stdout" 2>"$tmp/stderr" || rc=$?

if [ -n "${GAMEVM_GOLDEN_UPDATE:-}" ]; then
	cp "$tmp/stdout" "$expected.stdout"
	cp "$tmp/stderr" "$expected.stderr"
	echo "updated $expected.stdout and $expected.stderr (exit status $rc)"
	exit 0
fi

fail=0
if [ -s "$expected.stdout" ] && [ "$rc" -ne 0 ]; then
	echo "FAIL: gamevm exited with $rc, expected success" >&2
	fail=1
elif [ ! -s "$expected.stdout" ] && [ "$rc" -eq 0 ]; then
	echo "FAIL: gamevm succeeded, expected it to refuse this config" >&2
	fail=1
fi
if ! diff -u "$expected.stdout" "$tmp/stdout" >&2; then
	echo "FAIL: stdout differs from $expected.stdout (see diff above)" >&2
	fail=1
fi
if ! diff -u "$expected.stderr" "$tmp/stderr" >&2; then
	echo "FAIL: stderr differs from $expected.stderr (see diff above)" >&2
	fail=1
fi
if [ "$fail" -ne 0 ]; then
	echo "To accept the new output after reviewing it: GAMEVM_GOLDEN_UPDATE=1 meson test -C BUILDDIR --suite golden" >&2
	exit 1
fi
echo "ok: $name"
