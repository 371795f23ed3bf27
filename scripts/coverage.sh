#!/usr/bin/env bash
# Line and branch coverage of src/ from the whole suite (unit and integration),
# built into build-cov with gcov instrumentation; gcovr prints the summary.
set -euo pipefail
cd "$(dirname "$0")/.."

build=${BUILD_COV:-build-cov}
[ -f "$build/build.ninja" ] || meson setup "$build" -Db_coverage=true -Dbuildtype=debug >/dev/null
ninja -C "$build" >/dev/null
find "$build" -name '*.gcda' -delete
meson test -C "$build" --suite unit >/dev/null
status=0
IMAGEGEN_BIN="$PWD/$build/imagegen" /usr/bin/python3 -m pytest -q -p no:cacheprovider tests \
	>"$build/pytest.log" 2>&1 || status=$?
grep -E "^FAILED" "$build/pytest.log" || true
tail -n 1 "$build/pytest.log"
gcovr -r . --filter 'src/' --object-directory "$build" --txt "$build/coverage.txt" >/dev/null
gcovr -r . --filter 'src/' --object-directory "$build" --print-summary \
	--html-details "$build/coverage.html" | tail -n 3
echo "coverage: per-file report in $build/coverage.txt, HTML in $build/coverage.html"
exit "$status"
