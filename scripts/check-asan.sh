#!/usr/bin/env bash
# Builds imagegen with AddressSanitizer and UndefinedBehaviorSanitizer and runs
# the whole test suite (unit and integration) with that binary. Every report
# goes to a log file; any log at the end fails the check.
set -euo pipefail
cd "$(dirname "$0")/.."

build=${BUILD_ASAN:-build-asan}
[ -f "$build/build.ninja" ] ||
	meson setup "$build" -Db_sanitize=address,undefined -Db_lundef=false -Dbuildtype=debug >/dev/null
ninja -C "$build" >/dev/null

logs=$(mktemp -d)
trap 'rm -rf "$logs"' EXIT
export ASAN_OPTIONS="log_path=$logs/asan:detect_leaks=1:strict_string_checks=1"
export UBSAN_OPTIONS="log_path=$logs/ubsan:print_stacktrace=1"
# No leak suppressions: with the whole suite run under LeakSanitizer and none,
# nothing was reported (libvips' process-long allocations stay reachable).

meson test -C "$build" --suite unit --print-errorlogs >/dev/null
IMAGEGEN_BIN="$PWD/$build/imagegen" /usr/bin/python3 -m pytest -q -rs -p no:cacheprovider tests
if compgen -G "$logs/*" >/dev/null; then
	echo "check-asan: sanitizer reports:" >&2
	cat "$logs"/* >&2
	exit 1
fi
