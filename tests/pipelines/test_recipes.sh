#!/usr/bin/env bash
# test_recipes.sh — the pipelines_recipes test: runs every pipelines/ recipe end to end with the
# bundled tiny checkpoint (its words are random; the plumbing is what is checked) in a temporary
# folder, each through `meson devenv -C BUILD -w DIR` exactly as pipelines/README.md documents
# (GST_PLUGIN_PATH is removed for them, so devenv alone must make the plugin visible). Live recipes
# get stand-ins for hardware: webcam-overlay.sh a live videotestsrc and a fakesink (VIDEO_SOURCE /
# VIDEO_SINK), the RTSP recipes the loopback camera of rtsp_camera. Every step prints what it
# checked; every check can fail. Hang guards bound each step; nothing asserts on speed.
# Exit 77 (skip) only when a GStreamer element or tool a recipe needs is missing, naming it, or in
# a sanitizer build (gst-launch-1.0 cannot load an ASan-instrumented plugin).
# Environment (tests/pipelines/meson.build): VLM_FIXTURES, VLM_RECIPES, VLM_BUILD_ROOT, VLM_MESON,
# VLM_RTSP_CAMERA, VLM_SANITIZE, GST_PLUGIN_PATH, GST_REGISTRY_1_0.
set -uo pipefail
set -m  # each background job gets its own process group: hang guards and SIGINT reach gst-launch

here="$(cd "$(dirname "$0")" && pwd)"
checks="$here/recipe_checks.py"
model="${VLM_FIXTURES:?}/models/tiny-a"
recipes="${VLM_RECIPES:?}"
export GST_DEBUG_NO_COLOR=1
clip_seconds=6
clip_fps=30   # make-test-clip.sh: 320x240 at 30 fps
clip_width=320
clip_height=240

step() { echo; echo "== $*"; }
ok() { echo "ok: $*"; }
fail() { echo "FAIL: $*" >&2; exit 1; }  # stderr: also seen from inside $(…)
skip() { echo "SKIP: $*" >&2; exit 77; }
exec 2>&1
# The recipes read these; the test sets its own.
unset TASK PROMPT WINDOW STRIDE SAMPLE_FPS MAX_PIXELS MAX_NEW_TOKENS DEVICE STREAM_ID \
      VIDEO_SOURCE VIDEO_SINK ADDRESS TOKEN WEBHOOK_URL

work="$(mktemp -d "${TMPDIR:-/tmp}/vlm-recipes.XXXXXX")"
background_groups=()
cleanup() {
  local pgid
  for pgid in "${background_groups[@]}"; do kill -KILL -- "-$pgid" 2>/dev/null; done
  wait 2>/dev/null
  rm -rf "$work"
}
trap cleanup EXIT

# ---- what the recipes need -------------------------------------------------------------------
step "requirements"
[ "${VLM_SANITIZE:-none}" = none ] ||
  skip "sanitizer build (b_sanitize=$VLM_SANITIZE): gst-launch-1.0 cannot load the instrumented libgstvlm.so"
unset GST_PLUGIN_PATH_1_0  # it would hide GST_PLUGIN_PATH, which meson devenv sets
command -v python3 >/dev/null || skip "python3 missing (jsonl_to_srt.py and the checks need it)"
command -v gst-launch-1.0 >/dev/null || skip "gst-launch-1.0 missing (gstreamer1.0-tools)"
for element in videotestsrc videoconvert decodebin filesrc filesink fakesink queue vp8enc vp8dec \
               webmmux matroskademux textoverlay subparse rtspsrc rtpvrawdepay; do
  gst-inspect-1.0 "$element" >/dev/null 2>&1 || skip "GStreamer element '$element' missing"
done
for element in vlmdescribe vlmoverlay; do
  gst-inspect-1.0 "$element" >/dev/null 2>&1 || fail "'$element' not found in GST_PLUGIN_PATH=${GST_PLUGIN_PATH:-}"
done
[ -n "${VLM_RTSP_CAMERA:-}" ] && [ -x "$VLM_RTSP_CAMERA" ] ||
  skip "rtsp_camera not built (gstreamer-rtsp-server-1.0 development files missing)"
have_publish=0
gst-inspect-1.0 vlmpublish >/dev/null 2>&1 && have_publish=1
if [ -n "${VLM_MESON:-}" ]; then
  ok "elements present; recipes run through '$VLM_MESON devenv -C $VLM_BUILD_ROOT'"
