#!/usr/bin/env bash
# Makes a headless Chromium available for the browser tests: Debian's
# `chromium` package (playwright-core drives it; no browser is downloaded).
set -euo pipefail
for c in "${CHROMIUM:-}" /usr/bin/chromium /usr/bin/chromium-browser /usr/bin/google-chrome; do
  if [ -n "$c" ] && [ -x "$c" ]; then echo "browser: $c"; exit 0; fi
done
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
  echo "browser: installing Debian's chromium"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends chromium >/dev/null
  exit 0
fi
echo "browser: no Chromium found; install it (Debian: sudo apt-get install chromium) or set CHROMIUM=/path/to/chrome" >&2
exit 1
