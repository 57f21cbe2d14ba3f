// MRoPE cos/sin tables (spec §7.5) against a naive double-precision evaluation of the same
// formula: section selection per frequency, float32 single-rounded angles, duplicated halves.
#include <gtest/gtest.h>

#include <cmath>
#include <vector>

#include "text/mrope_tables.h"
#include "vlm/error.h"

namespace vlm {
namespace {

TEST(MropeTables, InverseFrequenciesFollowTheta) {
  const std::vector<float> inv = rope_inverse_frequencies(128, 1e6);
  ASSERT_EQ(inv.size(), 64u);
  EXPECT_EQ(inv[0], 1.0f);
  for (size_t j = 0; j < inv.size(); ++j) {  // tolerance: 2 float32 ulps relative
    const double expected = std::pow(1e6, -2.0 * j / 128.0);
    EXPECT_NEAR(inv[j], expected, expected * 2.4e-7) << j;
  }
}

TEST(MropeTables, SectionsTakeTheirAxis) {
  const std::array<int, 3> section = {2, 3, 3};  // head_dim 16
  const std::vector<float> inv = rope_inverse_frequencies(16, 10000.0);
  const std::vector<int64_t> t = {5, 70000}, h = {17, 3}, w = {123, 99999};
  const RopeTables tables = mrope_tables(t, h, w, inv, section);
  ASSERT_EQ(tables.cos.size(), 32u);
  for (size_t i = 0; i < 2; ++i) {
    for (size_t j = 0; j < 8; ++j) {
      const int64_t pos = j < 2 ? t[i] : (j < 5 ? h[i] : w[i]);
      // The angle is rounded to float32 once (as HF's fp32 matmul does); cos/sin of it in double.
      const float angle = static_cast<float>(pos) * inv[j];
      const double c = std::cos(static_cast<double>(angle)), s = std::sin(static_cast<double>(angle));
      // Tolerance 2e-7 absolute: accurate cosf/sinf are within 1 ulp of the true value.
      EXPECT_NEAR(tables.cos[i * 16 + j], c, 2e-7) << i << "," << j;
      EXPECT_NEAR(tables.sin[i * 16 + j], s, 2e-7) << i << "," << j;
      EXPECT_EQ(tables.cos[i * 16 + j + 8], tables.cos[i * 16 + j]);
      EXPECT_EQ(tables.sin[i * 16 + j + 8], tables.sin[i * 16 + j]);
    }
  }
}

TEST(MropeTables, RejectsSectionsNotSummingToHalfHeadDim) {
  const std::vector<float> inv = rope_inverse_frequencies(16, 10000.0);
  const std::vector<int64_t> p = {0};
  EXPECT_THROW(mrope_tables(p, p, p, inv, {2, 3, 2}), Error);
}

}  // namespace
}  // namespace vlm
