# Shared settings of the pipelines/ recipes (sourced, not run). Every recipe accepts these
# environment variables and turns them into vlmdescribe properties:
#   TASK=describe|events|query  PROMPT="…"  WINDOW=4  STRIDE=2  SAMPLE_FPS=2  MAX_PIXELS=0
#   MAX_NEW_TOKENS=128  DEVICE=cpu|cuda|cuda:N  STREAM_ID=name
# Run recipes uninstalled from a build folder with `meson devenv -C build -w . pipelines/<recipe>.sh …`
# (devenv puts the built plugin on GST_PLUGIN_PATH), or installed with plain bash.

vlm_describe_props() {
  local model="$1"
  local props="model=\"$model\""
  props+=" task=${TASK:-describe}"
  props+=" window=${WINDOW:-4} stride=${STRIDE:-2} sample-fps=${SAMPLE_FPS:-2}"
  props+=" max-pixels=${MAX_PIXELS:-0} max-new-tokens=${MAX_NEW_TOKENS:-128}"
  props+=" device=${DEVICE:-cpu}"
  [ -n "${PROMPT:-}" ] && props+=" prompt=\"${PROMPT//\"/\\\"}\""
  [ -n "${STREAM_ID:-}" ] && props+=" stream-id=\"$STREAM_ID\""
  printf '%s' "$props"
}

vlm_require_plugin() {
  if ! gst-inspect-1.0 vlmdescribe >/dev/null 2>&1; then
    echo "vlmdescribe not found: run through 'meson devenv -C <build> -w . $0 …' or install gst-vlm" >&2
    exit 1
  fi
}
