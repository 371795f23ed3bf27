#!/usr/bin/env bash
# The layers of src/ call only downward: util <- image <- api <- engine <- cmd
# <- main.c. The build enforces it (each layer's library sees only its own
# headers and those below); this check says which include broke the rule,
# and proves the option tables' type check still bites.
set -euo pipefail
cd "$(dirname "$0")/.."

layers=(util image api engine cmd)
rank() {
	local i
	for i in "${!layers[@]}"; do
		[ "${layers[$i]}" = "$1" ] && { echo "$i"; return; }
	done
	echo 99
}

bad=0
for file in src/*/*.c src/*/*.h src/main.c; do
	dir=$(basename "$(dirname "$file")")
	[ "$dir" = src ] && own=99 || own=$(rank "$dir")
	while IFS= read -r header; do
		[ "$header" = config.h ] && continue
		found=$(ls src/*/"$header" 2>/dev/null | head -1 || true)
		if [ -z "$found" ]; then
			continue   # a system or generated header
		fi
		theirs=$(rank "$(basename "$(dirname "$found")")")
		if [ "$theirs" -gt "$own" ]; then
			echo "checklayers: $file includes $found, a layer above it" >&2
			bad=1
		fi
	done < <(sed -n 's/^#include "\([^"]*\)".*/\1/p' "$file")
done

# An option row whose field has the wrong width must not compile.
probe=$(mktemp --suffix=.c)
trap 'rm -f "$probe"' EXIT
cat > "$probe" <<'C'
#include "opt.h"
static int flag;
const struct opt probe[] = { OPT_BOOL('f', "force", &flag, "help"), OPT_END() };
C
if ${CC:-cc} -std=c11 -Werror -fsyntax-only -Isrc/cmd -Isrc/util "$probe" 2>/dev/null; then
	echo "checklayers: an OPT_BOOL row on an int field compiled; the width check is gone" >&2
	bad=1
fi
exit $bad
