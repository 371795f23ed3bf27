#!/usr/bin/env bash
# The demo: start the bundled stand-in server on 127.0.0.1, run a few real
# imagegen commands against it, show where the images are, stop the server.
set -euo pipefail

bin=${1:-build/imagegen}
bin=$(realpath "$bin")
top=$(cd "$(dirname "$0")/.." && pwd)
out="$top/demo-out"
state=$(mktemp -d)
server_pid=

stop() {
	[ -n "$server_pid" ] && kill "$server_pid" 2>/dev/null && wait "$server_pid" 2>/dev/null
	rm -rf "$state"
}
trap stop EXIT

/usr/bin/python3 "$top/tests/standin.py" --port 0 --port-file "$state/port" \
	--key sk-demo-not-a-real-key 2>/dev/null &
server_pid=$!
for _ in $(seq 100); do [ -s "$state/port" ] && break; sleep 0.05; done
[ -s "$state/port" ] || { echo "demo: the stand-in server did not start" >&2; exit 1; }

export OPENAI_API_KEY=sk-demo-not-a-real-key
export OPENAI_BASE_URL="http://127.0.0.1:$(cat "$state/port")/v1"
rm -rf "$out"
mkdir -p "$out"

run() {
	printf '\n$ imagegen' >&2
	printf ' %q' "$@" >&2
	printf '\n' >&2
	"$bin" "$@"
}

run generate --out-dir "$out" "A cute baby sea otter floating on its back"
run generate --out-dir "$out" --model gpt-image-2.6-sunburst --size 1536x1024 --quality max \
	--output-format jpeg --output-compression 85 "A lighthouse at dusk, oil painting"
run generate --out-dir "$out" --n 3 --format webp --prefix robot "A friendly robot waving"
run generate --out-dir "$out" --size 2048x1152 --use-case "landing page hero" \
	--composition "wide, negative space on the left" "A ceramic mug on a stone table"
run generate --out-dir "$out" --model gpt-image-2.6-flare --complexity low \
	"A watercolor fox in the snow"
run generate --out-dir "$out" --background transparent --model gpt-image-2.5-flare \
	--prefix logo "A minimal mountain logo"
run generate --out "$out/json-demo.png" --json "A tiny cactus" >"$state/response.json"
/usr/bin/python3 - "$state/response.json" >&2 <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
print("--json response: keys %s, %d image(s), usage %s" % (
    sorted(r), len(r["data"]), r.get("usage", {}).get("total_tokens")))
PY
run generate --dry-run --out-dir "$out" "What would be sent" >&2

printf '\ndemo: images in %s:\n' "$out" >&2
find "$out" -type f | sort
