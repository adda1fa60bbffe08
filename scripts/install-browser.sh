#!/usr/bin/env bash
# Install headless Chromium (Debian's packages `chromium` and `chromium-driver`) for the
# site tests, only when it is missing: a second run does nothing.
#
# Needs root (or sudo) and the distribution's package mirror on the first run; CI runs as
# root. Set CHROMIUM=/path/to/chromium to use a browser installed some other way.
set -euo pipefail

if [ -n "${CHROMIUM:-}" ] && [ -x "${CHROMIUM}" ]; then
  exit 0
fi
for candidate in chromium chromium-browser google-chrome; do
  if command -v "$candidate" >/dev/null 2>&1; then
    exit 0
  fi
done

SUDO=""
if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null 2>&1; then
    SUDO="sudo"
  else
    echo "Chromium is missing and this is not root: install the packages 'chromium' and" >&2
    echo "'chromium-driver' (Debian/Ubuntu), or set CHROMIUM=/path/to/chromium." >&2
    exit 1
  fi
fi
if ! command -v apt-get >/dev/null 2>&1; then
  echo "Chromium is missing and apt-get is not available: install Chromium and set CHROMIUM." >&2
  exit 1
fi
echo "Installing Chromium from the distribution's packages (first run only)..."
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends chromium chromium-driver fonts-dejavu-core >/dev/null
command -v chromium
