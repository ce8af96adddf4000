#!/usr/bin/env bash
# Fetches Brotli's C sources (c/: the library and its command-line tool;
# MIT licence) for the real-program tests of the libc path: from PyPI's
# `brotli` package, whose sdist vendors them, with `pip download` (the sdist
# only; pip prepares its metadata in an isolated environment, nothing is
# built or installed). Unpacks to $OUT/third_party/brotli/; does nothing
# when it is there. Nothing of it is committed.
set -euo pipefail
OUT="${OUT:-build}"
PKG="${BROTLI_PYPI:-brotli==1.2.1}"
dest="$OUT/third_party/brotli"
[ -s "$dest/SOURCE" ] && [ -s "$dest/c/tools/brotli.c" ] && exit 0
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
echo "brotli: fetching the $PKG sdist from PyPI (its c/ sources)"
# Debian's python3 may lack pip: its package from apt (root only)
if ! python3 -m pip --version >/dev/null 2>&1; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends python3-pip >/dev/null
  else echo "setup-brotli.sh: python3 -m pip is missing (Debian: sudo apt-get install python3-pip)" >&2; exit 1; fi
fi
python3 -m pip download --quiet --disable-pip-version-check --no-binary :all: --no-deps "$PKG" -d "$tmp"
sdist=$(ls "$tmp"/*.tar.gz)
top=$(basename "$sdist" .tar.gz)
tar -xzf "$sdist" -C "$tmp" "$top/c" "$top/LICENSE"
rm -rf "$dest"
mkdir -p "$dest"
mv "$tmp/$top/c" "$tmp/$top/LICENSE" "$dest/"
echo "$PKG" > "$dest/SOURCE"
echo "brotli: $PKG in $dest"
