#!/usr/bin/env bash
# Banned functions (curl's checksrc idea): each has a bounded or checked
# replacement in the code base. Prints offenders and fails if there are any.
set -euo pipefail
cd "$(dirname "$0")/.."

banned='\b(sprintf|vsprintf|strcpy|strcat|atoi|atol|atof|strtok|gets|strncpy)[[:space:]]*\('
if grep -nE "$banned" src/*.c src/*/*.c src/*/*.h fuzz/*.c tests/unit/*.c; then
	echo "checksrc: use snprintf/buf_addf, xstrdup, value_parse_long/strtol or strtok_r instead" >&2
	exit 1
fi
./scripts/checklayers.sh
