// The vision encoder's 2D rotary tables (spec §5.2) against values worked out by hand in double
// precision, and the per-patch (h, w) coordinates in processor order (spec §3.5) listed by hand.
#include <gtest/gtest.h>

#include <cmath>
#include <vector>

#include "vision/vision_rotary.h"
#include "vlm/error.h"

namespace vlm {
namespace {

bool operator_eq(const PatchPosition& a, const PatchPosition& b) { return a.h == b.h && a.w == b.w; }

void expect_positions(const std::vector<PatchPosition>& got,
                      const std::vector<std::pair<int, int>>& expected) {
  ASSERT_EQ(got.size(), expected.size());
  for (size_t i = 0; i < got.size(); ++i) {
    EXPECT_TRUE(operator_eq(got[i], {expected[i].first, expected[i].second}))
        << "row " << i << ": got (" << got[i].h << ", " << got[i].w << "), expected ("
        << expected[i].first << ", " << expected[i].second << ")";
  }
}

TEST(VisionRotary, InverseFrequenciesOfHeadDim80) {
  // dim = 40, j = 0..19: 1 / 10000^(2j/40). HF forms the exponent 2j/40 in float32 (0.6 is not
  // representable; ln(10000)·δe ≈ 3e-7 relative), so the expectation rounds the exponent to float
  // and evaluates the rest in double. Tolerance: 1 float ulp relative.
  std::vector<float> inv = vision_rotary_inv_freq(80);
  ASSERT_EQ(inv.size(), 20u);
  for (int j = 0; j < 20; ++j) {
    const double exponent = static_cast<double>(static_cast<float>(2 * j) / 40.0f);
    const double expected = std::pow(10000.0, -exponent);
    EXPECT_NEAR(inv[static_cast<size_t>(j)], expected, 1.2e-7 * expected) << "j " << j;
    EXPECT_NEAR(inv[static_cast<size_t>(j)], std::pow(10000.0, -j / 20.0), 4e-7 * expected);
  }
  EXPECT_EQ(inv[0], 1.0f);
  EXPECT_NEAR(inv[10], 0.01, 0.01 * 2.4e-7);  // 10000^(−1/2)
}

TEST(VisionRotary, TableRowForHeadDim16IsHThenWThenRepeated) {
  // head_dim 16: dim 8, inv_freq = 10000^(−j/4) = 1, 0.1, 0.01, 0.001.
  // Row (h=3, w=5): angles [3, .3, .03, .003, 5, .5, .05, .005] twice. Tolerance 1e-6 absolute
  // (float angles and cosf/sinf against double).
  std::vector<PatchPosition> positions{{3, 5}, {0, 0}};
  std::vector<float> cos_t, sin_t;
  vision_rotary_tables(positions, 16, cos_t, sin_t);
  ASSERT_EQ(cos_t.size(), 32u);
  ASSERT_EQ(sin_t.size(), 32u);
  const double angles[8] = {3, 0.3, 0.03, 0.003, 5, 0.5, 0.05, 0.005};
  for (int p = 0; p < 16; ++p) {
    EXPECT_NEAR(cos_t[static_cast<size_t>(p)], std::cos(angles[p % 8]), 1e-6) << "cos p " << p;
    EXPECT_NEAR(sin_t[static_cast<size_t>(p)], std::sin(angles[p % 8]), 1e-6) << "sin p " << p;
    EXPECT_EQ(cos_t[16 + static_cast<size_t>(p)], 1.0f) << "origin row cos p " << p;
    EXPECT_EQ(sin_t[16 + static_cast<size_t>(p)], 0.0f) << "origin row sin p " << p;
  }
}

TEST(VisionRotary, RejectsHeadDimNotMultipleOfFour) {
  EXPECT_THROW(vision_rotary_inv_freq(18), Error);
  EXPECT_THROW(vision_rotary_inv_freq(0), Error);
}

TEST(VisionRotary, PatchPositionsFollowMergeUnitOrder) {
  std::vector<GridThw> grids{{1, 4, 4}};
  expect_positions(patch_positions(grids, 2),
                   {{0, 0}, {0, 1}, {1, 0}, {1, 1}, {0, 2}, {0, 3}, {1, 2}, {1, 3},
                    {2, 0}, {2, 1}, {3, 0}, {3, 1}, {2, 2}, {2, 3}, {3, 2}, {3, 3}});
}

TEST(VisionRotary, PatchPositionsRepeatPerTemporalGroupAndConcatenateItems) {
  std::vector<GridThw> grids{{2, 2, 4}, {1, 2, 2}};
  expect_positions(patch_positions(grids, 2),
                   {{0, 0}, {0, 1}, {1, 0}, {1, 1}, {0, 2}, {0, 3}, {1, 2}, {1, 3},
                    {0, 0}, {0, 1}, {1, 0}, {1, 1}, {0, 2}, {0, 3}, {1, 2}, {1, 3},
                    {0, 0}, {0, 1}, {1, 0}, {1, 1}});
}

TEST(VisionRotary, ReorderMovesWholeUnits) {
  std::vector<GridThw> grids{{1, 2, 6}};  // units 0,1,2 along w
  std::vector<int32_t> order{2, 0, 1};
  expect_positions(reorder_units(patch_positions(grids, 2), order, 4),
                   {{0, 4}, {0, 5}, {1, 4}, {1, 5}, {0, 0}, {0, 1}, {1, 0}, {1, 1},
                    {0, 2}, {0, 3}, {1, 2}, {1, 3}});
}

}  // namespace
}  // namespace vlm
