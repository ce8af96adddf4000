#!/usr/bin/env bash
# Fetches SQLite's amalgamation (sqlite3.c, sqlite3.h; public domain) for the
# real-program tests of the libc path: from the npm registry's better-sqlite3
# package, which vendors it, with `npm pack` (no install, no build scripts).
# Unpacks to $OUT/third_party/sqlite3/; does nothing when it is there.
# Nothing of it is committed.
set -euo pipefail
OUT="${OUT:-build}"
PKG="${SQLITE_NPM:-better-sqlite3@12.11.1}"
dest="$OUT/third_party/sqlite3"
[ -s "$dest/sqlite3.c" ] && [ -s "$dest/sqlite3.h" ] && exit 0
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
echo "sqlite: fetching $PKG from the npm registry (its deps/sqlite3 amalgamation)"
tarball=$(cd "$tmp" && npm pack --silent "$PKG")
tar -xzf "$tmp/$tarball" -C "$tmp" package/deps/sqlite3/sqlite3.c package/deps/sqlite3/sqlite3.h
mkdir -p "$dest"
mv "$tmp/package/deps/sqlite3/sqlite3.c" "$tmp/package/deps/sqlite3/sqlite3.h" "$dest/"
echo "$PKG" > "$dest/SOURCE"
echo "sqlite: $(sed -n 's/^#define SQLITE_VERSION *"\(.*\)"/\1/p' "$dest/sqlite3.h") in $dest"
