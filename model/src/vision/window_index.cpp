// The window permutation and the attention segments of the vision encoder (spec §5.3, §5.4).
// Plain host-side index arithmetic, written as the spec's loop rather than HF's padded-tensor
// formulation: every window of V×V merged units (V = window_merged) is visited in (item, temporal
// group, window row, window column) order, units outside the grid (the −100 padding in HF,
// including the full extra row/column added when a side is divisible by V) are skipped, and
// windows that end up empty add no boundary (HF's unique_consecutive).
#include <cstdint>
#include <span>
#include <vector>

#include "vlm/error.h"
#include "vlm/vision_encoder.h"

namespace vlm {

namespace {

void check_grid(const GridThw& grid, int merge_size, size_t item) {
  VLM_CHECK(grid.t >= 1 && grid.h >= 1 && grid.w >= 1, InvalidInput,
            "vision item " << item << ": grid (" << grid.t << ", " << grid.h << ", " << grid.w
                           << ") must have positive t, h and w");
  VLM_CHECK(grid.h % merge_size == 0 && grid.w % merge_size == 0, InvalidInput,
            "vision item " << item << ": grid h " << grid.h << " and w " << grid.w
                           << " must be multiples of the spatial merge size " << merge_size);
}

}  // namespace

WindowIndex compute_window_index(std::span<const GridThw> grids, int window_merged, int merge_size) {
  VLM_CHECK(window_merged >= 1, InvalidModel,
            "vision window of " << window_merged << " merged units (window_size / spatial_merge_size"
                                   " / patch_size) must be at least 1");
  VLM_CHECK(merge_size >= 1, InvalidModel, "spatial_merge_size " << merge_size << " must be >= 1");
  const int64_t unit = static_cast<int64_t>(merge_size) * merge_size;
  const int64_t v = window_merged;
  WindowIndex result;
  result.cu_window_seqlens.push_back(0);
  int64_t base = 0;
  int64_t total = 0;
  for (size_t item = 0; item < grids.size(); ++item) {
    check_grid(grids[item], merge_size, item);
    total += grids[item].t * (grids[item].h / merge_size) * (grids[item].w / merge_size);
  }
  VLM_CHECK(total * unit <= INT32_MAX, InvalidInput,
            "vision input of " << total * unit << " patches exceeds the int32 index range");
  result.window_index.reserve(static_cast<size_t>(total));

  for (const GridThw& grid : grids) {
    const int64_t lh = grid.h / merge_size;
    const int64_t lw = grid.w / merge_size;
    const int64_t pad_h = v - lh % v;  // a full extra window row when lh % v == 0 (kept, empty)
    const int64_t pad_w = v - lw % v;
    const int64_t windows_h = (lh + pad_h) / v;
    const int64_t windows_w = (lw + pad_w) / v;
    for (int64_t gt = 0; gt < grid.t; ++gt) {
      const int64_t group_base = base + gt * lh * lw;
      for (int64_t wy = 0; wy < windows_h; ++wy) {
        for (int64_t wx = 0; wx < windows_w; ++wx) {
          int64_t count = 0;
          for (int64_t ry = 0; ry < v; ++ry) {
            const int64_t y = wy * v + ry;
            if (y >= lh) break;
            for (int64_t rx = 0; rx < v; ++rx) {
              const int64_t x = wx * v + rx;
              if (x >= lw) break;
              result.window_index.push_back(static_cast<int32_t>(group_base + y * lw + x));
              ++count;
            }
          }
          if (count > 0) {
            result.cu_window_seqlens.push_back(
                static_cast<int32_t>(result.cu_window_seqlens.back() + unit * count));
          }
        }
      }
    }
    base += grid.t * lh * lw;
  }
  return result;
}

std::vector<int32_t> full_attention_cu_seqlens(std::span<const GridThw> grids) {
  std::vector<int32_t> cu{0};
  int64_t end = 0;
  for (size_t item = 0; item < grids.size(); ++item) {
    const GridThw& grid = grids[item];
    VLM_CHECK(grid.t >= 1 && grid.h >= 1 && grid.w >= 1, InvalidInput,
              "vision item " << item << ": grid (" << grid.t << ", " << grid.h << ", " << grid.w
                             << ") must have positive t, h and w");
    for (int64_t gt = 0; gt < grid.t; ++gt) {
      end += grid.h * grid.w;
      VLM_CHECK(end <= INT32_MAX, InvalidInput,
                "vision input of " << end << " patches exceeds the int32 index range");
      cu.push_back(static_cast<int32_t>(end));
    }
  }
  return cu;
}

}  // namespace vlm
