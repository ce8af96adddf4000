#!/usr/bin/env bash
# Installs clang and wasm-ld (Debian's clang and lld) to build the C client
# modules for the runtime-linking examples and tests.
set -euo pipefail
if command -v clang >/dev/null && command -v wasm-ld >/dev/null; then exit 0; fi
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
  echo "clang: installing Debian's clang and lld"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends clang lld >/dev/null
  exit 0
fi
echo "clang: clang and wasm-ld are needed (Debian: sudo apt-get install clang lld), or set CLANG=... WASM_LD=..." >&2
exit 1
