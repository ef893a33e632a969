#!/usr/bin/env bash
# Smoke test of the packaged app (Linux): build the bundle, then run it the way a user would,
# in a fresh process with nothing of the development setup around it (no virtualenv, no
# PYTHONPATH, an empty home and data folder):
#   1. `Stenogram --self-test`: installs the bundled tiny.en into the empty store, transcribes
#      the bundled clip with word times, and must hear the keywords;
#   2. `Stenogram models list`: the command line works from the bundle;
#   3. the window starts (offscreen) and is still running after a few seconds.
# Usage: packaging/smoke_test.sh [--no-build]. `make smoke` and `make test` run it.
set -euo pipefail
cd "$(dirname "$0")/.."

if [ "$(uname -s)" = Darwin ]; then
    echo "smoke_test.sh checks the Linux bundle; on a Mac run dist/Stenogram.app/Contents/MacOS/Stenogram --self-test." >&2
    exit 1
fi
[ "${1:-}" = --no-build ] || packaging/build_app.sh

bundle=dist/Stenogram
exe="$bundle/Stenogram"
[ -x "$exe" ] || { echo "FAIL: $exe is missing; build it with make app." >&2; exit 1; }

fail() { echo "FAIL: $*" >&2; exit 1; }

# What must never be inside.
for banned in torch numba llvmlite tkinter _tkinter PySide6/Qt/lib/libQt6WebEngineCore.so.6 \
              PySide6/Qt/lib/libQt6Quick.so.6 PySide6/Qt/lib/libQt6Pdf.so.6; do
    [ ! -e "$bundle/_internal/$banned" ] || fail "$banned is in the bundle."
done

# What must be inside: the icon the window shows (the .app gets its own .icns on macOS).
[ -f "$bundle/_internal/resources/icons/stenogram-256.png" ] || fail "the app icon is missing."

tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
fresh=(env -i "HOME=$tmp" "PATH=/usr/bin:/bin" "STENOGRAM_HOME=$tmp/home" "LANG=C.UTF-8")

echo "== self-test in a fresh process"
started=$SECONDS
status=0
"${fresh[@]}" "$exe" --self-test >"$tmp/self-test.out" 2>"$tmp/self-test.err" || status=$?
cat "$tmp/self-test.out"
[ "$status" = 0 ] || { cat "$tmp/self-test.err" >&2; fail "the self-test exited with $status."; }
grep -q "app bundle" "$tmp/self-test.out" || fail "the self-test did not run from the bundle."
grep -q "installing the bundled tiny.en" "$tmp/self-test.out" \
    || fail "the self-test did not install the bundled model into the empty store."
for word in quick fox lazy dog; do
    grep -q "heard: .*\b$word\b" "$tmp/self-test.out" || fail "'$word' was not heard."
done
grep -q "times: " "$tmp/self-test.out" || fail "no word times (the alignment did not run)."
grep -q "$bundle/_internal/openblas/" "$tmp/self-test.out" || fail "the bundle's OpenBLAS was not used."
echo "   passed in $((SECONDS - started)) s"

echo "== command line from the bundle"
"${fresh[@]}" "$exe" models list >"$tmp/models.out" 2>&1 || { cat "$tmp/models.out"; fail "models list failed."; }
grep -q "tiny.en" "$tmp/models.out" || { cat "$tmp/models.out"; fail "models list does not show tiny.en."; }
echo "   passed"

echo "== the window starts (offscreen)"
status=0
timeout 15 "${fresh[@]}" QT_QPA_PLATFORM=offscreen "$exe" >"$tmp/app.out" 2>&1 || status=$?
if [ "$status" != 124 ]; then  # 124: still running when the timeout stopped it, as it should
    cat "$tmp/app.out" >&2
    fail "the app exited with $status instead of showing its window."
fi
! grep -q "Traceback" "$tmp/app.out" || { cat "$tmp/app.out" >&2; fail "the app printed a traceback."; }
echo "   passed"
echo "Smoke test of $bundle passed."
