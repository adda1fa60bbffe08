#!/usr/bin/env bash
# Install MathJax 3 from the npm registry into the book's environment, so that the website
# serves MathJax itself and reads fully offline (no CDN request from the reader's browser).
#
# Idempotent: does nothing when the pinned version is already installed. The tarball's
# sha512 is checked against the pin below before anything is unpacked. The Sphinx extension
# scripts/sphinx/offline_site.py copies the files into _build/html/_static/mathjax.
set -euo pipefail
cd "$(dirname "$0")/.."

VENV="${VENV:-.venv}"
MATHJAX_VERSION="3.2.2"
MATHJAX_INTEGRITY="sha512-Bt+SSVU8eBG27zChVewOicYs7Xsdt40qm4+UpHyX7k0/O9NliPc+x77k1/FEsPsjKPZGJvtRZM1vO+geW0OhGw=="
DEST="$VENV/share/mathjax"

if [ -f "$DEST/VERSION" ] && [ "$(cat "$DEST/VERSION")" = "$MATHJAX_VERSION" ] && [ -f "$DEST/tex-chtml.js" ]; then
  exit 0
fi
if ! command -v npm >/dev/null 2>&1; then
  echo "npm is needed once, to install MathJax $MATHJAX_VERSION from the npm registry" >&2
  echo "(Debian/Ubuntu: apt-get install npm)." >&2
  exit 1
fi

echo "Installing MathJax $MATHJAX_VERSION from the npm registry into $DEST (first run only)..."
TMP="$(mktemp -d)"
trap 'rm -rf "$TMP"' EXIT
(cd "$TMP" && npm pack "mathjax@$MATHJAX_VERSION" --json --silent > pack.json)
INTEGRITY="$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))[0]["integrity"])' "$TMP/pack.json")"
if [ "$INTEGRITY" != "$MATHJAX_INTEGRITY" ]; then
  echo "MathJax tarball integrity mismatch: got $INTEGRITY, expected $MATHJAX_INTEGRITY" >&2
  exit 1
fi
tar -xzf "$TMP/mathjax-$MATHJAX_VERSION.tgz" -C "$TMP"
ES5="$TMP/package/es5"
# Keep what the book's pages load: the TeX-to-CommonHTML component, the TeX extensions it
# autoloads, the CommonHTML fonts, and the menu / accessibility / speech parts the menu loads.
rm -rf "$DEST.tmp" && mkdir -p "$DEST.tmp/input/tex" "$DEST.tmp/output/chtml/fonts"
cp "$ES5/tex-chtml.js" "$ES5/tex-mml-chtml.js" "$DEST.tmp/"
cp -r "$ES5/input/tex/extensions" "$DEST.tmp/input/tex/"
cp -r "$ES5/output/chtml/fonts/woff-v2" "$DEST.tmp/output/chtml/fonts/"
cp -r "$ES5/ui" "$ES5/a11y" "$ES5/sre" "$DEST.tmp/"
cp "$TMP/package/LICENSE" "$DEST.tmp/LICENSE"
echo "$MATHJAX_VERSION" > "$DEST.tmp/VERSION"
rm -rf "$DEST" && mv "$DEST.tmp" "$DEST"
echo "MathJax $MATHJAX_VERSION ready in $DEST ($(du -sh "$DEST" | cut -f1))"
