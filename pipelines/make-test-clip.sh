#!/usr/bin/env bash
# make-test-clip.sh OUT.webm [SECONDS]
# Writes a small VP8/WebM test clip (a moving ball over the SMPTE pattern, 320x240, 30 fps) to try
# the other recipes without any media at hand.
set -euo pipefail
out="${1:?usage: make-test-clip.sh OUT.webm [SECONDS]}"
seconds="${2:-10}"
gst-launch-1.0 -q videotestsrc num-buffers=$((seconds * 30)) pattern=ball background-color=0xff2060a0 ! \
  video/x-raw,width=320,height=240,framerate=30/1 ! videoconvert ! vp8enc deadline=1 ! webmmux ! \
  filesink location="$out"
echo "wrote $out ($seconds s)"
