#!/usr/bin/env bash
# Installs Debian's emscripten (3.1.6) for `make bench PEERS=1`: it builds
# emscripten's emmalloc and dlmalloc as peers (bench/peers/). Not needed for
# `make test` or `make demo`.
set -euo pipefail
if command -v emcc >/dev/null; then exit 0; fi
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
  echo "emscripten: installing Debian's emscripten"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends emscripten >/dev/null
  exit 0
fi
echo "emscripten: emcc is needed for the emscripten peers (Debian: sudo apt-get install emscripten), or set EMCC=..." >&2
exit 1
