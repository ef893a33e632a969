#!/usr/bin/env bash
# Signs the Mac app (or its disk image) with a Developer ID and has Apple notarize it.
#   packaging/sign_and_notarize.sh dist/Stenogram.app
#   packaging/sign_and_notarize.sh dist/Stenogram-0.1.0.dmg
# From the environment:
#   STENOGRAM_SIGN_IDENTITY    "Developer ID Application: Name (TEAMID)"; unset: nothing is
#                              signed and the script exits 0 (local and CI builds stay
#                              ad-hoc signed, which runs on the Mac that built it).
#   STENOGRAM_NOTARY_PROFILE   a notarytool keychain profile, made once with
#                              `xcrun notarytool store-credentials NAME`; unset: signed, not
#                              notarized.
set -euo pipefail
cd "$(dirname "$0")/.."
target="${1:-dist/Stenogram.app}"

if [ -z "${STENOGRAM_SIGN_IDENTITY:-}" ]; then
    echo "sign_and_notarize: STENOGRAM_SIGN_IDENTITY is not set; skipping signing and notarization."
    exit 0
fi
if [ "$(uname -s)" != Darwin ]; then
    echo "sign_and_notarize: signing needs macOS (codesign); skipping on $(uname -s)."
    exit 0
fi
[ -e "$target" ] || { echo "sign_and_notarize: $target does not exist; run make app first." >&2; exit 1; }

sign() {  # hardened runtime and a secure timestamp: both required for notarization
    codesign --force --timestamp --options runtime \
        --entitlements packaging/entitlements.plist --sign "$STENOGRAM_SIGN_IDENTITY" "$@"
}

case "$target" in
*.app)
    # Inside out: every library and nested executable first, then the app itself; the bundle
    # signature seals what is inside, so nothing may change after it.
    while IFS= read -r -d '' file; do
        if file -b "$file" | grep -q "Mach-O"; then sign "$file"; fi
    done < <(find "$target/Contents" -type f \( -name "*.dylib" -o -name "*.so" -o -perm -u+x \) -print0)
    find "$target/Contents" -type d -name "*.framework" -prune -print0 | xargs -0 -I{} \
        codesign --force --timestamp --options runtime --sign "$STENOGRAM_SIGN_IDENTITY" {}
    sign "$target"
    codesign --verify --deep --strict --verbose=2 "$target"
    ;;
*.dmg)
    codesign --force --timestamp --sign "$STENOGRAM_SIGN_IDENTITY" "$target"
    ;;
*)
    echo "sign_and_notarize: expected a .app or a .dmg, not $target." >&2
    exit 1
    ;;
esac
echo "Signed $target as $STENOGRAM_SIGN_IDENTITY."

if [ -z "${STENOGRAM_NOTARY_PROFILE:-}" ]; then
    echo "STENOGRAM_NOTARY_PROFILE is not set; signed but not notarized."
    exit 0
fi
upload="$target"
if [ "${target##*.}" = app ]; then  # notarytool takes a zip, a dmg or a pkg
    upload="build/$(basename "$target" .app)-notarize.zip"
    mkdir -p build && ditto -c -k --keepParent "$target" "$upload"
fi
xcrun notarytool submit "$upload" --keychain-profile "$STENOGRAM_NOTARY_PROFILE" --wait
xcrun stapler staple "$target"  # so Gatekeeper accepts it offline too
if [ "${target##*.}" = app ]; then  # Gatekeeper's verdict, for the log
    spctl --assess --type execute --verbose=2 "$target" || true
else
    spctl --assess --type open --context context:primary-signature --verbose=2 "$target" || true
fi
echo "Notarized and stapled $target."
