#!/usr/bin/env bash
# Runs each libFuzzer target for a bounded time (FUZZ_SECONDS each, default
# 60) from its checked-in seed corpus, in a clang build (build-fuzz/) with
# ASan and UBSan. scripts/test.sh calls it; a crash, a leak or a timeout is a
# failure, and the input that caused it is left in build-fuzz/findings/.
# What the runs find that is new stays in build-fuzz/corpus-*/ (not the
# repository): add an input to tests/fuzz/corpus-*/ by hand when it matters.
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${FUZZ_SECONDS:-60}

if [[ ! -f build-fuzz/build.ninja ]]; then
	CC=clang meson setup build-fuzz -Dfuzz=true -Dwerror=true >/dev/null
fi
ninja -C build-fuzz tests/fuzz/fuzz-qmp-parse-libfuzzer tests/fuzz/fuzz-config-parse-libfuzzer

mkdir -p build-fuzz/findings
run() {
	local name=$1 seeds=$2
	shift 2
	mkdir -p "build-fuzz/corpus-$name"
	echo "fuzzing $name for ${seconds}s"
	# -timeout: one input may take 10 s at most; a slower one is a hang, a finding.
	"build-fuzz/tests/fuzz/fuzz-$name-libfuzzer" -max_total_time="$seconds" -timeout=10 \
		-rss_limit_mb=2048 -artifact_prefix="build-fuzz/findings/$name-" -print_final_stats=1 \
		"$@" "build-fuzz/corpus-$name" "$seeds" 2>"build-fuzz/fuzz-$name.log" || {
		tail -n 40 "build-fuzz/fuzz-$name.log" >&2
		echo "fuzz: $name found a problem; the input is in build-fuzz/findings/" >&2
		return 1
	}
	grep -E "^stat::number_of_executed_units|^stat::peak_rss_mb" "build-fuzz/fuzz-$name.log" |
		sed "s/^/  $name: /"
}
run qmp-parse tests/fuzz/corpus-qmp -max_len=65536
run config-parse tests/fuzz/corpus-config -max_len=4096 -dict=tests/fuzz/config.dict
