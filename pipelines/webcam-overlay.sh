#!/usr/bin/env bash
# webcam-overlay.sh MODEL_DIR [DEVICE=/dev/video0]
# Live: the camera picture on screen with the latest description written over it. Live mode: the
# video never waits for the model; when it falls behind, the oldest pending window is dropped
# (counted in the element's stats and reported as a warning). Smaller MAX_PIXELS / larger STRIDE
# keep up on slower machines.
# Other sources and sinks (environment, each a gst-launch fragment; defaults shown):
#   VIDEO_SOURCE='v4l2src device=DEVICE'   e.g. 'videotestsrc is-live=true num-buffers=120'
#   VIDEO_SINK='autovideosink sync=false'  e.g. 'fakesink' (no display) or 'ximagesink'
# The pipelines_recipes test runs this recipe with a videotestsrc source and a fakesink.
set -euo pipefail
source "$(dirname "$0")/common.sh"
model="${1:?usage: webcam-overlay.sh MODEL_DIR [/dev/videoN]}"
device="${2:-/dev/video0}"
vlm_require_plugin
MAX_PIXELS="${MAX_PIXELS:-200704}"
source_launch="${VIDEO_SOURCE:-v4l2src device=\"$device\"}"
sink_launch="${VIDEO_SINK:-autovideosink sync=false}"
eval gst-launch-1.0 $source_launch ! videoconvert ! \
  vlmdescribe $(vlm_describe_props "$model") mode=live ! videoconvert ! vlmoverlay ! videoconvert ! \
  $sink_launch
