#!/usr/bin/env bash
# Configures (once) and builds into ./build. nvcc in /usr/local/cuda/bin is put on PATH so meson's
# CUDA detection finds it (meson 1.0 looks only on PATH). Extra arguments go to `meson setup`.
set -euo pipefail
cd "$(dirname "$0")/.."
[ -d /usr/local/cuda/bin ] && export PATH="$PATH:/usr/local/cuda/bin"
if [ ! -f build/build.ninja ]; then
  meson setup build "$@"
elif [ $# -gt 0 ]; then
  meson configure build "$@"
fi
ninja -C build
