#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-or-later
#
# gamevm import-libvirt against the reference build: the seed's libvirt
# domain (tests/import/win11-domain.xml, 'virsh dumpxml win11') converted to
# a config must give the same QEMU command line, argument for argument, as
# examples/win11.conf, on the seed's host:
#
#   gamevm --root tests/hosts/HOST --run-dir /run/gamevm --state-dir /var/lib/gamevm \
#       cmdline --json CONFIG
#
# Also: the list of what the converter could not carry over (its stderr) is
# compared with expected/NAME.stderr; the file is written with mode 0644;
# a second run refuses to overwrite it and leaves it as it was.
#
#   run-import.sh NAME HOST DOMAIN.xml CONFIG
#
# GAMEVM_GOLDEN_UPDATE=1 writes expected/NAME.stderr instead of comparing.
set -eu

name=$1 host=$2 xml=$3 conf=$4
: "${GAMEVM_SRCDIR:?}" "${GAMEVM_BIN:?}"
expected=tests/golden/expected/$name

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cd "$GAMEVM_SRCDIR"

cmdline() {
	env -u JOURNAL_STREAM -u GAMEVM_LOG_LEVEL \
		"$GAMEVM_BIN" --root "tests/hosts/$host" --run-dir /run/gamevm \
		--state-dir /var/lib/gamevm cmdline --json "$1"
}

fail=0
rc=0
env -u JOURNAL_STREAM -u GAMEVM_LOG_LEVEL \
	"$GAMEVM_BIN" import-libvirt "$xml" -o "$tmp/converted.conf" 2>"$tmp/import.stderr" || rc=$?
sed "s|$tmp|TMP|g" "$tmp/import.stderr" >"$tmp/import.stderr.stable"
if [ "$rc" -ne 0 ]; then
	cat "$tmp/import.stderr" >&2
	echo "FAIL: gamevm import-libvirt exited with $rc" >&2
	exit 1
fi

if [ -n "${GAMEVM_GOLDEN_UPDATE:-}" ]; then
	cp "$tmp/import.stderr.stable" "$expected.stderr"
	echo "updated $expected.stderr"
elif ! diff -u "$expected.stderr" "$tmp/import.stderr.stable" >&2; then
	echo "FAIL: the import's stderr differs from $expected.stderr (see diff above)" >&2
	fail=1
fi

mode=$(stat -c %a "$tmp/converted.conf")
if [ "$mode" != 644 ]; then
	echo "FAIL: the converted config has mode $mode, expected 644" >&2
	fail=1
fi

cp "$tmp/converted.conf" "$tmp/before.conf"
if "$GAMEVM_BIN" import-libvirt "$xml" -o "$tmp/converted.conf" 2>"$tmp/again.stderr"; then
	echo "FAIL: a second import over the same file succeeded" >&2
	fail=1
fi
if ! cmp -s "$tmp/before.conf" "$tmp/converted.conf"; then
	echo "FAIL: the refused second import changed the file" >&2
	fail=1
fi
if [ "$(find "$tmp" -name '.converted.conf.*' | wc -l)" -ne 0 ]; then
	echo "FAIL: a temporary file was left behind" >&2
	fail=1
fi

if ! cmdline "$tmp/converted.conf" >"$tmp/converted.json" 2>"$tmp/converted.err"; then
	cat "$tmp/converted.err" >&2
	echo "FAIL: gamevm cmdline refused the converted config" >&2
	fail=1
fi
if ! cmdline "$conf" >"$tmp/reference.json" 2>"$tmp/reference.err"; then
	cat "$tmp/reference.err" >&2
	echo "FAIL: gamevm cmdline refused $conf" >&2
	fail=1
fi
if [ "$fail" -eq 0 ] && ! diff -u "$tmp/reference.json" "$tmp/converted.json" >&2; then
	echo "FAIL: the QEMU argv of the converted $xml differs from that of $conf (see diff above)" >&2
	echo "The converted config:" >&2
	cat "$tmp/converted.conf" >&2
	fail=1
fi
if [ ! -s "$tmp/reference.json" ]; then
	echo "FAIL: no argv for $conf" >&2
	fail=1
fi

[ "$fail" -eq 0 ] || exit 1
echo "ok: $name ($(grep -c '^  "' "$tmp/converted.json") arguments identical)"
