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
  # Debian's python3 may lack venv: its package from apt (root only)
  if ! python3 -c "import venv, ensurepip" >/dev/null 2>&1; then
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends python3-venv >/dev/null
    else echo "setup-zig.sh: python3 -m venv is missing (Debian: sudo apt-get install python3-venv)" >&2; exit 1; fi
  fi
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet --disable-pip-version-check "ziglang==$ZIG_VERSION"
fi
mkdir -p "$TOOLS/bin"
cat > "$TOOLS/bin/zig" <<SH
#!/bin/sh
exec "$(cd "$venv" && pwd)/bin/python" -m ziglang "\$@"
SH
chmod +x "$TOOLS/bin/zig"
