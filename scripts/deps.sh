#!/usr/bin/env bash
# Installs the Debian packages imagegen needs to build, test and run its demo.
# Quiet and quick when everything is already there.
set -euo pipefail

packages=(
	gcc meson ninja-build pkg-config
	libcurl4-openssl-dev libjansson-dev libvips-dev zlib1g-dev libsqlite3-dev libinih-dev
	libcmocka-dev python3 python3-pytest python3-pil
	ca-certificates curl chromium
	clang libclang-rt-14-dev gcovr valgrind
	nodejs
)
# npm comes with NodeSource's nodejs; Debian's own nodejs needs Debian's npm.
command -v npm >/dev/null || packages+=(npm)

missing=()
for p in "${packages[@]}"; do
	status=$(dpkg-query -W -f='${db:Status-Status}' "$p" 2>/dev/null || true)
	[ "$status" = installed ] || missing+=("$p")
done

# The MCP tests' client: the official MCP SDK, at the version the lock file
# names, from the npm registry (tests/mcp/package-lock.json). A machine that
# cannot reach the registry still builds and tests everything else: the tests
# that drive the server through the SDK say they were skipped, and why (under
# CI=true they fail instead).
mcp_client() {
	local dir
	dir="$(cd "$(dirname "$0")/../tests/mcp" && pwd)"
	[ -d "$dir/node_modules/@modelcontextprotocol/sdk" ] && return 0
	echo "deps: installing the MCP SDK test client (npm ci in tests/mcp)" >&2
	if ! (cd "$dir" && npm ci --no-audit --no-fund --loglevel=error >"$dir/npm-ci.log" 2>&1); then
		echo "deps: warning: npm ci failed in tests/mcp ($(grep -m1 -o 'ERR! code .*' \
			"$dir/npm-ci.log" || echo 'see tests/mcp/npm-ci.log')); the MCP tests that use the" \
			"SDK client will be skipped" >&2
		return 0
	fi
	rm -f "$dir/npm-ci.log"
}

if [ ${#missing[@]} -eq 0 ]; then
	mcp_client
	exit 0
fi

sudo=()
if [ "$(id -u)" -ne 0 ]; then
	if command -v sudo >/dev/null; then
		sudo=(sudo)
	else
		echo "deps: need root to install: ${missing[*]}" >&2
		exit 1
	fi
fi
echo "deps: installing ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
"${sudo[@]}" apt-get update -qq
"${sudo[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
mcp_client
