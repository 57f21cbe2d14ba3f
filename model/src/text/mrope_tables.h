// MRoPE cos/sin tables (spec §7.5): per token, frequency j takes its angle from the T, H or W
// position according to mrope_section, angles are float32(pos · inv_freq[j]) with one rounding,
// and cos/sin use accurate libm cosf/sinf. Tables are [n, head_dim] with halves duplicated, the
// layout Backend::rope expects.
#pragma once

#include <array>
#include <cstdint>
#include <span>
#include <vector>

namespace vlm {

// inv_freq[j] = 1 / theta^(2j/head_dim) in float32, j < head_dim/2, as HF's default rope init.
std::vector<float> rope_inverse_frequencies(int head_dim, double theta);

struct RopeTables {
  std::vector<float> cos, sin;  // [n, head_dim]
};

// Positions per axis (n each). mrope_section sums to head_dim/2.
RopeTables mrope_tables(std::span<const int64_t> pos_t, std::span<const int64_t> pos_h,
                        std::span<const int64_t> pos_w, std::span<const float> inv_freq,
                        const std::array<int, 3>& mrope_section);

}  // namespace vlm
