// bench_localize: how fast the two-pass localisation search runs over a long file and whether its
// memory stays flat. Generates (or takes) a long, cheap clip — videotestsrc, small frames, MJPEG in
// Matroska — and measures, in the same run: (1) decoding + sampling alone at the coarse and refine
// rates (the ceiling: what the search costs without a model), (2) the full search with a
// checkpoint (default: the tiny test checkpoint). Prints seconds of video per second of wall time
// (real-time factor) for both and their ratio, and the resident memory after the first tenth of
// the coarse pass, at its end and at the peak (flat memory: the three stay close).
// --synthetic draws the frames in memory instead (no GStreamer decoding: the GPU machine has no
// decoders), so the figure is the search alone; with --device cuda and a 3B-shaped checkpoint at
// --max-pixels 200704 (448²) it is issue 7's GPU real-time factor.
//   usage: bench_localize [--minutes M] [--video FILE] [--model DIR] [--max-pixels N]
//                         [--width W --height H --fps F]   (the generated clip)
//                         [--device cpu|cuda|cuda:N] [--synthetic 1]
#include <sys/resource.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <memory>
#include <string>

#include "localize_source.h"
#include "video_decode.h"
#include "vlm/engine.h"
#include "vlm/localize.h"
#include "vlm/tokenizer.h"

namespace {

double rss_mib() {
  std::ifstream status("/proc/self/status");
  std::string line;
  while (std::getline(status, line)) {
    if (line.rfind("VmRSS:", 0) == 0) return std::atof(line.c_str() + 6) / 1024.0;
  }
  return -1;
}

double peak_rss_mib() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  return static_cast<double>(usage.ru_maxrss) / 1024.0;
}

double seconds_since(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

// Frames drawn in memory at the sampled times: a gradient with a square that moves with time, so
// consecutive frames differ as in video. Nothing is decoded.
class SyntheticSource : public vlm::FrameSource {
 public:
  SyntheticSource(double seconds, int width, int height)
      : seconds_(seconds), width_(width), height_(height) {}
  void read(double fps, const std::function<bool(vlm::TimedFrame&&)>& on_frame) override {
    const auto count = static_cast<int64_t>(std::floor(seconds_ * fps));
    for (int64_t i = 0; i < count; ++i) {
      vlm::TimedFrame frame;
      frame.seconds = static_cast<double>(i) / fps;
      frame.pixels = std::make_shared<const vlm::RawFrame>(draw(frame.seconds));
      if (!on_frame(std::move(frame))) return;
    }
  }

 private:
  vlm::ImageRgb8 draw(double t) const {
    vlm::ImageRgb8 image;
    image.width = width_;
    image.height = height_;
    image.pixels.resize(static_cast<size_t>(width_) * height_ * 3);
    const int side = std::max(4, width_ / 8);
    const int x0 = static_cast<int>(std::fmod(t * 40.0, std::max(1, width_ - side)));
    const int y0 = height_ / 3;
    for (int y = 0; y < height_; ++y) {
      for (int x = 0; x < width_; ++x) {
        uint8_t* p = &image.pixels[(static_cast<size_t>(y) * width_ + x) * 3];
        const bool square = x >= x0 && x < x0 + side && y >= y0 && y < y0 + side;
        p[0] = square ? 230 : static_cast<uint8_t>(x * 255 / std::max(1, width_ - 1));
        p[1] = square ? 40 : static_cast<uint8_t>(y * 255 / std::max(1, height_ - 1));
        p[2] = square ? 40 : 128;
      }
    }
    return image;
  }
  double seconds_;
  int width_, height_;
};

}  // namespace

// --synthetic: the search over in-memory frames, against drawing the frames alone.
int run_synthetic(double seconds, int width, int height, const std::string& model,
                  const std::string& device, int64_t max_pixels) {
  try {
    vlm::LocalizeOptions options;  // CLI defaults: window 16 s, stride 8 s, 1 fps / 2 fps
    SyntheticSource source(seconds, width, height);
    auto t_draw = std::chrono::steady_clock::now();
    int64_t drawn = 0;
    for (double fps : {options.coarse_fps, options.refine_fps})
      source.read(fps, [&](vlm::TimedFrame&&) { return ++drawn, true; });
    const double draw_s = seconds_since(t_draw);
    std::printf("synthetic %.1f min %dx%d: drawing %lld frames alone %.2f s\n", seconds / 60, width,
                height, static_cast<long long>(drawn), draw_s);
    vlm::EngineOptions engine_options;
    engine_options.device = device;
    auto t_load = std::chrono::steady_clock::now();
    auto engine = vlm::Engine::load(model, engine_options);
    std::printf("model %s on %s loaded in %.1f s\n", model.c_str(), device.c_str(), seconds_since(t_load));
    vlm::Tokenizer tokenizer = vlm::Tokenizer::from_file(std::filesystem::path(model) / "tokenizer.json");
    vlm::EngineLocalizeModel scorer(*engine, tokenizer, max_pixels);
    vlm::LocalizeRun run;
    run.total_seconds_hint = seconds;
    double coarse_s = 0;
    auto t_search = std::chrono::steady_clock::now();
    run.on_progress = [&](const vlm::LocalizeProgress& p) {
      if (std::strcmp(p.phase, "coarse") == 0) coarse_s = seconds_since(t_search);
    };
    vlm::LocalizeResult result = vlm::localize(source, scorer, {"a red square moves right"}, options, run);
    const double search_s = seconds_since(t_search);
    std::printf("search (%zu windows, 1 query, %zu spans, max-pixels %lld): %.1f s (coarse %.1f s), "
                "real-time factor %.1fx; drawing is %.1f%% of it; peak RSS %.0f MiB\n",
                result.windows.size(), result.queries[0].spans.size(),
                static_cast<long long>(max_pixels), search_s, coarse_s, seconds / search_s,
                100.0 * draw_s / search_s, peak_rss_mib());
    return 0;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "bench_localize: %s\n", e.what());
    return 1;
  }
}

