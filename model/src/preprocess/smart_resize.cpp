// smart_resize in its two reference variants (spec §3.2) and Python's round(): IEEE double
// arithmetic in the reference's evaluation order, ties to even. Two variants exist because
// transformers 4.51.3 (the pinned reference) and qwen-vl-utils 0.0.14 differ for degenerate sizes.
#include <algorithm>
#include <cmath>

#include "preprocess/smart_resize.h"
#include "vlm/error.h"

namespace vlm {

double round_half_even(double value) {
  if (!std::isfinite(value)) return value;
  const double lower = std::floor(value);
  const double fraction = value - lower;  // exact for doubles
  if (fraction > 0.5) return lower + 1.0;
  if (fraction < 0.5) return lower;
  return std::fmod(lower, 2.0) == 0.0 ? lower : lower + 1.0;
}

namespace {

void check_sides(int height, int width, int factor, const char* variant) {
  VLM_CHECK(factor > 0, InvalidInput, variant << ": factor must be positive, got " << factor);
  VLM_CHECK(height > 0 && width > 0, InvalidInput,
            variant << ": image size " << width << "x" << height << " has an empty side");
  const double ratio = static_cast<double>(std::max(height, width)) / std::min(height, width);
  VLM_CHECK(!(ratio > 200.0), InvalidInput,
            variant << ": absolute aspect ratio must be at most 200, got " << ratio << " for "
                    << width << "x" << height);
}

void check_result(const ResizeTarget& target, int height, int width, const char* variant) {
  VLM_CHECK(target.height > 0 && target.width > 0, InvalidInput,
            variant << ": image " << width << "x" << height << " resizes to an empty "
                    << target.width << "x" << target.height
                    << " (too small or too elongated for the pixel limits)");
}

int64_t to_side(double value) {
  VLM_CHECK(value < 1e9, InvalidInput, "smart_resize: resized side " << value << " is absurd");
  return static_cast<int64_t>(value);
}

}  // namespace

// transformers 4.51.3 image_processing_qwen2_vl.smart_resize: sides below `factor` are an error,
// and the max/min branches have no max(factor, ...) clamp (later versions differ, spec §3.2).
ResizeTarget smart_resize(int height, int width, int factor, int64_t min_pixels,
                          int64_t max_pixels) {
  check_sides(height, width, factor, "smart_resize");
  VLM_CHECK(height >= factor && width >= factor, InvalidInput,
            "smart_resize: height " << height << " and width " << width
                                    << " must be at least the factor " << factor);
  const double h = height, w = width, f = factor;
  double h_bar = round_half_even(h / f) * f;
  double w_bar = round_half_even(w / f) * f;
  const double area = h * w;  // exact: < 2^53
  if (h_bar * w_bar > static_cast<double>(max_pixels)) {
    const double beta = std::sqrt(area / static_cast<double>(max_pixels));
    h_bar = std::floor(h / beta / f) * f;
    w_bar = std::floor(w / beta / f) * f;
  } else if (h_bar * w_bar < static_cast<double>(min_pixels)) {
    const double beta = std::sqrt(static_cast<double>(min_pixels) / area);
    h_bar = std::ceil(h * beta / f) * f;
    w_bar = std::ceil(w * beta / f) * f;
  }
  ResizeTarget target{static_cast<int>(to_side(h_bar)), static_cast<int>(to_side(w_bar))};
  check_result(target, height, width, "smart_resize");
  return target;
}

namespace detail {

// qwen-vl-utils 0.0.14 vision_process.smart_resize: max(factor, ...) in the rounding step, none in
// the max/min branches; limits may be real numbers (video budget).
ResizeTarget smart_resize_qvu_real(int height, int width, int factor, double min_pixels,
                                   double max_pixels) {
  check_sides(height, width, factor, "smart_resize_qvu");
  VLM_CHECK(max_pixels >= min_pixels, InvalidInput,
            "smart_resize_qvu: max_pixels " << max_pixels << " must be >= min_pixels "
                                            << min_pixels);
  const double h = height, w = width, f = factor;
  double h_bar = std::max(f, round_half_even(h / f) * f);
  double w_bar = std::max(f, round_half_even(w / f) * f);
  const double area = h * w;
  if (h_bar * w_bar > max_pixels) {
    const double beta = std::sqrt(area / max_pixels);
    h_bar = std::floor(h / beta / f) * f;
    w_bar = std::floor(w / beta / f) * f;
  } else if (h_bar * w_bar < min_pixels) {
    const double beta = std::sqrt(min_pixels / area);
    h_bar = std::ceil(h * beta / f) * f;
    w_bar = std::ceil(w * beta / f) * f;
  }
  ResizeTarget target{static_cast<int>(to_side(h_bar)), static_cast<int>(to_side(w_bar))};
  check_result(target, height, width, "smart_resize_qvu");
  return target;
}

}  // namespace detail

ResizeTarget smart_resize_qvu(int height, int width, int factor, int64_t min_pixels,
                              int64_t max_pixels) {
  return detail::smart_resize_qvu_real(height, width, factor, static_cast<double>(min_pixels),
                                       static_cast<double>(max_pixels));
}

}  // namespace vlm
