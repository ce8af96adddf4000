#!/usr/bin/env bash
# Installs what `make libc` needs to build C and C++ programs against
# wasi-libc with Debian's clang: clang + wasm-ld (scripts/setup-clang.sh),
# Debian's wasi-libc, libc++/libc++abi for wasm32-wasi and compiler-rt's
# wasm32 builtins (long double arithmetic for printf/strtod), all for
# Debian 12's default clang (14). Also gcc/g++, for the native builds the
# tests compare outputs with. Installs only what is missing.
set -euo pipefail
here=$(dirname "$0")
"$here/setup-clang.sh"
need=()
for f in /usr/lib/wasm32-wasi/libc.a:wasi-libc /usr/lib/wasm32-wasi/libc++.a:libc++-dev-wasm32 \
         /usr/lib/wasm32-wasi/libc++abi.a:libc++abi-dev-wasm32 ; do
  [ -e "${f%%:*}" ] || need+=("${f##*:}")
done
rt=$("${CLANG:-clang}" --target=wasm32-wasi -print-libgcc-file-name 2>/dev/null || true)
[ -n "$rt" ] && [ -e "$rt" ] || need+=(libclang-rt-dev-wasm32)
command -v gcc >/dev/null || need+=(gcc)
command -v g++ >/dev/null || need+=(g++)
[ ${#need[@]} -eq 0 ] && exit 0
# libc++abi's package is versioned only: the one of the default clang
ver=$("${CLANG:-clang}" --version | sed -n 's/.*clang version \([0-9]*\).*/\1/p')
pkgs=("${need[@]/libc++abi-dev-wasm32/libc++abi-$ver-dev-wasm32}")
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
  echo "wasi: installing ${pkgs[*]}"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${pkgs[@]}" >/dev/null
  exit 0
fi
echo "wasi: ${pkgs[*]} are needed (Debian: sudo apt-get install ${pkgs[*]})" >&2
exit 1
