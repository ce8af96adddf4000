#!/usr/bin/env bash
# Builds the peer allocators that `bench/run.mjs` compares linalloc with,
# each twice, into build/peers/:
#   <name>-speed.wasm  Rust: opt-level 3 + wasm-opt -O3;  emcc -O3
#   <name>-size.wasm   Rust: opt-level z + wasm-opt -Oz;  emcc -Oz
# Names: dlmalloc-rs talc rlsf wee_alloc lol_alloc (bench/peers/src/lib.rs)
#        emmalloc emdlmalloc                       (bench/peers/emscripten.c)
# Writes only under build/peers/ (cargo's download cache aside). Rebuilding
# is cheap: cargo keeps its artifacts in build/peers/target.
#
# Environment: CARGO, WASM_OPT (default: wasm-opt on PATH), EMCC, NODE;
# PEERS="talc rlsf" builds only those.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
OUT=$ROOT/build/peers
CARGO=${CARGO:-cargo}
WASM_OPT=${WASM_OPT:-wasm-opt}
EMCC=${EMCC:-emcc}
NODE=${NODE:-node}
TARGET=wasm32-unknown-unknown
RUST_PEERS="dlmalloc-rs talc rlsf wee_alloc lol_alloc"
EM_PEERS="emmalloc emdlmalloc"
PEERS=${PEERS:-$RUST_PEERS $EM_PEERS}

die() { echo "bench/peers/build.sh: $*" >&2; exit 1; }
need() { command -v "$1" >/dev/null 2>&1 || die "$1 not found: $2"; }

wants_rust=0 wants_em=0
for p in $PEERS; do
  case " $RUST_PEERS " in *" $p "*) wants_rust=1; continue ;; esac
  case " $EM_PEERS " in *" $p "*) wants_em=1; continue ;; esac
  die "unknown peer '$p' (known: $RUST_PEERS $EM_PEERS)"
done

# ---- tools
need "$NODE" "install Node.js 20 or later"
if [ $wants_rust = 1 ]; then
  need "$CARGO" "install Rust (rustup), or set CARGO"
  need "$WASM_OPT" "run 'make setup-wasm-opt' and put .tools/bin on PATH, or set WASM_OPT"
  v=$("$WASM_OPT" --version 2>/dev/null | grep -oE '[0-9]+' | head -n1 || true)
  [ -n "$v" ] && [ "$v" -ge 116 ] ||
    die "$WASM_OPT is binaryen version ${v:-unknown}; version 116 or later is needed (make setup-wasm-opt puts one in .tools/bin)"
  # rustup picks the repo's pinned toolchain (rust-toolchain.toml) from the
  # working directory, so ask from the crate's folder.
  sysroot=$(cd "$HERE" && rustc --print sysroot 2>/dev/null) || die "rustc not found: install Rust (rustup)"
  [ -d "$sysroot/lib/rustlib/$TARGET" ] ||
    die "the Rust target $TARGET is not installed: rustup target add $TARGET"
fi
if [ $wants_em = 1 ]; then
  need "$EMCC" "install emscripten (Debian: apt-get install emscripten), or set EMCC, or leave out the emscripten peers with PEERS='$RUST_PEERS'"
fi

mkdir -p "$OUT/tmp"

# Imports exactly env.memory, exports malloc/free/realloc, holds no path of
# this machine: the file is what the harness expects, wherever it is built.
check() {
  "$NODE" --input-type=module - "$1" <<'EOF'
import { readFileSync } from 'node:fs';
const file = process.argv[2];
const bytes = readFileSync(file);
const mod = new WebAssembly.Module(bytes);
const imports = WebAssembly.Module.imports(mod).map((i) => `${i.module}.${i.name}:${i.kind}`);
const exports = new Set(WebAssembly.Module.exports(mod).map((e) => e.name));
const problems = [];
if (imports.join() !== 'env.memory:memory') problems.push(`imports ${imports.join(', ')} (want only env.memory)`);
for (const n of ['malloc', 'free', 'realloc']) if (!exports.has(n)) problems.push(`exports no ${n}`);
for (const m of bytes.toString('latin1').matchAll(/\/(root|home|Users|tmp|work)\/[\x21-\x7e]{3,}/g)) problems.push(`holds a machine path: ${m[0]}`);
for (const p of problems) console.error(`${file}: ${p}`);
process.exit(problems.length ? 1 : 0);
EOF
}

# Moves a checked temporary file into place and reports it.
publish() {
  check "$1" || die "$2 failed its check"
  mv -f "$1" "$2"
  echo "built ${2#"$ROOT"/} $(wc -c <"$2" | tr -d ' ') bytes"
}

# ---- Rust crates behind the C shim (src/lib.rs)
cargo_home=${CARGO_HOME:-$HOME/.cargo}
rustflags="-C link-arg=--import-memory -C link-arg=--stack-first -C link-arg=-zstack-size=16384"
rustflags+=" --remap-path-prefix=$cargo_home/registry/src=/crates --remap-path-prefix=$HERE=/peers"
wasm_opt_strip="--strip-debug --strip-producers --strip-target-features"

feature_of() { case $1 in dlmalloc-rs) echo dlmalloc ;; *) echo "$1" ;; esac; }

for p in $PEERS; do
  case " $RUST_PEERS " in *" $p "*) ;; *) continue ;; esac
  f=$(feature_of "$p")
  for build in speed size; do
    if [ $build = speed ]; then profile=release opt=-O3; else profile=size opt=-Oz; fi
    (cd "$HERE" && CARGO_TARGET_DIR="$OUT/target" RUSTFLAGS="$rustflags" TMPDIR="$OUT/tmp" \
      "$CARGO" build --quiet --locked --profile $profile --target $TARGET --no-default-features --features "$f") ||
      die "cargo build of $p ($build) failed"
    "$WASM_OPT" $opt $wasm_opt_strip "$OUT/target/$TARGET/$profile/linalloc_peer.wasm" -o "$OUT/tmp/$p-$build.wasm" ||
      die "$WASM_OPT failed on $p ($build)"
    publish "$OUT/tmp/$p-$build.wasm" "$OUT/$p-$build.wasm"
  done
done

# ---- emscripten's allocators (emscripten.c)
# STANDALONE_WASM: no JS runtime. IMPORTED_MEMORY + ALLOW_MEMORY_GROWTH: the
# caller's memory, grown by the heap itself, up to 4 GiB like linalloc.
# A 16 KiB stack and a one-page initial memory, as linalloc's builds have.
em_flags=(-sSTANDALONE_WASM -sIMPORTED_MEMORY -sALLOW_MEMORY_GROWTH -sMAXIMUM_MEMORY=4GB
  -sINITIAL_MEMORY=65536 -sTOTAL_STACK=16384 --no-entry -sEXPORTED_FUNCTIONS=_malloc,_free,_realloc)

for p in $PEERS; do
  case $p in emmalloc) malloc=emmalloc ;; emdlmalloc) malloc=dlmalloc ;; *) continue ;; esac
  for build in speed size; do
    if [ $build = speed ]; then opt=-O3; else opt=-Oz; fi
    (cd "$OUT/tmp" && EMCC_TEMP_DIR="$OUT/tmp" TMPDIR="$OUT/tmp" \
      "$EMCC" "$HERE/emscripten.c" $opt -sMALLOC=$malloc "${em_flags[@]}" -o "$OUT/tmp/$p-$build.wasm") ||
      die "emcc failed on $p ($build)"
    publish "$OUT/tmp/$p-$build.wasm" "$OUT/$p-$build.wasm"
  done
done
