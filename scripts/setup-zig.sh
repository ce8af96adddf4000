#!/usr/bin/env bash
# Installs zig (PyPI's `ziglang` wheel: zig with its clang, LLD and a
# wasi-libc of its own) into a venv under $TOOLS (default .tools/), for the
# zig cc toolchain of `make libc`. Prints the command to run zig with.
set -euo pipefail
TOOLS="${TOOLS:-.tools}"
ZIG_VERSION="${ZIG_VERSION:-0.17.0}"
venv="$TOOLS/zig-venv"
if ! "$venv/bin/python" -m ziglang version 2>/dev/null | grep -qx "$ZIG_VERSION"; then
  echo "zig: installing ziglang==$ZIG_VERSION from PyPI into $venv" >&2
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet --disable-pip-version-check "ziglang==$ZIG_VERSION"
fi
mkdir -p "$TOOLS/bin"
cat > "$TOOLS/bin/zig" <<SH
#!/bin/sh
exec "$(cd "$venv" && pwd)/bin/python" -m ziglang "\$@"
SH
chmod +x "$TOOLS/bin/zig"
