// Benchmark (not a test: `meson test -C build --benchmark --suite gst`): prints figures, asserts
// nothing. (1) Passthrough cost of vlmdescribe without a model against identity on the same
// pipeline (imagefreeze repeats one 720p frame, so the source costs almost nothing); the ratio
// identity_time / vlmdescribe_time is the figure of merit (aim >= 0.95). (2) Windows per second
// end to end with the tiny fixture checkpoint. The streaming-thread cost of a sampled frame is
// benchmarks/preprocess/bench_frame_hold's.
#include <gst/gst.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>

namespace {

// Runs to EOS; returns seconds, or a negative value on error.
double run_seconds(const std::string& description) {
  GstElement* pipeline = gst_parse_launch(description.c_str(), nullptr);
  if (pipeline == nullptr) return -1;
  GstBus* bus = gst_element_get_bus(pipeline);
  const auto t0 = std::chrono::steady_clock::now();
  gst_element_set_state(pipeline, GST_STATE_PLAYING);
  GstMessage* msg = gst_bus_timed_pop_filtered(bus, GST_CLOCK_TIME_NONE,
                                               static_cast<GstMessageType>(GST_MESSAGE_EOS | GST_MESSAGE_ERROR));
  const auto t1 = std::chrono::steady_clock::now();
  const bool ok = msg != nullptr && GST_MESSAGE_TYPE(msg) == GST_MESSAGE_EOS;
  if (msg != nullptr) gst_message_unref(msg);
  gst_element_set_state(pipeline, GST_STATE_NULL);
  gst_object_unref(bus);
  gst_object_unref(pipeline);
  return ok ? std::chrono::duration<double>(t1 - t0).count() : -1;
}

double best_of(int runs, const std::string& description) {
  double best = 1e30;
  for (int i = 0; i < runs; ++i) {
    const double s = run_seconds(description);
    if (s < 0) return -1;
    best = std::min(best, s);
  }
  return best;
}

}  // namespace

int main(int argc, char** argv) {
  gst_init(&argc, &argv);
  const int frames = 20000;
  const std::string source = "videotestsrc num-buffers=1 ! video/x-raw,format=I420,width=1280,height=720,"
                             "framerate=30/1 ! imagefreeze num-buffers=" + std::to_string(frames) + " ! ";
  const std::string sink = " ! fakesink sync=false";
  best_of(1, source + "identity" + sink);  // warm-up (registry, page cache)
  double identity = 1e30, describe = 1e30;
  for (int round = 0; round < 3; ++round) {  // interleaved so load changes hit both alike
    identity = std::min(identity, best_of(1, source + "identity" + sink));
    describe = std::min(describe, best_of(1, source + "vlmdescribe" + sink));
  }
  if (identity < 0 || describe < 0) {
    std::fprintf(stderr, "pipeline failed (is the vlm plugin on GST_PLUGIN_PATH?)\n");
    return 1;
  }
  std::printf("passthrough, %d frames 1280x720 I420:\n", frames);
  std::printf("  identity            %8.0f frames/s\n", frames / identity);
  std::printf("  vlmdescribe (none)  %8.0f frames/s\n", frames / describe);
  std::printf("  ratio identity_time/vlmdescribe_time = %.3f (aim >= 0.95)\n", identity / describe);

  const char* fixtures = std::getenv("VLM_FIXTURES");
  const auto model = std::filesystem::path(fixtures ? fixtures : "") / "models" / "tiny-a";
  if (fixtures == nullptr || !std::filesystem::exists(model / "config.json")) {
    std::printf("tiny checkpoint not found (VLM_FIXTURES): end-to-end figures skipped\n");
    return 0;
  }
  const int seconds = 20;
  const std::string clip = "videotestsrc num-buffers=" + std::to_string(seconds * 30) +
                           " ! video/x-raw,format=I420,width=320,height=240,framerate=30/1 ! ";
  const double e2e = best_of(2, clip + "vlmdescribe model=" + model.string() +
                                    " mode=file window=4 stride=2 max-new-tokens=8 max-pixels=100352" + sink);
  const double plain = best_of(2, clip + "identity" + sink);
  const int windows = seconds / 2 - 1;  // [0,4) … [16,20)
  std::printf("end to end, tiny-a checkpoint, %d s clip 320x240, 4 s windows every 2 s, 8 tokens:\n", seconds);
  std::printf("  %d windows in %.2f s = %.2f windows/s (same clip through identity: %.3f s)\n", windows, e2e,
              windows / e2e, plain);
  return 0;
}
