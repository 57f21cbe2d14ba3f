#!/usr/bin/env bash
# rtsp-publish.sh RTSP_URL MODEL_DIR [EVENTS.jsonl] [PORT]
# One network camera described live and published: every result is appended durably to
# EVENTS.jsonl (fdatasync per event) and served on http://127.0.0.1:PORT/ — the dashboard at /,
# Server-Sent Events at /events (resume with Last-Event-ID), a WebSocket at /ws,
# /events.jsonl?since=ID and /stats (add ?format=prometheus). Serving on another address needs a
# token: ADDRESS=0.0.0.0 TOKEN=secret; WEBHOOK_URL=http://host:port/path POSTs every event.
# For several cameras with reconnects, use vlm-monitor (pipelines/monitor.example.json).
set -euo pipefail
source "$(dirname "$0")/common.sh"
url="${1:?usage: rtsp-publish.sh RTSP_URL MODEL_DIR [EVENTS.jsonl] [PORT]}"
model="${2:?usage: rtsp-publish.sh RTSP_URL MODEL_DIR [EVENTS.jsonl] [PORT]}"
out="${3:-events.jsonl}"
port="${4:-8080}"
vlm_require_plugin
STREAM_ID="${STREAM_ID:-camera}"
publish="location=\"$out\" port=$port address=${ADDRESS:-127.0.0.1}"
[ -n "${TOKEN:-}" ] && publish+=" token=\"$TOKEN\""
[ -n "${WEBHOOK_URL:-}" ] && publish+=" webhook-url=\"$WEBHOOK_URL\""
echo "events: $out, dashboard: http://${ADDRESS:-127.0.0.1}:$port/" >&2
eval gst-launch-1.0 -e rtspsrc location=\"$url\" latency=200 protocols=tcp ! decodebin ! \
  videoconvert ! vlmdescribe $(vlm_describe_props "$model") mode=live ! \
  vlmpublish $publish ! fakesink sync=true
