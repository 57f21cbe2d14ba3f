#!/usr/bin/env bash
# rtsp-to-jsonl.sh RTSP_URL MODEL_DIR [OUT.jsonl]
# Watches a network camera and appends every result to a JSON Lines file (follow it with
# `tail -f OUT.jsonl`). Live mode: the stream is never held back; results keep the camera's stream
# time. Stop with Ctrl-C (-e sends EOS, so the pending window is still answered).
set -euo pipefail
source "$(dirname "$0")/common.sh"
url="${1:?usage: rtsp-to-jsonl.sh RTSP_URL MODEL_DIR [OUT.jsonl]}"
model="${2:?usage: rtsp-to-jsonl.sh RTSP_URL MODEL_DIR [OUT.jsonl]}"
out="${3:-camera.jsonl}"
vlm_require_plugin
STREAM_ID="${STREAM_ID:-$url}"
eval gst-launch-1.0 -e rtspsrc location=\"$url\" latency=200 ! decodebin ! videoconvert ! \
  vlmdescribe $(vlm_describe_props "$model") mode=live events-file=\"$out\" ! fakesink sync=true
