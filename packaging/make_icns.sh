#!/usr/bin/env bash
# Builds build/Stenogram.icns (the .app's icon) from the PNGs in resources/icons, which
# resources/make_icons.py renders from resources/stenogram.svg. macOS only: it needs
# iconutil; elsewhere it says so and exits 0, since only the macOS bundle uses an .icns.
set -euo pipefail
cd "$(dirname "$0")/.."
if ! command -v iconutil >/dev/null; then
    echo "make_icns.sh: iconutil is a macOS tool; no .icns made (only the Mac app needs one)."
    exit 0
fi
src=resources/icons
set_dir=build/Stenogram.iconset
rm -rf "$set_dir" && mkdir -p "$set_dir"
# iconutil wants icon_<size>x<size>.png and the @2x versions at double the pixels.
for size in 16 32 128 256 512; do
    cp "$src/stenogram-$size.png" "$set_dir/icon_${size}x${size}.png"
    cp "$src/stenogram-$((size * 2)).png" "$set_dir/icon_${size}x${size}@2x.png"
done
iconutil --convert icns --output build/Stenogram.icns "$set_dir"
echo "wrote build/Stenogram.icns"
