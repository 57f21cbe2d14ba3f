// Private to preprocessing (and the CUDA backend's GPU preprocessing, cuda/preprocess_cuda.cpp):
// the plan of resize_bicubic — Pillow's fixed-point per-axis coefficients and its pass order —
// exposed so that a device implementation runs the very same integer arithmetic and stays bit
// exact with the CPU path instead of re-deriving the coefficients (resize_bicubic.cpp).
#pragma once

#include <cstdint>
#include <vector>

namespace vlm::detail {

// Fixed-point bits of the weights: accumulators start at 1 << (bits − 1) and are shifted right by
// bits (floor), then clamped to 0..255.
constexpr int kBicubicPrecisionBits = 32 - 8 - 2;

// Coefficients of one axis: output i reads count[i] inputs from first[i] with weights
// weights[i * taps_max + 0 .. count[i]).
struct BicubicAxis {
  int taps_max = 0;
  std::vector<int32_t> first;
  std::vector<int32_t> count;
  std::vector<int32_t> weights;
};

BicubicAxis bicubic_axis(int in_size, int out_size);

// Pillow 13's pass order: horizontal first unless the height loses more than twice as many pixels
// as the width. When horizontal runs first, it only produces the rows [vertical.first[0],
// vertical.first[last] + vertical.count[last]) the vertical pass reads.
bool bicubic_horizontal_first(int in_width, int in_height, int out_width, int out_height);

}  // namespace vlm::detail
