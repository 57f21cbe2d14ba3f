#!/usr/bin/env bash
# The README's first command: installs what is needed, builds, and runs the main job — a
# GStreamer pipeline (generated clip → decodebin → vlmdescribe with the bundled tiny checkpoint)
# whose window results are printed as JSON Lines. The bundled checkpoint has random weights (it
# exists to test the engine against the reference implementation), so its words are meaningless;
# the README shows how to run a real Qwen2.5-VL checkpoint. Idempotent.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
bash scripts/build.sh
clip=build/sample-clip.webm
[ -f "$clip" ] || bash pipelines/make-test-clip.sh "$clip" 8
echo "== vlmdescribe on $clip (window 4 s, stride 2 s, 2 fps) with the random-weight test model =="
MAX_NEW_TOKENS=${MAX_NEW_TOKENS:-24} meson devenv -C build -w "$PWD" \
  bash pipelines/file-to-jsonl.sh "$clip" "$PWD/tests/fixtures/models/tiny-a" build/sample-clip.jsonl
cat build/sample-clip.jsonl
