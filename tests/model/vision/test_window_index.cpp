// Window permutation and attention segments of the vision encoder (spec §5.3, §5.4): the spec's
// hand-worked vectors, and random grids against an independent re-implementation of HF's padded
// tensor formulation (pad with −100, permute to windows, drop padding, count, cumsum, dedupe).
#include <gtest/gtest.h>

#include <algorithm>
#include <random>
#include <vector>

#include "vlm/error.h"
#include "vlm/vision_encoder.h"

namespace vlm {
namespace {

std::vector<int32_t> iota_vector(int32_t n) {
  std::vector<int32_t> v(static_cast<size_t>(n));
  for (int32_t i = 0; i < n; ++i) v[static_cast<size_t>(i)] = i;
  return v;
}

// HF get_window_index, step by step on explicit padded arrays.
WindowIndex hf_padded_window_index(const std::vector<GridThw>& grids, int v) {
  WindowIndex out;
  std::vector<int64_t> cu{0};
  int64_t id_base = 0;
  for (const GridThw& g : grids) {
    const int64_t lh = g.h / 2, lw = g.w / 2;
    const int64_t ph = lh + (v - lh % v), pw = lw + (v - lw % v);
    // index_padded[t][y][x], −100 outside the grid
    std::vector<int64_t> padded(static_cast<size_t>(g.t * ph * pw), -100);
    for (int64_t t = 0; t < g.t; ++t)
      for (int64_t y = 0; y < lh; ++y)
        for (int64_t x = 0; x < lw; ++x)
          padded[static_cast<size_t>((t * ph + y) * pw + x)] = (t * lh + y) * lw + x;
    // reshape (t, nwh, v, nww, v) -> permute (t, nwh, nww, v, v)
    std::vector<int64_t> permuted;
    std::vector<int64_t> seqlens;
    for (int64_t t = 0; t < g.t; ++t)
      for (int64_t a = 0; a < ph / v; ++a)
        for (int64_t b = 0; b < pw / v; ++b) {
          int64_t valid = 0;
          for (int64_t i = 0; i < v; ++i)
            for (int64_t j = 0; j < v; ++j) {
              int64_t value = padded[static_cast<size_t>((t * ph + a * v + i) * pw + b * v + j)];
              permuted.push_back(value);
              valid += value != -100;
            }
          seqlens.push_back(valid);
        }
    for (int64_t value : permuted)
      if (value != -100) out.window_index.push_back(static_cast<int32_t>(value + id_base));
    const int64_t offset = cu.back();  // cumsum(seqlens)·4 + cu_window_seqlens[-1]
    int64_t cumsum = 0;
    for (int64_t s : seqlens) {
      cumsum += s;
      cu.push_back(cumsum * 4 + offset);
    }
    id_base += g.t * lh * lw;
  }
  for (size_t i = 0; i < cu.size(); ++i)
    if (i == 0 || cu[i] != cu[i - 1]) out.cu_window_seqlens.push_back(static_cast<int32_t>(cu[i]));
  return out;
}

TEST(WindowIndex, SpecVectorGrid1x6x10) {
  std::vector<GridThw> grids{{1, 6, 10}};
  WindowIndex w = compute_window_index(grids, 4);
  EXPECT_EQ(w.window_index, (std::vector<int32_t>{0, 1, 2, 3, 5, 6, 7, 8, 10, 11, 12, 13, 4, 9, 14}));
  EXPECT_EQ(w.cu_window_seqlens, (std::vector<int32_t>{0, 48, 60}));
}

TEST(WindowIndex, SpecVectorGrid1x8x8DropsEmptyPaddingWindows) {
  std::vector<GridThw> grids{{1, 8, 8}};
  WindowIndex w = compute_window_index(grids, 4);
  EXPECT_EQ(w.window_index, iota_vector(16));
  EXPECT_EQ(w.cu_window_seqlens, (std::vector<int32_t>{0, 64}));
}

TEST(WindowIndex, SpecVectorTwoItemsWithTemporalGroups) {
  std::vector<GridThw> grids{{1, 4, 6}, {2, 4, 4}};
  WindowIndex w = compute_window_index(grids, 4);
  EXPECT_EQ(w.window_index, iota_vector(14));
  EXPECT_EQ(w.cu_window_seqlens, (std::vector<int32_t>{0, 24, 40, 56}));
}

TEST(WindowIndex, SpecVectorGrid1x20x20) {
  std::vector<GridThw> grids{{1, 20, 20}};
  WindowIndex w = compute_window_index(grids, 4);
  EXPECT_EQ(w.cu_window_seqlens,
            (std::vector<int32_t>{0, 64, 128, 160, 224, 288, 320, 352, 384, 400}));
  const std::vector<int32_t> head{0, 1, 2, 3, 10, 11, 12, 13, 20, 21, 22, 23, 30, 31, 32, 33, 4, 5, 6, 7};
  ASSERT_GE(w.window_index.size(), head.size());
  EXPECT_EQ(std::vector<int32_t>(w.window_index.begin(), w.window_index.begin() + 20), head);
  EXPECT_EQ(w.window_index.size(), 100u);
}

TEST(WindowIndex, MatchesHfPaddedFormulationOnRandomGrids) {
  std::mt19937 rng(1234);
  std::uniform_int_distribution<int> side(1, 13), frames(1, 3), items(1, 4), window(1, 5);
  for (int trial = 0; trial < 200; ++trial) {
    std::vector<GridThw> grids;
    const int n = items(rng);
    for (int i = 0; i < n; ++i) grids.push_back({frames(rng), 2 * side(rng), 2 * side(rng)});
    const int v = window(rng);
    WindowIndex expected = hf_padded_window_index(grids, v);
    WindowIndex got = compute_window_index(grids, v);
    ASSERT_EQ(got.window_index, expected.window_index) << "trial " << trial;
    ASSERT_EQ(got.cu_window_seqlens, expected.cu_window_seqlens) << "trial " << trial;
  }
}

TEST(WindowIndex, IsAPermutationOfMergedUnits) {
  std::vector<GridThw> grids{{2, 14, 22}, {1, 28, 6}};
  WindowIndex w = compute_window_index(grids, 4);
  std::vector<int32_t> sorted = w.window_index;
  std::sort(sorted.begin(), sorted.end());
  EXPECT_EQ(sorted, iota_vector(2 * 7 * 11 + 14 * 3));
  EXPECT_EQ(w.cu_window_seqlens.back(), 4 * (2 * 7 * 11 + 14 * 3));
}

TEST(WindowIndex, RejectsGridsNotDivisibleByMergeSize) {
  std::vector<GridThw> grids{{1, 6, 7}};
  EXPECT_THROW(compute_window_index(grids, 4), Error);
  std::vector<GridThw> empty_t{{0, 6, 6}};
  EXPECT_THROW(compute_window_index(empty_t, 4), Error);
  std::vector<GridThw> fine{{1, 6, 6}};
  EXPECT_THROW(compute_window_index(fine, 0), Error);
}

TEST(FullAttentionSegments, OneSegmentPerTemporalGroup) {
  std::vector<GridThw> video{{3, 4, 4}};
  EXPECT_EQ(full_attention_cu_seqlens(video), (std::vector<int32_t>{0, 16, 32, 48}));
  std::vector<GridThw> mixed{{1, 6, 10}, {2, 4, 6}, {1, 2, 2}};
  EXPECT_EQ(full_attention_cu_seqlens(mixed), (std::vector<int32_t>{0, 60, 84, 108, 112}));
}

}  // namespace
}  // namespace vlm
