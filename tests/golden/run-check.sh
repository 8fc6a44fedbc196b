#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
#
# One golden case of "gamevm check": the kernel command line advice for
# CONFIG on a fixture host (its proc/cmdline), stdout and stderr compared
# with expected/NAME.stdout and expected/NAME.stderr, and its exit status
# (whether the doctor found a failure) with expected/NAME.rc (0 without one).
#
#   run-check.sh NAME HOST OVERLAY CONFIG [json]
#
# HOST and OVERLAY as in run-golden.sh.
# GAMEVM_GOLDEN_UPDATE=1 writes the expected files instead of comparing.
set -eu

name=$1 host=$2 overlay=$3 conf=$4 format=${5:-text}
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

json=
[ "$format" = json ] && json=--json

rc=0
# shellcheck disable=SC2086 # $json is one word or none
env -u JOURNAL_STREAM -u GAMEVM_LOG_LEVEL \
	"$GAMEVM_BIN" --root "$root" check $json "$conf" >"$tmp/stdout" 2>"$tmp/stderr" || rc=$?

# The overlay's copy lives in a temporary directory: name it as the host it stands for.
if [ "$overlay" != - ]; then
	for f in stdout stderr; do
		sed "s|$tmp/root|tests/hosts/$host+$overlay|g" "$tmp/$f" >"$tmp/$f.named"
		mv "$tmp/$f.named" "$tmp/$f"
	done
fi

if [ -n "${GAMEVM_GOLDEN_UPDATE:-}" ]; then
	cp "$tmp/stdout" "$expected.stdout"
	cp "$tmp/stderr" "$expected.stderr"
	if [ "$rc" -ne 0 ]; then echo "$rc" >"$expected.rc"; else rm -f "$expected.rc"; fi
	echo "updated $expected.stdout and $expected.stderr (exit status $rc)"
	exit 0
fi

fail=0
want_rc=0
[ -f "$expected.rc" ] && want_rc=$(cat "$expected.rc")
if [ "$rc" -ne "$want_rc" ]; then
	echo "FAIL: gamevm check exited with $rc, not $want_rc" >&2
	fail=1
fi
diff -u "$expected.stdout" "$tmp/stdout" >&2 || fail=1
diff -u "$expected.stderr" "$tmp/stderr" >&2 || fail=1
if [ "$fail" -ne 0 ]; then
	echo "To accept the new output after reviewing it: GAMEVM_GOLDEN_UPDATE=1 meson test -C BUILDDIR --suite golden" >&2
	exit 1
fi
echo "ok: $name"