else
  ok "elements present; meson not found, recipes run with GST_PLUGIN_PATH=$GST_PLUGIN_PATH"
fi

# ---- helpers ----------------------------------------------------------------------------------
# recipe NAME ARGS…: the command line that runs a recipe (in $work) as a user would.
recipe() {
  local name="$1"
  shift
  if [ -n "${VLM_MESON:-}" ]; then
    env -u GST_PLUGIN_PATH "$VLM_MESON" devenv -C "$VLM_BUILD_ROOT" -w "$work" \
      bash "$recipes/$name" "$@"
  else
    (cd "$work" && bash "$recipes/$name" "$@")
  fi
}

# start_background LOG COMMAND…: runs COMMAND in its own process group; the pid (= group) in $bg_pid.
start_background() {
  local log="$1"
  shift
  "$@" >"$log" 2>&1 &
  bg_pid=$!
  background_groups+=("$bg_pid")
}

# finish PID SECONDS LOG: waits for PID (hang guard SECONDS); its exit status in $finish_rc.
finish() {
  local pid="$1" limit="$2" log="$3" start=$SECONDS
  while kill -0 "$pid" 2>/dev/null; do
    if [ $((SECONDS - start)) -ge "$limit" ]; then
      kill -TERM -- "-$pid" 2>/dev/null
      sleep 2
      kill -KILL -- "-$pid" 2>/dev/null
      echo "--- $log"; cat "$log"
      fail "still running after the ${limit} s hang guard"
    fi
    sleep 0.2
  done
  wait "$pid"
  finish_rc=$?
  forget_group "$pid"
}

# forget_group PID: a group that has ended is no longer the cleanup's to kill.
forget_group() {
  local kept=() pgid
  for pgid in "${background_groups[@]}"; do [ "$pgid" = "$1" ] || kept+=("$pgid"); done
  background_groups=("${kept[@]}")
}

# run_recipe LOG NAME ARGS…: runs a recipe to completion (hang guard 120 s); fails unless it exits 0.
run_recipe() {
  local log="$1"
  shift
  start_background "$log" recipe "$@"
  finish "$bg_pid" 120 "$log"
  if [ "$finish_rc" -ne 0 ]; then
    echo "--- $log"; cat "$log"
    fail "$1 exited with $finish_rc"
  fi
  ok "$1 exited 0 ($(tail -n 1 "$log"))"
}

# wait_for_line FILE PID SECONDS WHAT: waits until FILE has a complete line, PID still running.
wait_for_line() {
  local file="$1" pid="$2" limit="$3" what="$4" start=$SECONDS
  until [ -s "$file" ] && [ "$(wc -l < "$file")" -ge 1 ]; do
    kill -0 "$pid" 2>/dev/null || { wait "$pid"; fail "$what ended (status $?) before writing a line to $file"; }
    [ $((SECONDS - start)) -ge "$limit" ] && fail "no line in $file from $what within the ${limit} s hang guard"
    sleep 0.2
  done
}

# decoded_frames WEBM OUT.gray: decodes the VP8 video stream of a WebM file to GRAY8 frames and
# prints how many there are (fails when the file has no VP8 video stream or does not decode).
decoded_frames() {
  local webm="$1" gray="$2" size
  gst-launch-1.0 -q filesrc location="$webm" ! matroskademux ! vp8dec ! videoconvert ! \
    "video/x-raw,format=GRAY8,width=$clip_width,height=$clip_height" ! filesink location="$gray" \
    >"$gray.log" 2>&1 || { cat "$gray.log"; fail "$webm: no decodable VP8 video stream"; }
  size=$(stat -c %s "$gray")
  [ $((size % (clip_width * clip_height))) -eq 0 ] || fail "$webm: decoded $size bytes, not whole frames"
  echo $((size / (clip_width * clip_height)))
}

# check_webm WEBM NAME: non-empty, a VP8 video stream with every frame of the clip.
check_webm() {
  local webm="$1" gray="$2" frames
  [ -s "$webm" ] || fail "$webm missing or empty"
  frames=$(decoded_frames "$webm" "$gray") || exit 1
  [ "$frames" -eq "$clip_frames" ] || fail "$webm has $frames video frames, the clip $clip_frames"
  ok "$webm: $(stat -c %s "$webm") bytes, VP8 video stream, all $frames frames of the clip"
}

