#!/usr/bin/env bash
# Installs valgrind (Debian's package) for `make bench-instr`, which counts
# instructions with its callgrind tool.
set -euo pipefail
VALGRIND=${VALGRIND:-valgrind}
if command -v "$VALGRIND" >/dev/null; then exit 0; fi
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
  echo "valgrind: installing Debian's valgrind"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends valgrind >/dev/null
  exit 0
fi
echo "valgrind: make bench-instr needs valgrind (Debian: sudo apt-get install valgrind), or set VALGRIND=..." >&2
exit 1
