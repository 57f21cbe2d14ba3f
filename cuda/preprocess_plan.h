// Host-side plan of the GPU preprocessing (cuda/preprocess_cuda.cpp, kernels/preprocess.cu): the
// sizes the CPU preprocessor resizes through (preprocess_image / preprocess_video in
// model/src/preprocess: the qwen-vl-utils size, then the HF processor's own smart_resize) and, for
// each resize, resize_bicubic's passes (Pillow 13's order and row box) with their coefficients.
// Header-only and CUDA-free, so the CPU emulation (tools/emu/emu_preprocess_test.cpp) runs the
// same plan as the backend; the sizes come from the CPU code's own functions, never re-derived.
#pragma once

#include <cstdint>
#include <vector>

#include "preprocess/bicubic_plan.h"
#include "vlm/preprocess.h"

namespace vlm::cuda {

// One Pillow pass: horizontal (rows row_begin … of the input) or vertical.
struct ResizePass {
  bool horizontal = true;
  int in_width = 0, in_height = 0;
  int out_width = 0, out_height = 0;
  int row_begin = 0;
  detail::BicubicAxis axis;
};

// resize_bicubic(in → out) as passes: none for equal sizes, else one or two.
inline std::vector<ResizePass> plan_bicubic(int in_width, int in_height, int out_width,
                                            int out_height) {
  std::vector<ResizePass> passes;
  if (in_width == out_width && in_height == out_height) return passes;
  const bool need_horizontal = out_width != in_width, need_vertical = out_height != in_height;
  detail::BicubicAxis vert = detail::bicubic_axis(in_height, out_height);
  auto horizontal = [&](int rows_in, int row_begin, int rows_out) {
    ResizePass p;
    p.horizontal = true;
    p.in_width = in_width;
    p.in_height = rows_in;
    p.out_width = out_width;
    p.out_height = rows_out;
    p.row_begin = row_begin;
    p.axis = detail::bicubic_axis(in_width, out_width);
    passes.push_back(std::move(p));
  };
  auto vertical = [&](int width, int rows_in) {
    ResizePass p;
    p.horizontal = false;
    p.in_width = width;
    p.in_height = rows_in;
    p.out_width = width;
    p.out_height = out_height;
    p.axis = vert;
    passes.push_back(std::move(p));
  };
  if (!detail::bicubic_horizontal_first(in_width, in_height, out_width, out_height)) {
    vertical(in_width, in_height);
    if (need_horizontal) horizontal(out_height, 0, out_height);
    return passes;
  }
  int rows = in_height;
  if (need_horizontal) {
    const int row_first = vert.first[0];
    const int row_last = vert.first[out_height - 1] + vert.count[out_height - 1];
    for (int32_t& f : vert.first) f -= row_first;
    rows = row_last - row_first;
    horizontal(in_height, row_first, rows);
  }
  if (need_vertical) vertical(out_width, rows);
  return passes;
}

// The CPU image path's sizes: qwen-vl-utils' target for (min_pixels, max_pixels), then the
// processor's smart_resize with the config's limits (equal to the first when it is a no-op).
inline std::vector<ResizeTarget> image_resize_chain(int height, int width,
                                                    const PreprocessorConfig& config,
                                                    int64_t min_pixels, int64_t max_pixels) {
  const ResizeTarget first = smart_resize_qvu(height, width, config.factor(), min_pixels, max_pixels);
  const ResizeTarget second = smart_resize(first.height, first.width, config.factor(),
                                           config.min_pixels, config.max_pixels);
  return {first, second};
}

// The CPU video path's sizes for n_frames frames (padded to even as qwen-vl-utils does).
inline std::vector<ResizeTarget> video_resize_chain(int height, int width, int64_t n_frames,
                                                    const PreprocessorConfig& config,
                                                    const VideoSamplingOptions& options) {
  const int64_t padded = (n_frames + 1) / 2 * 2;
  const ResizeTarget first = video_frame_size(height, width, padded, options);
  const ResizeTarget second = smart_resize(first.height, first.width, config.factor(),
                                           config.min_pixels, config.max_pixels);
  return {first, second};
}

}  // namespace vlm::cuda
