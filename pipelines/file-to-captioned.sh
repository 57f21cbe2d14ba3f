#!/usr/bin/env bash
# file-to-captioned.sh INPUT MODEL_DIR [OUT.webm]
# One pass: describes a media file and burns each result into the video as it comes, by linking
# vlmdescribe's text_src pad to textoverlay's text_sink (textoverlay's default wait-text=true).
# A result comes out only after its window has passed, so the video branch needs an unbounded queue
# between vlmdescribe and textoverlay: the frames wait there for their text. text_src sends GAP
# events up to the time where no more text can start, so textoverlay never waits for text that
# will not come. Each text buffer carries its result's own times (start .. end), so a caption is
# drawn over the frames it describes; with overlapping windows the next caption follows when the
# previous one ends. file-to-subtitles.sh does the same in two passes and also keeps the .srt.
# Example: meson devenv -C build -w . pipelines/file-to-captioned.sh clip.webm models/tiny-a out.webm
set -euo pipefail
source "$(dirname "$0")/common.sh"
input="${1:?usage: file-to-captioned.sh INPUT MODEL_DIR [OUT.webm]}"
model="${2:?usage: file-to-captioned.sh INPUT MODEL_DIR [OUT.webm]}"
out="${3:-${input%.*}.captioned.webm}"
vlm_require_plugin
eval gst-launch-1.0 -q filesrc location=\"$input\" ! decodebin ! videoconvert ! \
  vlmdescribe name=describe $(vlm_describe_props "$model") mode=file ! \
  queue max-size-time=0 max-size-buffers=0 max-size-bytes=0 ! \
  textoverlay name=overlay valignment=top halignment=left shaded-background=true ! videoconvert ! \
  vp8enc deadline=1 ! webmmux ! filesink location=\"$out\" \
  describe.text_src ! overlay.text_sink
echo "wrote $out"
