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
python3 -m pip download --quiet --disable-pip-version-check --no-binary :all: --no-deps "$PKG" -d "$tmp"
sdist=$(ls "$tmp"/*.tar.gz)
top=$(basename "$sdist" .tar.gz)
tar -xzf "$sdist" -C "$tmp" "$top/c" "$top/LICENSE"
rm -rf "$dest"
mkdir -p "$dest"
mv "$tmp/$top/c" "$tmp/$top/LICENSE" "$dest/"
echo "$PKG" > "$dest/SOURCE"
echo "brotli: $PKG in $dest"
