// Video preprocessing with qwen-vl-utils 0.0.14 semantics (spec §4): smart_nframes, the frame
// choice round(torch.linspace(0, total−1, n)) in float32, sample_fps, the per-frame pixel budget,
// and the HF processor on the chosen frames. torch 2.x's CPU linspace evaluates
// start + step·i for the first half and end − step·(n−1−i) for the second with a fused
// multiply-add (checked against torch on this machine: 1,600 (start, end, n) cases, all equal);
// std::fma reproduces that single rounding.
#include <algorithm>
#include <cmath>

#include "preprocess/smart_resize.h"
#include "vlm/error.h"
#include "vlm/preprocess.h"

namespace vlm {
namespace {

constexpr int kFrameFactor = 2;
constexpr int kVideoFactor = 28;                            // 14 · SPATIAL_MERGE_SIZE
constexpr double kVideoFrameMaxPixels = 768.0 * 28 * 28;    // VIDEO_MAX_TOKEN_NUM · 28²

double floor_by_factor(double v, int f) { return std::floor(v / f) * f; }
double ceil_by_factor(double v, int f) { return std::ceil(v / f) * f; }

int64_t smart_nframes(int64_t total_frames, double video_fps, const VideoSamplingOptions& o) {
  double n = 0.0;
  if (o.nframes > 0) {
    n = round_half_even(static_cast<double>(o.nframes) / kFrameFactor) * kFrameFactor;
  } else {
    VLM_CHECK(o.fps > 0.0 && std::isfinite(o.fps), InvalidInput,
              "video sampling: fps must be positive, got " << o.fps);
    const double min_frames = ceil_by_factor(o.min_frames, kFrameFactor);
    const double max_frames =
        floor_by_factor(std::min<double>(o.max_frames, static_cast<double>(total_frames)),
                        kFrameFactor);
    n = static_cast<double>(total_frames) / video_fps * o.fps;
    n = std::min(std::min(std::max(n, min_frames), max_frames), static_cast<double>(total_frames));
    n = floor_by_factor(n, kFrameFactor);
  }
  VLM_CHECK(n >= kFrameFactor && n <= static_cast<double>(total_frames), InvalidInput,
            "video sampling: nframes should be in [" << kFrameFactor << ", " << total_frames
                                                     << "], got " << n);
  return static_cast<int64_t>(n);
}

}  // namespace

VideoFramePlan plan_video_frames(int64_t total_frames, double video_fps,
                                 const VideoSamplingOptions& options) {
  VLM_CHECK(total_frames > 0 && total_frames < (int64_t{1} << 24), InvalidInput,
            "video sampling: total_frames " << total_frames << " must be in [1, 2^24)");
  VLM_CHECK(video_fps > 0.0 && std::isfinite(video_fps), InvalidInput,
            "video sampling: video_fps must be a positive number, got " << video_fps);
  const int64_t n = smart_nframes(total_frames, video_fps, options);
  VideoFramePlan plan;
  plan.frame_indices.resize(static_cast<size_t>(n));
  const float start = 0.0f, end = static_cast<float>(total_frames - 1);
  const float step = (end - start) / static_cast<float>(n - 1);
  const int64_t halfway = n / 2;
  for (int64_t i = 0; i < n; ++i) {
    const float v = i < halfway ? std::fma(step, static_cast<float>(i), start)
                                : std::fma(-step, static_cast<float>(n - 1 - i), end);
    plan.frame_indices[static_cast<size_t>(i)] = static_cast<int64_t>(round_half_even(v));
  }
  plan.sample_fps =
      static_cast<double>(n) / std::max(static_cast<double>(total_frames), 1e-6) * video_fps;
  return plan;
}

ResizeTarget video_frame_size(int height, int width, int64_t n_frames,
                              const VideoSamplingOptions& options) {
  VLM_CHECK(n_frames > 0, InvalidInput, "video_frame_size: frame count " << n_frames << " <= 0");
  VLM_CHECK(options.min_pixels > 0 && options.total_pixels > 0, InvalidInput,
            "video_frame_size: min_pixels and total_pixels must be positive");
  const double min_pixels = static_cast<double>(options.min_pixels);
  double max_pixels = std::max(
      std::min(kVideoFrameMaxPixels,
               static_cast<double>(options.total_pixels) / static_cast<double>(n_frames) *
                   kFrameFactor),
      std::trunc(min_pixels * 1.05));
  if (options.max_pixels > 0) max_pixels = std::min(static_cast<double>(options.max_pixels), max_pixels);
  return detail::smart_resize_qvu_real(height, width, kVideoFactor, min_pixels, max_pixels);
}

VisionInput preprocess_video(std::span<const ImageRgb8> frames, double sample_fps,
                             const PreprocessorConfig& config,
                             const VideoSamplingOptions& options) {
  VLM_CHECK(!frames.empty(), InvalidInput, "preprocess_video: no frames");
  VLM_CHECK(sample_fps > 0.0 && std::isfinite(sample_fps), InvalidInput,
            "preprocess_video: sample_fps must be positive, got " << sample_fps);
  VLM_CHECK(config.resample == 3, Unsupported,
            "preprocessor_config: resample " << config.resample << " is not bicubic (3)");
  const ImageRgb8& first = frames.front();
  for (size_t i = 0; i < frames.size(); ++i) {
    VLM_CHECK(frames[i].width == first.width && frames[i].height == first.height, InvalidInput,
              "preprocess_video: frame " << i << " is " << frames[i].width << "x"
                                         << frames[i].height << ", frame 0 is " << first.width
                                         << "x" << first.height);
  }
  // qvu pads a frame list to an even count before computing the budget.
  const int64_t n = (static_cast<int64_t>(frames.size()) + kFrameFactor - 1) / kFrameFactor *
                    kFrameFactor;
  const ResizeTarget t = video_frame_size(first.height, first.width, n, options);
  std::vector<ImageRgb8> resized;
  resized.reserve(frames.size());
  for (const ImageRgb8& frame : frames) {
    resized.push_back(detail::processor_resize(resize_bicubic(frame, t.width, t.height), config));
  }
  VisionInput out = patchify(resized, config);
  out.second_per_grid_t =
      static_cast<float>(static_cast<double>(config.temporal_patch_size) / sample_fps);
  return out;
}

}  // namespace vlm
