#!/usr/bin/env bash
# Installs the Debian 12 packages the build and tests need. Idempotent: apt skips what is present,
# and the package lists are refreshed only when a package is missing.
set -euo pipefail
packages=(
  build-essential meson ninja-build pkg-config python3
  nlohmann-json3-dev libopenblas-dev libpcre2-dev libicu-dev libstb-dev
  libgtest-dev libgmock-dev
  libgstreamer1.0-dev libgstreamer-plugins-base1.0-dev
  gstreamer1.0-plugins-base gstreamer1.0-plugins-good gstreamer1.0-tools
  libboost-dev
  gstreamer1.0-rtsp libgstrtspserver-1.0-dev
  gstreamer1.0-x  # textoverlay (pango) for pipelines/file-to-subtitles.sh and file-to-captioned.sh
  chromium  # the localize end-to-end test renders the HTML report headless (skips without it)
)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  SUDO=""
  [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  $SUDO apt-get update -q
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q --no-install-recommends "${missing[@]}"
fi
