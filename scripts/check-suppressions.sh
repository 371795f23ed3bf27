#!/usr/bin/env bash
# Proves tests/valgrind.supp hides only libvips' own once-per-process
# allocations. tests/faults/vips_leak.c loads and uses libvips as imagegen
# does, then leaks on request; under the valgrind command of
# check-valgrind.sh:
#   - leaking nothing passes, so what is reported below is the leak asked
#     for, not one of libvips' own;
#   - a block the tool's code mallocs on a libvips path, and one malloc'ed in
#     its own function that libvips calls back, are both reported, and
#     valgrind exits 99;
# and, since valgrind cannot see a leaked VipsImage (libvips keeps every live
# object in a table), libvips' own report (VIPS_LEAK=1) must name one.
set -euo pipefail
cd "$(dirname "$0")/.."

build=${BUILD:-build}
ninja -C "$build" tests/vips_leak >/dev/null
# shellcheck source=scripts/valgrind-wrapper.sh
. scripts/valgrind-wrapper.sh
probe="$build/tests/vips_leak"
out=$(mktemp)
trap 'rm -f "$out"' EXIT

fail() {
	echo "check-suppressions: $*" >&2
	sed 's/^/  | /' "$out" >&2
	exit 1
}

# shellcheck disable=SC2086  # the wrapper is a command line
$IMAGEGEN_WRAPPER "$probe" >"$out" 2>&1 || fail "a run that leaks nothing failed (exit $?)"

rc=0
# shellcheck disable=SC2086
$IMAGEGEN_WRAPPER "$probe" pixels mapped >"$out" 2>&1 || rc=$?
[ "$rc" = 99 ] || fail "valgrind did not report the tool's leaks (exit $rc, not 99)"
for fn in imgvips_load_rgb leak_mapped_block; do
	grep -A8 "definitely lost" "$out" | grep -q "by 0x[0-9A-F]*: $fn " ||
		fail "the leak allocated in $fn is suppressed"
done

VIPS_LEAK=1 "$probe" image >"$out" 2>&1 || fail "the image-leaking run failed (exit $?)"
grep -q "^[0-9]* objects alive:" "$out" || fail "libvips did not report a leaked VipsImage"
echo "check-suppressions: leaks of the tool's own are still reported"
