#!/usr/bin/env bash
# Build a development-signed PomarHarness.ipa for the farm's iPhones.
#
#   ios_harness/scripts/build_ipa.sh TEAM_ID [BUNDLE_ID]
#
# Needs macOS with Xcode 15.4+ (for the "debugging" export method), XcodeGen
# (`brew install xcodegen`), and an Apple ID of team TEAM_ID signed in to Xcode (or App Store
# Connect API key flags in XCODEBUILD_AUTH). New farm devices are registered to the team
# automatically. Prints the path of the .ipa on its last line.
set -euo pipefail

if [[ $# -lt 1 || -z "$1" ]]; then
    echo "usage: $0 TEAM_ID [BUNDLE_ID]" >&2
    exit 2
fi
TEAM_ID="$1"
BUNDLE_ID="${2:-org.pomar.harness}"
if [[ "$(uname)" != "Darwin" ]]; then
    echo "build_ipa.sh needs macOS with Xcode; on Linux only the conformance tests run" >&2
    exit 2
fi
command -v xcodegen >/dev/null || { echo "xcodegen not found: brew install xcodegen" >&2; exit 2; }

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BUILD="${POMAR_BUILD_DIR:-$HERE/build}"
ARCHIVE="$BUILD/PomarHarness.xcarchive"
EXPORT="$BUILD/ipa"
mkdir -p "$BUILD"
rm -rf "$ARCHIVE" "$EXPORT"

cd "$HERE"
xcodegen generate --spec project.yml --project "$HERE" --quiet

# shellcheck disable=SC2086  # XCODEBUILD_AUTH holds several flags on purpose
xcodebuild archive \
    -project PomarHarness.xcodeproj \
    -scheme PomarHarness \
    -configuration Release \
    -destination "generic/platform=iOS" \
    -archivePath "$ARCHIVE" \
    -allowProvisioningUpdates \
    -allowProvisioningDeviceRegistration \
    ${XCODEBUILD_AUTH:-} \
    POMAR_TEAM_ID="$TEAM_ID" \
    POMAR_BUNDLE_ID="$BUNDLE_ID" \
    CODE_SIGN_STYLE=Automatic

cat > "$BUILD/ExportOptions.plist" <<PLIST
<?xml version="1.0" encoding="UTF-8"?>
<!DOCTYPE plist PUBLIC "-//Apple//DTD PLIST 1.0//EN" "http://www.apple.com/DTDs/PropertyList-1.0.dtd">
<plist version="1.0">
<dict>
    <key>method</key><string>debugging</string>
    <key>teamID</key><string>$TEAM_ID</string>
    <key>signingStyle</key><string>automatic</string>
    <key>compileBitcode</key><false/>
    <key>thinning</key><string>&lt;none&gt;</string>
</dict>
</plist>
PLIST

# shellcheck disable=SC2086
xcodebuild -exportArchive \
    -archivePath "$ARCHIVE" \
    -exportPath "$EXPORT" \
    -exportOptionsPlist "$BUILD/ExportOptions.plist" \
    -allowProvisioningUpdates \
    ${XCODEBUILD_AUTH:-}

IPA="$(find "$EXPORT" -maxdepth 1 -name '*.ipa' | head -n 1)"
if [[ -z "$IPA" ]]; then
    echo "export produced no .ipa in $EXPORT" >&2
    exit 1
fi
echo "$IPA"
