#!/usr/bin/env bash
# libFuzzer targets (fuzz/): builds them with clang into build-fuzz and either
# runs each for FUZZ_SECONDS (default 60) from its seed corpus and merges
# what it found that adds coverage into fuzz/corpus/TARGET (to commit), or,
# with --replay, runs every seed once as a regression test (CI). FUZZ_TARGETS
# picks some ("prices stream").
set -euo pipefail
cd "$(dirname "$0")/.."

build=${BUILD_FUZZ:-build-fuzz}
[ -f "$build/build.ninja" ] ||
	CC=clang meson setup "$build" -Dfuzz=true -Db_sanitize=address,undefined \
		-Db_lundef=false -Dbuildtype=debug >/dev/null
ninja -C "$build" >/dev/null

export UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1
export ASAN_OPTIONS=detect_leaks=1
all=(response sse jobfile values pngmeta docmeta headers inputs manifest prices stream)
read -r -a targets <<<"${FUZZ_TARGETS:-${all[*]}}"
seconds=${FUZZ_SECONDS:-60}

for t in "${targets[@]}"; do
	bin="$build/fuzz/fuzz_$t"
	if [ "${1:-}" = --replay ]; then
		"$bin" -runs=0 fuzz/corpus/"$t" 2>&1 | tail -n 1 | sed "s/^/fuzz_$t: /"
		continue
	fi
	# New inputs go to a scratch corpus, then -merge=1 copies into the seeds
	# only those that reach code the seeds do not, so the corpus CI replays
	# grows with what the fuzzer finds and stays small. Crashes are written
	# to fuzz/crash-* for the fix's test.
	work=$(mktemp -d)
	status=0
	"$bin" -max_total_time="$seconds" -print_final_stats=1 -artifact_prefix=fuzz/ \
		"$work" fuzz/corpus/"$t" 2>&1 | grep -E "^(Done|stat::number_of_executed_units|stat::peak_rss_mb)|ERROR|SUMMARY" |
		sed "s/^/fuzz_$t: /" || status=$?
	before=$(find fuzz/corpus/"$t" -type f | wc -l)
	"$bin" -merge=1 -artifact_prefix=fuzz/ fuzz/corpus/"$t" "$work" >"$work.log" 2>&1 ||
		{ cat "$work.log" >&2; status=1; }
	after=$(find fuzz/corpus/"$t" -type f | wc -l)
	echo "fuzz_$t: $((after - before)) of $(find "$work" -type f | wc -l) new inputs kept in fuzz/corpus/$t"
	rm -rf "$work" "$work.log"
	[ "$status" = 0 ] || exit "$status"
done
