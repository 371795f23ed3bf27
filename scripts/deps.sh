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
)

missing=()
for p in "${packages[@]}"; do
	status=$(dpkg-query -W -f='${db:Status-Status}' "$p" 2>/dev/null || true)
	[ "$status" = installed ] || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0

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
