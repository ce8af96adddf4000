#!/usr/bin/env bash
# Makes `wasm-opt` (binaryen) available, installing only what is missing.
# Order: wasm-opt already on PATH (new enough) -> cargo binstall -> the npm
# registry's `binaryen` package (binaryen compiled to wasm, runs on Node) ->
# `cargo install wasm-opt --locked` (compiles binaryen from source; slow).
# Installs go under $TOOLS (default .tools/), never system-wide.
set -euo pipefail
MIN_VERSION="${MIN_VERSION:-116}"
TOOLS="${TOOLS:-.tools}"
BINARYEN_NPM="${BINARYEN_NPM:-binaryen@132.0.0}"
mkdir -p "$TOOLS/bin"
export PATH="$PWD/$TOOLS/bin:$PATH"

version_ok() {
  local v
  v=$("$1" --version 2>/dev/null | sed -n 's/^wasm-opt version \([0-9]*\).*/\1/p')
  [ -n "$v" ] && [ "$v" -ge "$MIN_VERSION" ]
}

if command -v wasm-opt >/dev/null && version_ok wasm-opt; then
  echo "wasm-opt: $(command -v wasm-opt) ($(wasm-opt --version))"
  exit 0
fi

if cargo binstall --help >/dev/null 2>&1; then
  echo "wasm-opt: installing with cargo binstall"
  cargo binstall -y --root "$TOOLS" wasm-opt || true
elif command -v npm >/dev/null; then
  echo "wasm-opt: installing $BINARYEN_NPM from the npm registry into $TOOLS"
  npm install --no-audit --no-fund --silent --prefix "$TOOLS" "$BINARYEN_NPM"
  ln -sf ../node_modules/.bin/wasm-opt "$TOOLS/bin/wasm-opt"
fi

if ! version_ok "$TOOLS/bin/wasm-opt" 2>/dev/null; then
  echo "wasm-opt: building from source with cargo install wasm-opt --locked (takes a while)"
  cargo install wasm-opt --locked --root "$TOOLS"
fi

version_ok "$TOOLS/bin/wasm-opt" || { echo "wasm-opt: no version >= $MIN_VERSION could be installed" >&2; exit 1; }
echo "wasm-opt: $TOOLS/bin/wasm-opt ($("$TOOLS/bin/wasm-opt" --version))"