# check_caption OUT.gray EXPECTED(1|0) WHAT: frame 1 s in, caption band vs the source clip.
check_caption() {
  local gray="$1" expected="$2" what="$3" difference
  difference=$(python3 "$checks" caption "$work/clip.gray" "$gray" "$clip_width" "$clip_height" \
               "$clip_fps") || fail "$difference"
  if [ "$expected" -eq 1 ]; then
    python3 -c "import sys; sys.exit(0 if float('$difference') > 20 else 1)" ||
      fail "$what: caption band at 1 s differs from the clip by only $difference gray levels (> 20 expected: text drawn)"
    ok "$what: caption drawn at 1 s (band differs from the clip by $difference gray levels, > 20)"
  else
    python3 -c "import sys; sys.exit(0 if float('$difference') < 20 else 1)" ||
      fail "$what: caption band at 1 s differs by $difference gray levels although the text is blank"
    ok "$what: blank text, band at 1 s unchanged ($difference gray levels, < 20)"
  fi
}

# ---- file recipes -----------------------------------------------------------------------------
step "make-test-clip.sh clip.webm $clip_seconds"
run_recipe "$work/clip.log" make-test-clip.sh clip.webm "$clip_seconds"
clip_frames=$((clip_seconds * clip_fps))
frames=$(decoded_frames "$work/clip.webm" "$work/clip.gray") || exit 1
[ "$frames" -eq "$clip_frames" ] || fail "clip.webm has $frames frames, $clip_frames expected"
ok "clip.webm decodes to $frames frames ($clip_seconds s x $clip_fps fps)"

step "file-to-jsonl.sh clip.webm tiny-a clip.jsonl"
run_recipe "$work/jsonl.log" file-to-jsonl.sh clip.webm "$model" clip.jsonl
python3 "$checks" jsonl "$work/clip.jsonl" --max-end "$clip_seconds" || exit 1

step "file-to-subtitles.sh clip.webm tiny-a sub"
run_recipe "$work/subtitles.log" file-to-subtitles.sh clip.webm "$model" sub
python3 "$checks" jsonl "$work/sub.jsonl" --max-end "$clip_seconds" || exit 1
python3 "$checks" srt "$work/sub.srt" "$work/sub.jsonl" || exit 1
check_webm "$work/sub.subtitled.webm" "$work/sub.gray"
check_caption "$work/sub.gray" 1 "sub.subtitled.webm"  # blank texts become "…" in the SRT

step "file-to-captioned.sh clip.webm tiny-a captioned.webm"
run_recipe "$work/captioned.log" file-to-captioned.sh clip.webm "$model" captioned.webm
check_webm "$work/captioned.webm" "$work/captioned.gray"
# Greedy decoding: the same clip and settings give the texts file-to-jsonl.sh wrote.
check_caption "$work/captioned.gray" "$(python3 "$checks" first-text "$work/clip.jsonl")" \
  "captioned.webm (text_src -> textoverlay)"

# ---- webcam-overlay.sh with stand-ins ----------------------------------------------------------
step "webcam-overlay.sh tiny-a with VIDEO_SOURCE=videotestsrc (8 s live) and VIDEO_SINK=fakesink"
# Windows of 2 s every 1 s: results are due from 2 s on, well before the 8 s end of the stream.
log="$work/webcam.log"
VIDEO_SOURCE="videotestsrc is-live=true num-buffers=240 ! video/x-raw,width=160,height=120,framerate=30/1" \
VIDEO_SINK=fakesink WINDOW=2 STRIDE=1 GST_DEBUG=vlmoverlay:5 \
  run_recipe "$log" webcam-overlay.sh "$model"
grep -q "Got EOS from element" "$log" || fail "webcam-overlay.sh did not end on EOS (see $log)"
texts=$(grep -c "new text:" "$log")
[ "$texts" -ge 1 ] || { cat "$log"; fail "vlmoverlay received no result text in the webcam pipeline"; }
ok "ended on EOS; vlmoverlay received $texts result text(s)"

if gst-inspect-1.0 v4l2src >/dev/null 2>&1; then
  step "webcam-overlay.sh default source: v4l2src on the given device"
  log="$work/webcam-default.log"
  VIDEO_SINK=fakesink start_background "$log" recipe webcam-overlay.sh "$model" /nonexistent/video9
  finish "$bg_pid" 60 "$log"
  [ "$finish_rc" -ne 0 ] || fail "webcam-overlay.sh exited 0 without a camera"
  grep -q "v4l2src" "$log" && grep -q "/nonexistent/video9" "$log" ||
    { cat "$log"; fail "the error does not name v4l2src and the device"; }
  ok "without VIDEO_SOURCE it opens v4l2src device=/nonexistent/video9 (failed as expected, status $finish_rc)"
