#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-or-later
# Every benchmark, one after the other, on a quiet machine (as root):
#
#   bench/all.sh [OUTDIR]
#
# Installs what they need (scripts/deps.sh, libvirt through
# bench/libvirt.sh), builds, runs bench/start.py, footprint.py, stop.py and
# prealloc.py, and keeps each one's table (OUTDIR/NAME.txt) and figures
# (OUTDIR/NAME.json); docs/performance.md is written from them. About 10
# minutes, most of it footprint.py's two minutes of watching and the
# libvirt set-up.
set -euo pipefail
cd "$(dirname "$0")/.."
out=${1:-bench/results}
[[ $(id -u) == 0 ]] || { echo "bench/all.sh: run as root" >&2; exit 1; }
scripts/deps.sh
scripts/build.sh
mkdir -p "$out"
trap 'bash bench/libvirt.sh teardown >/dev/null 2>&1 || true' EXIT
for b in start footprint stop prealloc; do
	echo "== bench/$b.py"
	python3 "bench/$b.py" --json "$out/$b.json" | tee "$out/$b.txt"
	echo
done
