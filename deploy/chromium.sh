#!/usr/bin/env bash
# The browser the console's tests drive (playwright-core, headless): the machine's Chromium, from the
# Debian package. Idempotent and quick when it is already there; CHROMIUM_PATH names another one.
set -euo pipefail
browser="${CHROMIUM_PATH:-/usr/bin/chromium}"
if [ -x "$browser" ]; then
  echo "chromium: $browser"
  exit 0
fi
if [ -n "${CHROMIUM_PATH:-}" ]; then
  echo "CHROMIUM_PATH=$CHROMIUM_PATH is not an executable" >&2
  exit 1
fi
sudo=""
if [ "$(id -u)" != 0 ]; then sudo="sudo"; fi
$sudo apt-get update -qq
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends chromium
echo "chromium: $(command -v chromium)"