fi

# ---- RTSP recipes against a loopback camera ------------------------------------------------------
step "rtsp_camera (loopback RTSP camera)"
start_background "$work/camera.log" "$VLM_RTSP_CAMERA" 0
camera_pid=$bg_pid
start=$SECONDS
until url=$(grep -m1 '^rtsp://' "$work/camera.log"); do
  kill -0 "$camera_pid" 2>/dev/null || { cat "$work/camera.log"; fail "rtsp_camera ended"; }
  [ $((SECONDS - start)) -ge 30 ] && fail "rtsp_camera printed no URL within 30 s"
  sleep 0.2
done
ok "serving $url"

# gst_launch_in_group PGID: the pid of the gst-launch-1.0 process in that process group (from /proc,
# no procps needed).
gst_launch_in_group() {
  local stat line comm fields
  for stat in /proc/[0-9]*/stat; do
    read -r line < "$stat" 2>/dev/null || continue
    comm="${line#*(}"
    comm="${comm%%)*}"
    read -r -a fields <<< "${line##*) }"  # state ppid pgrp …
    if [ "$comm" = "gst-launch-1.0" ] && [ "${fields[2]}" = "$1" ]; then
      stat="${stat#/proc/}"
      echo "${stat%/stat}"
      return 0
    fi
  done
  return 1
}

# live_recipe LOG OUT.jsonl NAME ARGS…: starts a live recipe, waits for its first result line in
# OUT.jsonl (hang guard 120 s), runs $after_first_line if set, then sends SIGINT to its
# gst-launch-1.0 as Ctrl-C would (gst-launch -e: EOS, the pending window is answered) and checks
# that the recipe exits 0. Only gst-launch gets the signal: `meson devenv` itself would stop on a
# SIGINT (Python's KeyboardInterrupt) and kill the recipe's shell.
live_recipe() {
  local log="$1" out="$2" name="$3"
  shift 2
  start_background "$log" recipe "$@"
  local pid=$bg_pid
  wait_for_line "$out" "$pid" 120 "$name" || exit 1
  ok "$name wrote a first result line"
  [ -n "${after_first_line:-}" ] && { $after_first_line || { kill -KILL -- "-$pid"; exit 1; }; }
  local launch before after
  launch=$(gst_launch_in_group "$pid") || fail "no gst-launch-1.0 process under $name"
  before=$(wc -l < "$out")
  kill -INT "$launch"
  finish "$pid" 60 "$log"
  [ "$finish_rc" -eq 0 ] || { cat "$log"; fail "$name exited with $finish_rc after SIGINT"; }
  ok "$name stopped by SIGINT, exited 0"
  # Windows overlap (4 s every 2 s), so at any moment one has frames: EOS must answer it.
  after=$(wc -l < "$out")
  [ "$after" -gt "$before" ] || fail "$out: $before line(s) before SIGINT, $after after (EOS should answer the pending window)"
  ok "$out: $before line(s) before SIGINT, $after after (pending window answered on EOS)"
}

step "rtsp-to-jsonl.sh $url tiny-a rtsp.jsonl"
after_first_line=""
live_recipe "$work/rtsp.log" "$work/rtsp.jsonl" rtsp-to-jsonl.sh "$url" "$model" rtsp.jsonl
python3 "$checks" jsonl "$work/rtsp.jsonl" --stream "$url" || exit 1

if [ "$have_publish" -eq 1 ]; then
  port=$(python3 -c "import socket; s=socket.socket(); s.bind(('127.0.0.1', 0)); print(s.getsockname()[1])")
  step "rtsp-publish.sh $url tiny-a events.jsonl $port"
  check_stats() { python3 "$checks" stats "http://127.0.0.1:$port/stats" last_seq; }
  after_first_line=check_stats
  live_recipe "$work/publish.log" "$work/events.jsonl" rtsp-publish.sh "$url" "$model" events.jsonl "$port"
  python3 "$checks" jsonl "$work/events.jsonl" --stream camera || exit 1
else
  step "rtsp-publish.sh: not run, vlmpublish is not built (needs Boost for examples/server)"
fi

step "rtsp_camera stops on SIGTERM"
kill -TERM "$camera_pid"
finish "$camera_pid" 30 "$work/camera.log"
[ "$finish_rc" -eq 0 ] || fail "rtsp_camera exited with $finish_rc on SIGTERM"
ok "rtsp_camera exited 0"

echo
echo "all recipes ran and their outputs passed the checks"
