#!/usr/bin/env bash
# Runs the whole suite the way CI does: headless Qt, then pytest over tests/.
set -euo pipefail
cd "$(dirname "$0")/.."
export QT_QPA_PLATFORM="${QT_QPA_PLATFORM:-offscreen}"
export PYTHONUNBUFFERED=1
exec .venv/bin/python -m pytest "$@"
