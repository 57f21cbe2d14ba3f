// Preprocessing exactly like the reference processor (spec §3–4): smart_resize with Python's
// round-half-even, Pillow's fixed-point bicubic resize, rescale + normalise, temporal padding and
// the merge-window patch order (rows of 3·2·14·14 = 1176 values), and the qwen-vl-utils video
// frame count, frame choice and per-frame pixel budget.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "vlm/config.h"
#include "vlm/image.h"
#include "vlm/tensor.h"

namespace vlm {

struct ResizeTarget {
  int height = 0;
  int width = 0;
};

// HF variant (spec §3.2). Throws InvalidInput for aspect ratio > 200 or empty sides.
ResizeTarget smart_resize(int height, int width, int factor, int64_t min_pixels, int64_t max_pixels);
// qwen-vl-utils variant (clamps in step 2, not in step 3).
ResizeTarget smart_resize_qvu(int height, int width, int factor, int64_t min_pixels,
                              int64_t max_pixels);
double round_half_even(double value);

// Pillow's Image.resize(BICUBIC) on 8-bit RGB, bit exact; returns a copy when sizes are equal.
ImageRgb8 resize_bicubic(const ImageRgb8& image, int width, int height);

struct GridThw {
  int64_t t = 0, h = 0, w = 0;
  int64_t patches() const { return t * h * w; }
  int64_t tokens(int merge = 2) const { return t * h * w / (merge * merge); }
};

// Output of the processor for one image or one video.
struct VisionInput {
  std::vector<float> pixel_values;  // [grid.patches(), 1176] row-major
  GridThw grid;
  float second_per_grid_t = 0.0f;  // videos: temporal_patch_size / sample_fps; images: 0
  // The same rows already on an engine's device, in its activation dtype (Engine::preprocess_*
  // with a backend that preprocesses on the device, e.g. CUDA). When set, pixel_values is empty;
  // the input can only be given to the engine that made it.
  Tensor device_pixel_values;
};

// Frames already at a size that is a multiple of 28 (no resize) -> patch rows.
// An odd number of frames is padded by repeating the last frame.
VisionInput patchify(std::span<const ImageRgb8> frames, const PreprocessorConfig& config);

// qvu fetch_image + HF processor: smart_resize (qvu variant), bicubic resize, normalise, patchify.
// min_pixels/max_pixels are the qvu request keys (default: qvu's constants 4·28² and 16384·28²);
// the config's limits act in the processor step, which resizes again when they are tighter.
VisionInput preprocess_image(const ImageRgb8& image, const PreprocessorConfig& config);
VisionInput preprocess_image(const ImageRgb8& image, const PreprocessorConfig& config,
                             int64_t min_pixels, int64_t max_pixels);

// ---- video (qwen-vl-utils semantics, spec §4) ----
struct VideoSamplingOptions {
  double fps = 2.0;
  int min_frames = 4;
  int max_frames = 768;
  int nframes = 0;                    // > 0 overrides fps
  int64_t min_pixels = 100352;        // 128·28·28
  int64_t max_pixels = 0;             // 0 = the budget rule's value
  int64_t total_pixels = 90316800;    // 128000·28·28·0.9
};

struct VideoFramePlan {
  std::vector<int64_t> frame_indices;  // into the decoded file's frames
  double sample_fps = 0.0;
};

// smart_nframes + torch.linspace frame choice for a file of total_frames at video_fps.
VideoFramePlan plan_video_frames(int64_t total_frames, double video_fps,
                                 const VideoSamplingOptions& options = {});
// Per-frame pixel budget (spec §4.3) -> target size for all frames of the video.
ResizeTarget video_frame_size(int height, int width, int64_t n_frames,
                              const VideoSamplingOptions& options = {});
// Frames of one video (already chosen) -> resized, normalised, patchified; sample_fps gives
// second_per_grid_t = temporal_patch_size / sample_fps.
VisionInput preprocess_video(std::span<const ImageRgb8> frames, double sample_fps,
                             const PreprocessorConfig& config,
                             const VideoSamplingOptions& options = {});

}  // namespace vlm