int main(int argc, char** argv) {
  double minutes = 30;
  int width = 96, height = 72;
  double clip_fps = 5;
  int64_t max_pixels = 12544;
  std::string video, model = std::string(VLM_SOURCE_ROOT) + "/tests/fixtures/models/tiny-a";
  std::string device = "cpu";
  bool synthetic = false;
  for (int i = 1; i + 1 < argc; i += 2) {
    std::string name = argv[i], value = argv[i + 1];
    if (name == "--minutes") minutes = std::atof(value.c_str());
    else if (name == "--video") video = value;
    else if (name == "--model") model = value;
    else if (name == "--max-pixels") max_pixels = std::atoll(value.c_str());
    else if (name == "--width") width = std::atoi(value.c_str());
    else if (name == "--height") height = std::atoi(value.c_str());
    else if (name == "--fps") clip_fps = std::atof(value.c_str());
    else if (name == "--device") device = value;
    else if (name == "--synthetic") synthetic = value != "0";
    else {
      std::fprintf(stderr, "unknown option %s\n", name.c_str());
      return 2;
    }
  }
  if (synthetic) return run_synthetic(minutes * 60, width, height, model, device, max_pixels);
  bool generated = video.empty();
  if (generated) {
    video = (std::filesystem::temp_directory_path() / "bench_localize_clip.mkv").string();
    long frames = std::lround(minutes * 60 * clip_fps);
    char command[1024];
    std::snprintf(command, sizeof command,
                  "gst-launch-1.0 -q videotestsrc pattern=ball num-buffers=%ld ! "
                  "video/x-raw,width=%d,height=%d,framerate=%ld/1 ! videoconvert ! jpegenc ! "
                  "matroskamux ! filesink location=%s",
                  frames, width, height, std::lround(clip_fps), video.c_str());
    auto t0 = std::chrono::steady_clock::now();
    if (std::system(command) != 0) {
      std::fprintf(stderr, "cannot generate the clip with gst-launch-1.0\n");
      return 1;
    }
    std::printf("generated %.1f min %dx%d @ %.0f fps MJPEG/Matroska (%.1f MiB) in %.1f s\n", minutes,
                width, height, clip_fps,
                static_cast<double>(std::filesystem::file_size(video)) / (1 << 20), seconds_since(t0));
  }
  try {
    vlm_cli::ProbeResult probe = vlm_cli::probe_video(video);
    double duration = probe.duration_seconds;
    std::printf("file: %s, duration %.1f s\n", video.c_str(), duration);
    vlm::LocalizeOptions options;  // CLI defaults: window 16 s, stride 8 s, 1 fps / 2 fps

    // (1) Decoding and sampling alone, at both rates, as the search reads the file.
    auto t_decode = std::chrono::steady_clock::now();
    int64_t kept = 0;
    for (double fps : {options.coarse_fps, options.refine_fps}) {
      vlm_cli::decode_video_sampled(video, fps, [&](vlm_cli::SampledFrame&&) { return ++kept, true; });
    }
    double decode_s = seconds_since(t_decode);
    std::printf("decode+sample only (1 fps and 2 fps passes): %.1f s, %lld frames kept, RTF %.1fx\n",
                decode_s, static_cast<long long>(kept), duration / decode_s);

    // (2) The full search with the checkpoint.
    vlm::EngineOptions engine_options;
    engine_options.device = device;
    auto engine = vlm::Engine::load(model, engine_options);
    vlm::Tokenizer tokenizer = vlm::Tokenizer::from_file(std::filesystem::path(model) / "tokenizer.json");
    vlm::EngineLocalizeModel scorer(*engine, tokenizer, max_pixels);
    vlm_cli::VideoFileSource source(video, probe.duration_seconds, probe.error);
    double rss_start = rss_mib(), rss_tenth = -1, rss_coarse_end = -1;
    vlm::LocalizeRun run;
    run.total_seconds_hint = duration;
    auto t_search = std::chrono::steady_clock::now();
    double coarse_s = 0;
    run.on_progress = [&](const vlm::LocalizeProgress& p) {
      if (std::strcmp(p.phase, "coarse") == 0) {
        if (rss_tenth < 0 && p.position_seconds >= duration / 10) rss_tenth = rss_mib();
        rss_coarse_end = rss_mib();
        coarse_s = seconds_since(t_search);
      }
    };
    vlm::LocalizeResult result =
        vlm::localize(source, scorer, {"a ball bounces off the wall", "a red car stops"}, options, run);
    double search_s = seconds_since(t_search);
    std::printf("search (%zu windows x 2 queries, %zu spans): %.1f s (coarse %.1f s), RTF %.1fx\n",
                result.windows.size(), result.queries[0].spans.size() + result.queries[1].spans.size(),
                search_s, coarse_s, duration / search_s);
    std::printf("ratio search / decode-only wall time: %.2f\n", search_s / decode_s);
    std::printf("RSS MiB: before search %.1f, after 10%% of coarse pass %.1f, end of coarse pass %.1f, "
                "peak %.1f\n",
                rss_start, rss_tenth, rss_coarse_end, peak_rss_mib());
  } catch (const std::exception& e) {
    std::fprintf(stderr, "bench_localize: %s\n", e.what());
    return 1;
  }
  if (generated) std::filesystem::remove(video);
  return 0;
}
