// 2D rotary tables of the vision encoder (spec §5.2), bit-for-bit the float32 arithmetic of HF's
// Qwen2_5_VisionRotaryEmbedding + rot_pos_emb: float32 exponent 2j/dim, float32 pow and division,
// float32 product position·inv_freq, then cosf/sinf (glibc's are correctly rounded to within an
// ulp, like PyTorch's CPU kernels).
#include "vision/vision_rotary.h"

#include <algorithm>
#include <cmath>

#include "vlm/error.h"

namespace vlm {

std::vector<float> vision_rotary_inv_freq(int head_dim, float theta) {
  VLM_CHECK(head_dim > 0 && head_dim % 4 == 0, InvalidModel,
            "vision head_dim " << head_dim << " must be a positive multiple of 4 (2D rotary halves)");
  const int dim = head_dim / 2;
  std::vector<float> inv_freq(static_cast<size_t>(dim / 2));
  for (int j = 0; j < dim / 2; ++j) {
    const float exponent = static_cast<float>(2 * j) / static_cast<float>(dim);
    inv_freq[static_cast<size_t>(j)] = 1.0f / std::pow(theta, exponent);
  }
  return inv_freq;
}

std::vector<PatchPosition> patch_positions(std::span<const GridThw> grids, int merge_size) {
  VLM_CHECK(merge_size >= 1, InvalidModel, "spatial_merge_size " << merge_size << " must be >= 1");
  std::vector<PatchPosition> positions;
  int64_t total = 0;
  for (const GridThw& grid : grids) total += grid.patches();
  positions.reserve(static_cast<size_t>(total));
  for (size_t item = 0; item < grids.size(); ++item) {
    const GridThw& grid = grids[item];
    VLM_CHECK(grid.t >= 1 && grid.h % merge_size == 0 && grid.w % merge_size == 0 && grid.h > 0 &&
                  grid.w > 0,
              InvalidInput,
              "vision item " << item << ": grid (" << grid.t << ", " << grid.h << ", " << grid.w
                             << ") needs t >= 1 and h, w positive multiples of " << merge_size);
    const int64_t blocks_h = grid.h / merge_size;
    const int64_t blocks_w = grid.w / merge_size;
    const size_t group_begin = positions.size();
    for (int64_t bh = 0; bh < blocks_h; ++bh) {
      for (int64_t bw = 0; bw < blocks_w; ++bw) {
        for (int mh = 0; mh < merge_size; ++mh) {
          for (int mw = 0; mw < merge_size; ++mw) {
            positions.push_back({static_cast<int32_t>(bh * merge_size + mh),
                                 static_cast<int32_t>(bw * merge_size + mw)});
          }
        }
      }
    }
    const size_t group_size = positions.size() - group_begin;
    for (int64_t gt = 1; gt < grid.t; ++gt) {
      for (size_t i = 0; i < group_size; ++i) positions.push_back(positions[group_begin + i]);
    }
  }
  return positions;
}

std::vector<PatchPosition> reorder_units(std::span<const PatchPosition> positions,
                                         std::span<const int32_t> order, int unit) {
  VLM_CHECK(unit >= 1 && positions.size() == order.size() * static_cast<size_t>(unit), Internal,
            "reorder_units: " << positions.size() << " positions do not form " << order.size()
                              << " units of " << unit);
  std::vector<PatchPosition> out(positions.size());
  for (size_t u = 0; u < order.size(); ++u) {
    const int32_t source = order[u];
    VLM_CHECK(source >= 0 && static_cast<size_t>(source) < order.size(), Internal,
              "reorder_units: index " << source << " out of range " << order.size());
    for (int k = 0; k < unit; ++k) {
      out[u * static_cast<size_t>(unit) + static_cast<size_t>(k)] =
          positions[static_cast<size_t>(source) * static_cast<size_t>(unit) + static_cast<size_t>(k)];
    }
  }
  return out;
}

void vision_rotary_tables(std::span<const PatchPosition> positions, int head_dim,
                          std::vector<float>& cos_table, std::vector<float>& sin_table,
                          float theta) {
  const std::vector<float> inv_freq = vision_rotary_inv_freq(head_dim, theta);
  const size_t quarter = inv_freq.size();
  const size_t half = 2 * quarter;
  const size_t width = static_cast<size_t>(head_dim);
  cos_table.resize(positions.size() * width);
  sin_table.resize(positions.size() * width);
  // Coordinates repeat across rows, temporal groups and items: compute each (value, j) angle once.
  int32_t max_coord = 0;
  for (const PatchPosition& pos : positions) {
    VLM_CHECK(pos.h >= 0 && pos.w >= 0, Internal, "negative patch position in the vision rotary");
    max_coord = std::max(max_coord, std::max(pos.h, pos.w));
  }
  const size_t values = positions.empty() ? 0 : static_cast<size_t>(max_coord) + 1;
  std::vector<float> cos_by_value(values * quarter), sin_by_value(values * quarter);
  for (size_t value = 0; value < values; ++value) {
    for (size_t j = 0; j < quarter; ++j) {
      const float angle = static_cast<float>(value) * inv_freq[j];  // float32, as torch.outer
      cos_by_value[value * quarter + j] = std::cos(angle);
      sin_by_value[value * quarter + j] = std::sin(angle);
    }
  }
  for (size_t r = 0; r < positions.size(); ++r) {
    float* c = cos_table.data() + r * width;
    float* s = sin_table.data() + r * width;
    const size_t coords[2] = {static_cast<size_t>(positions[r].h), static_cast<size_t>(positions[r].w)};
    for (size_t axis = 0; axis < 2; ++axis) {
      const float* cv = cos_by_value.data() + coords[axis] * quarter;
      const float* sv = sin_by_value.data() + coords[axis] * quarter;
      for (size_t j = 0; j < quarter; ++j) {
        const size_t p = axis * quarter + j;
        c[p] = c[p + half] = cv[j];
        s[p] = s[p + half] = sv[j];
      }
    }
  }
}

}  // namespace vlm
