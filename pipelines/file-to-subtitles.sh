#!/usr/bin/env bash
# file-to-subtitles.sh INPUT MODEL_DIR [OUT_PREFIX]
# Two passes: (1) describe the file into OUT_PREFIX.jsonl and convert it to OUT_PREFIX.srt
# (subtitles at the results' own times); (2) burn those subtitles into OUT_PREFIX.subtitled.webm
# with subparse + textoverlay, so captions appear exactly when the described content happens.
# Keeps the .jsonl and .srt; file-to-captioned.sh burns the captions in one pass (text_src pad).
# Example: TASK=events meson devenv -C build -w . pipelines/file-to-subtitles.sh clip.webm models/tiny-a
set -euo pipefail
here="$(dirname "$0")"
source "$here/common.sh"
input="${1:?usage: file-to-subtitles.sh INPUT MODEL_DIR [OUT_PREFIX]}"
model="${2:?usage: file-to-subtitles.sh INPUT MODEL_DIR [OUT_PREFIX]}"
prefix="${3:-${input%.*}}"
"$here/file-to-jsonl.sh" "$input" "$model" "$prefix.jsonl"
python3 "$here/jsonl_to_srt.py" "$prefix.jsonl" "$prefix.srt"
gst-launch-1.0 -q filesrc location="$input" ! decodebin ! videoconvert ! \
  textoverlay name=overlay valignment=top halignment=left shaded-background=true ! videoconvert ! \
  vp8enc deadline=1 ! webmmux ! filesink location="$prefix.subtitled.webm" \
  filesrc location="$prefix.srt" ! subparse ! overlay.text_sink
echo "wrote $prefix.subtitled.webm"
