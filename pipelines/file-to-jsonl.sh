#!/usr/bin/env bash
# file-to-jsonl.sh INPUT MODEL_DIR [OUT.jsonl]
# Describes a media file window by window and writes every result as one JSON object per line
# (fields stream, kind, start, end, start_ns, end_ns, text, id, window_start, window_end, frames).
# File mode: decoding waits for the model, nothing is dropped, EOS waits for the last window.
# Example: TASK=events meson devenv -C build -w . pipelines/file-to-jsonl.sh clip.webm models/tiny-a
set -euo pipefail
source "$(dirname "$0")/common.sh"
input="${1:?usage: file-to-jsonl.sh INPUT MODEL_DIR [OUT.jsonl]}"
model="${2:?usage: file-to-jsonl.sh INPUT MODEL_DIR [OUT.jsonl]}"
out="${3:-${input%.*}.jsonl}"
vlm_require_plugin
rm -f "$out"
eval gst-launch-1.0 -q filesrc location=\"$input\" ! decodebin ! videoconvert ! \
  vlmdescribe $(vlm_describe_props "$model") mode=file events-file=\"$out\" ! fakesink
echo "wrote $out ($(wc -l < "$out") results)"
