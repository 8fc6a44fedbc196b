#!/usr/bin/env bash
# README quick start (2): install, build, and run the whole test suite:
# unit and golden tests, the real-QEMU integration and fault injection tests,
# the lab tests, the unit and the supervisor's integration tests again under
# ASan/UBSan (LeakSanitizer on), the fuzz targets for a bounded time, and the
# format check.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/deps.sh
scripts/build.sh

meson test -C build --print-errorlogs --num-processes 2

if [[ ! -f build-asan/build.ninja ]]; then
	meson setup build-asan -Dwerror=true -Db_sanitize=address,undefined -Db_lundef=false
fi
ninja -C build-asan
ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
	meson test -C build-asan --suite unit --suite integration --print-errorlogs --num-processes 2

# The fuzz targets (QMP, config file), a bounded time each.
scripts/fuzz.sh

scripts/check-format.sh
