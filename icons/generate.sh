#!/usr/bin/env bash
# Generates the app icons (every size the Tauri bundler needs, RGBA) and the tray icons (one
# per state) from drawing commands, so they can be changed and regenerated without an editor.
# Usage: bash icons/generate.sh   (installs ImageMagick through apt when `convert` is missing)
set -euo pipefail
cd "$(dirname "$0")"

if ! command -v convert >/dev/null 2>&1; then
  echo "installing imagemagick" >&2
  if [ "$(id -u)" = 0 ]; then SUDO=""; else SUDO="sudo"; fi
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends imagemagick
fi

# The app icon at 512 px: a slate rounded square, a green "live" ring and a check mark —
# "what is live is what we pushed". Smaller sizes are resized from it.
convert -size 512x512 xc:none \
  -fill '#1e293b' -draw 'roundrectangle 24,24 488,488 96,96' \
  -fill none -stroke '#22c55e' -strokewidth 36 -draw 'circle 256,256 256,96' \
  -stroke white -strokewidth 40 -draw "stroke-linecap round" -draw "stroke-linejoin round" \
  -draw 'polyline 180,262 236,318 340,200' \
  PNG32:icon.png
convert icon.png -resize 32x32 PNG32:32x32.png
convert icon.png -resize 128x128 PNG32:128x128.png
convert icon.png -resize 256x256 PNG32:128x128@2x.png

# Tray icons, 64 px (the tray scales them): a filled dot in the state's colour with a white
# ring, readable on light and dark panels.
tray() { # name colour
  convert -size 64x64 xc:none \
    -fill "$2" -stroke white -strokewidth 5 -draw 'circle 32,32 32,6' \
    -fill white -stroke none -draw 'circle 32,32 32,22' \
    PNG32:"tray-$1.png"
}
tray live '#16a34a'
tray deploying '#2563eb'
tray alert '#dc2626'
tray idle '#6b7280'
echo "icons written to $(pwd)" >&2
