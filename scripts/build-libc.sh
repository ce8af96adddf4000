#!/usr/bin/env bash
# The libc path (docs/LINKING.md): builds $OUT/libc/linalloc-libc.o, the
# object a wasi-libc program links so that its malloc family is linalloc's,
# and the example programs of examples/libc with each toolchain:
#   NAME.wasm        Debian's clang + wasi-libc (+ libc++ for C++)
#   NAME-zig.wasm    zig cc / zig c++ (PyPI's ziglang; skipped when $ZIG is absent)
#   NAME-native      gcc / g++, whose output the tests compare with
# plus two that linkModules must refuse: inventory-own.wasm (wasi-libc's own
# dlmalloc: no shim) and inventory-own-memory.wasm (no --import-memory).
# A real program: SQLite (scripts/setup-sqlite.sh fetches its amalgamation
# from the npm registry) with examples/libc/sqlite-run.c, as sqlite.wasm,
# sqlite-native, and sqlite-overrun.wasm (one byte written past a block,
# for the checked build to catch). And Brotli's own command-line tool
# (scripts/setup-brotli.sh fetches its sources from PyPI) as brotli.wasm and
# brotli-native. Third-party programs are rebuilt only when missing or older
# than the fetched sources.
# Run from the repository root; CLANG, CLANGXX, ZIG, CC, CXX, OUT overridable.
set -euo pipefail
CLANG="${CLANG:-clang}"
CLANGXX="${CLANGXX:-clang++}"
ZIG="${ZIG:-.tools/bin/zig}"
CC="${CC:-gcc}"
CXX="${CXX:-g++}"
OUT="${OUT:-build}"
out="$OUT/libc"
src=examples/libc
mkdir -p "$out"

# the commands of docs/LINKING.md, word for word but for the paths
WASI="--target=wasm32-wasi -O2"
LINK_CLANG="-Wl,--import-memory,--global-base=65536,--strip-debug"
LINK_ZIG="-Wl,--import-memory -Wl,-z,stack-size=65536 -s"
SHIM="$out/linalloc-libc.o"

run() { echo "  $*"; "$@"; }

echo "libc: $SHIM and examples/libc with $($CLANG --version | head -1)"
run "$CLANG" $WASI -Wall -Wextra -c libc/linalloc-libc.c -o "$SHIM"
run "$CLANG" $WASI $src/inventory.c "$SHIM" $LINK_CLANG -o "$out/inventory.wasm"
run "$CLANGXX" $WASI -std=c++17 -fno-exceptions $src/wordfreq.cpp "$SHIM" $LINK_CLANG -o "$out/wordfreq.wasm"
run "$CLANG" $WASI -mexec-model=reactor $src/greet.c "$SHIM" $LINK_CLANG -o "$out/greet.wasm"
# what linkModules refuses: libc's own allocator, a memory of its own
run "$CLANG" $WASI $src/inventory.c $LINK_CLANG -o "$out/inventory-own.wasm"
run "$CLANG" $WASI $src/inventory.c "$SHIM" -Wl,--strip-debug -o "$out/inventory-own-memory.wasm"

echo "libc: native builds with $CC, $CXX"
run "$CC" -O2 -Wall -Wextra $src/inventory.c -o "$out/inventory-native"
run "$CXX" -O2 -Wall -std=c++17 $src/wordfreq.cpp -o "$out/wordfreq-native"

# SQLite: its amalgamation takes a minute per compiler, so it is compiled once
SQLITE="$OUT/third_party/sqlite3"
SQLITE_FLAGS="-DSQLITE_OMIT_LOAD_EXTENSION -DSQLITE_THREADSAFE=0"
stale() { [ ! -e "$1" ] || [ "$2" -nt "$1" ]; }
OUT="$OUT" scripts/setup-sqlite.sh
echo "libc: SQLite $(cat "$SQLITE/SOURCE")"
if stale "$out/sqlite3-wasi.o" "$SQLITE/SOURCE"; then run "$CLANG" $WASI $SQLITE_FLAGS -c "$SQLITE/sqlite3.c" -o "$out/sqlite3-wasi.o"; fi
if stale "$out/sqlite3-native.o" "$SQLITE/SOURCE"; then run "$CC" -O2 $SQLITE_FLAGS -c "$SQLITE/sqlite3.c" -o "$out/sqlite3-native.o"; fi
run "$CLANG" $WASI -I"$SQLITE" $src/sqlite-run.c "$out/sqlite3-wasi.o" "$SHIM" $LINK_CLANG -o "$out/sqlite.wasm"
run "$CLANG" $WASI -I"$SQLITE" -DPLANT_OVERRUN $src/sqlite-run.c "$out/sqlite3-wasi.o" "$SHIM" $LINK_CLANG -o "$out/sqlite-overrun.wasm"
run "$CC" -O2 -I"$SQLITE" $src/sqlite-run.c "$out/sqlite3-native.o" -lm -o "$out/sqlite-native"

# Brotli: the library and c/tools/brotli.c; WASI lacks chmod/chown (brotli-wasi.c) and clock()
BROTLI="$OUT/third_party/brotli"
OUT="$OUT" scripts/setup-brotli.sh
echo "libc: Brotli $(cat "$BROTLI/SOURCE")"
BROTLI_SRC="$(ls "$BROTLI"/c/common/*.c "$BROTLI"/c/dec/*.c "$BROTLI"/c/enc/*.c) $BROTLI/c/tools/brotli.c"
if stale "$out/brotli.wasm" "$BROTLI/SOURCE" || [ $src/brotli-wasi.c -nt "$out/brotli.wasm" ] || [ "$SHIM" -nt "$out/brotli.wasm" ]; then
  run "$CLANG" $WASI -D_WASI_EMULATED_PROCESS_CLOCKS -I"$BROTLI/c/include" $BROTLI_SRC $src/brotli-wasi.c "$SHIM" -lwasi-emulated-process-clocks $LINK_CLANG -o "$out/brotli.wasm"
fi
if stale "$out/brotli-native" "$BROTLI/SOURCE"; then run "$CC" -O2 -I"$BROTLI/c/include" $BROTLI_SRC -lm -o "$out/brotli-native"; fi

if [ -x "$ZIG" ] || command -v "$ZIG" >/dev/null 2>&1; then
  echo "libc: zig $("$ZIG" version)"
  run "$ZIG" cc $WASI $src/inventory.c "$SHIM" $LINK_ZIG -o "$out/inventory-zig.wasm"
  run "$ZIG" c++ $WASI -std=c++17 -fno-exceptions $src/wordfreq.cpp "$SHIM" $LINK_ZIG -o "$out/wordfreq-zig.wasm"
else
  echo "libc: no zig at $ZIG (scripts/setup-zig.sh installs it): the zig builds are skipped" >&2
fi
