#!/usr/bin/env bash
# make check-deb: builds the package (make deb), then installs it with apt
# (dpkg plus the dependencies it declares) on a fresh Debian 12 root made by
# ../shared/tools/fresh (FRESH_TOOLS to point elsewhere), and runs it there:
# --version, a dry run (no key, nothing sent), the data files, the man page
# and the completions where they belong. Needs root and debootstrap.
set -euo pipefail
cd "$(dirname "$0")/.."

fresh=${FRESH_TOOLS:-../shared/tools/fresh}
[ -x "$fresh/check-fresh" ] || { echo "check-deb: no $fresh/check-fresh" >&2; exit 2; }
./scripts/deb.sh >/dev/null
carry=$(mktemp -d)
trap 'rm -rf "$carry"' EXIT
cp dist/imagegen_*.deb "$carry/"
deb=$(basename dist/imagegen_*.deb)
"$fresh/check-fresh" --shared "$carry" --isolate . \
	"apt-get update -qq && apt-get install -y -qq /root/shared/$deb >/dev/null &&
	 imagegen --version | tee /dev/stderr | grep -q 'libvips [0-9]' &&
	 imagegen generate --dry-run --size 1024x1024 'A red fox' | grep -q 'estimated cost' &&
	 test -f /usr/share/imagegen/prices.json && test -f /usr/share/imagegen/SKILL.md &&
	 test -f /usr/share/man/man1/imagegen.1.gz &&
	 test -f /usr/share/bash-completion/completions/imagegen &&
	 test -f /usr/share/zsh/site-functions/_imagegen &&
	 test -f /usr/share/fish/vendor_completions.d/imagegen.fish &&
	 echo 'check-deb: installed and ran'"
