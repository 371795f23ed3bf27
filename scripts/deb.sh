#!/usr/bin/env bash
# make deb: builds the Debian package (debhelper + meson, debian/) from a copy
# of the working tree, into dist/imagegen_VERSION_ARCH.deb. Installs its build
# dependencies first when they are missing (root or sudo).
set -euo pipefail
cd "$(dirname "$0")/.."

./scripts/deps.sh
need=(debhelper dpkg-dev fakeroot libinih-dev)
missing=()
for p in "${need[@]}"; do
	[ "$(dpkg-query -W -f='${db:Status-Status}' "$p" 2>/dev/null || true)" = installed ] ||
		missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
	sudo=()
	[ "$(id -u)" -eq 0 ] || sudo=(sudo)
	echo "deb: installing ${missing[*]}" >&2
	DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y -qq --no-install-recommends \
		"${missing[@]}" >/dev/null
fi

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir "$work/imagegen"
# The sources as they are here, without builds, results or the repository.
tar --exclude='./build*' --exclude=./.git --exclude=node_modules --exclude=./dist --exclude=./demo-out -c . |
	tar -x -C "$work/imagegen"
(cd "$work/imagegen" && dpkg-buildpackage -b -us -uc >"$work/build.log" 2>&1) || {
	tail -40 "$work/build.log" >&2
	echo "deb: dpkg-buildpackage failed (the log's end is above)" >&2
	exit 1
}
mkdir -p dist
rm -f dist/imagegen_*.deb
mv "$work"/imagegen_*.deb dist/
ls dist/imagegen_*.deb
