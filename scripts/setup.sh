#!/usr/bin/env bash
# Create (or refresh) the book's virtual environment in .venv from the lock file.
#
# Idempotent: when .venv is already in step with requirements.lock and
# pyproject.toml it does nothing, so a second run takes a fraction of a second.
# PyTorch is installed first and alone, pinned to its CPU build, so that nothing
# later pulls in a multi-gigabyte CUDA build as a dependency.
set -euo pipefail
cd "$(dirname "$0")/.."

PYTHON="${PYTHON:-python3}"
VENV="${VENV:-.venv}"
TORCH_VERSION="2.13.0"
STAMP="$VENV/.lossbook-setup"

if [ -f "$STAMP" ] && [ "$STAMP" -nt requirements.lock ] && [ "$STAMP" -nt pyproject.toml ] \
   && [ "$STAMP" -nt scripts/setup.sh ]; then
  exit 0
fi

"$PYTHON" - <<'PY'
import sys
if sys.version_info < (3, 10):
    sys.exit(f"Python 3.10 or newer is needed (3.11 recommended); this is {sys.version.split()[0]}. "
             "Set PYTHON=/path/to/python3.11 and run again.")
PY

echo "Setting up the environment in $VENV (first run only; this takes a minute or two)..."
[ -x "$VENV/bin/python" ] || "$PYTHON" -m venv "$VENV"
PIP=("$VENV/bin/python" -m pip --disable-pip-version-check --quiet)
"${PIP[@]}" install "torch==$TORCH_VERSION"
"${PIP[@]}" install -r requirements.lock
"${PIP[@]}" install --no-deps --no-build-isolation --editable .
"$VENV/bin/python" -c "import torch, lossbook; print(f'lossbook {lossbook.__version__} with torch {torch.__version__} ready in $VENV')"
touch "$STAMP"
