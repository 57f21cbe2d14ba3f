// The vision encoder's 2D rotary position tables (spec §5.2), computed on the host in float32 the
// way HF does (float32 inverse frequencies, float32 angle = position · inv_freq, float32 cos/sin),
// then uploaded once per encode call. Internal to libvlm (used by the encoder and its tests).
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "vlm/preprocess.h"

namespace vlm {

// Grid coordinates (row h, column w) of one patch.
struct PatchPosition {
  int32_t h = 0;
  int32_t w = 0;
};

// inv_freq[j] = 1 / theta^(2j / dim) for j < dim/2, with dim = head_dim / 2 (float32 arithmetic).
std::vector<float> vision_rotary_inv_freq(int head_dim, float theta = 10000.0f);

// (h, w) of every patch row in processor order (spec §3.5: merge units of merge×merge patches,
// row-major inside a unit), repeated for every temporal group; items concatenated in order.
std::vector<PatchPosition> patch_positions(std::span<const GridThw> grids, int merge_size = 2);

// Moves whole merge units: out[u·unit + k] = in[order[u]·unit + k] (the window reorder, §5.5).
std::vector<PatchPosition> reorder_units(std::span<const PatchPosition> positions,
                                         std::span<const int32_t> order, int unit);

// cos/sin tables [positions.size(), head_dim], row-major: for a row (h, w) the first half holds
// [h·inv_freq, w·inv_freq] (head_dim/4 values each) and the second half repeats the first.
void vision_rotary_tables(std::span<const PatchPosition> positions, int head_dim,
                          std::vector<float>& cos_table, std::vector<float>& sin_table,
                          float theta = 10000.0f);

}  // namespace vlm
