#!/usr/bin/env bash
# libFuzzer targets (fuzz/): builds them with clang into build-fuzz and either
# runs each for FUZZ_SECONDS (default 60) from its seed corpus, or, with
# --replay, runs every seed once as a regression test (CI).
set -euo pipefail
cd "$(dirname "$0")/.."

build=${BUILD_FUZZ:-build-fuzz}
[ -f "$build/build.ninja" ] ||
	CC=clang meson setup "$build" -Dfuzz=true -Db_sanitize=address,undefined \
		-Db_lundef=false -Dbuildtype=debug >/dev/null
ninja -C "$build" >/dev/null

export UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1
export ASAN_OPTIONS=detect_leaks=1
targets=(response sse jobfile values pngmeta docmeta headers inputs manifest prices stream)
seconds=${FUZZ_SECONDS:-60}

for t in "${targets[@]}"; do
	bin="$build/fuzz/fuzz_$t"
	if [ "${1:-}" = --replay ]; then
		"$bin" -runs=0 fuzz/corpus/"$t" 2>&1 | tail -n 1 | sed "s/^/fuzz_$t: /"
		continue
	fi
	# New inputs go to a scratch corpus; the seeds in the repository stay as
	# they are. Crashes are written to fuzz/crash-* for the fix's test.
	work=$(mktemp -d)
	"$bin" -max_total_time="$seconds" -print_final_stats=1 -artifact_prefix=fuzz/ \
		"$work" fuzz/corpus/"$t" 2>&1 | grep -E "^(Done|stat::number_of_executed_units|stat::peak_rss_mb)|ERROR|SUMMARY" |
		sed "s/^/fuzz_$t: /"
	echo "fuzz_$t: $(ls "$work" | wc -l) new corpus entries (not kept)"
	rm -rf "$work"
done
