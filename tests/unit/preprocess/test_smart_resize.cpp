// smart_resize (transformers 4.51.3 and qwen-vl-utils 0.0.14 variants) and Python's round():
// the spec's worked examples (spec §3.2, hand-checked table) and 600+ reference results.
#include <gtest/gtest.h>

#include <cmath>
#include <string>

#include "fixtures.h"
#include "vlm/error.h"
#include "vlm/preprocess.h"

namespace {

TEST(RoundHalfEven, TiesGoToTheEvenNeighbour) {
  EXPECT_EQ(vlm::round_half_even(0.5), 0.0);
  EXPECT_EQ(vlm::round_half_even(1.5), 2.0);
  EXPECT_EQ(vlm::round_half_even(2.5), 2.0);
  EXPECT_EQ(vlm::round_half_even(3.5), 4.0);
  EXPECT_EQ(vlm::round_half_even(-0.5), 0.0);
  EXPECT_EQ(vlm::round_half_even(-1.5), -2.0);
  EXPECT_EQ(vlm::round_half_even(-2.5), -2.0);
}

TEST(RoundHalfEven, NonTiesRoundToNearest) {
  EXPECT_EQ(vlm::round_half_even(2.4999999999999996), 2.0);
  EXPECT_EQ(vlm::round_half_even(2.5000000000000004), 3.0);
  EXPECT_EQ(vlm::round_half_even(-7.6), -8.0);
  EXPECT_EQ(vlm::round_half_even(4503599627370497.0), 4503599627370497.0);  // 2^52 + 1
  EXPECT_EQ(vlm::round_half_even(0.49999999999999994), 0.0);
}

struct Example {
  int h, w;
  int64_t min_pixels, max_pixels;
  int out_h, out_w;
};

// Spec §3.2 worked examples (image limits 3136/12845056, video 100352/602112).
TEST(SmartResize, SpecWorkedExamples) {
  const Example examples[] = {
      {1080, 1920, 3136, 12845056, 1092, 1932}, {720, 1280, 3136, 12845056, 728, 1288},
      {224, 224, 3136, 12845056, 224, 224},     {42, 70, 3136, 12845056, 56, 56},
      {4000, 6000, 3136, 12845056, 2912, 4368}, {1080, 1920, 100352, 602112, 560, 1008},
      {360, 640, 100352, 602112, 364, 644},
  };
  for (const Example& e : examples) {
    const vlm::ResizeTarget hf = vlm::smart_resize(e.h, e.w, 28, e.min_pixels, e.max_pixels);
    const vlm::ResizeTarget q = vlm::smart_resize_qvu(e.h, e.w, 28, e.min_pixels, e.max_pixels);
    EXPECT_EQ(hf.height, e.out_h) << e.h << "x" << e.w;
    EXPECT_EQ(hf.width, e.out_w) << e.h << "x" << e.w;
    EXPECT_EQ(q.height, e.out_h) << e.h << "x" << e.w;
    EXPECT_EQ(q.width, e.out_w) << e.h << "x" << e.w;
  }
  // Grid and token counts of the first row: (1, 78, 138), 2691 tokens.
  EXPECT_EQ(1092 / 14 * (1932 / 14) / 4, 2691);
}

TEST(SmartResize, MatchesReferenceOnFixtureSizes) {
  const nlohmann::json fixture = vlm_test::load_fixture_json("smart_resize.json");
  const int factor = fixture.at("factor").get<int>();
  int checked = 0, errors = 0;
  for (const auto& c : fixture.at("cases")) {
    const int h = c.at("h").get<int>(), w = c.at("w").get<int>();
    const double min_pixels = c.at("min_pixels").get<double>();
    const double max_pixels = c.at("max_pixels").get<double>();
    const std::string where = std::to_string(h) + "x" + std::to_string(w) + " limits " +
                              std::to_string(min_pixels) + "/" + std::to_string(max_pixels);
    struct Variant {
      const char* key;
      vlm::ResizeTarget (*fn)(int, int, int, int64_t, int64_t);
    } variants[] = {{"hf", vlm::smart_resize}, {"qvu", vlm::smart_resize_qvu}};
    for (const Variant& v : variants) {
      const nlohmann::json& expected = c.at(v.key);
      if (expected.is_null() || max_pixels != std::floor(max_pixels)) continue;  // real limits: video test
      ++checked;
      const auto min_i = static_cast<int64_t>(min_pixels), max_i = static_cast<int64_t>(max_pixels);
      const bool reference_ok = expected.is_array() && expected[0].get<int>() > 0 &&
                                expected[1].get<int>() > 0;
      if (reference_ok) {
        vlm::ResizeTarget t{};
        EXPECT_NO_THROW(t = v.fn(h, w, factor, min_i, max_i)) << v.key << " " << where;
        EXPECT_EQ(t.height, expected[0].get<int>()) << v.key << " " << where;
        EXPECT_EQ(t.width, expected[1].get<int>()) << v.key << " " << where;
      } else {
        // The reference raised, or produced an empty side that would fail later: we raise.
        ++errors;
        EXPECT_THROW(v.fn(h, w, factor, min_i, max_i), vlm::Error) << v.key << " " << where;
      }
    }
  }
  EXPECT_GT(checked, 500);
  EXPECT_GT(errors, 10);
}

TEST(SmartResize, ErrorsNameTheProblem) {
  try {
    vlm::smart_resize_qvu(20, 5000, 28, 3136, 12845056);
    FAIL() << "aspect 250 accepted";
  } catch (const vlm::Error& e) {
    EXPECT_EQ(e.code(), vlm::ErrorCode::InvalidInput);
    EXPECT_NE(e.message().find("aspect ratio"), std::string::npos) << e.message();
  }
  for (auto [h, w] : {std::pair{0, 10}, {10, 0}, {-5, 10}, {10, -1}}) {
    try {
      vlm::smart_resize_qvu(h, w, 28, 3136, 12845056);
      FAIL() << h << "x" << w << " accepted";
    } catch (const vlm::Error& e) {
      EXPECT_NE(e.message().find("empty side"), std::string::npos) << e.message();
    }
    EXPECT_THROW(vlm::smart_resize(h, w, 28, 3136, 12845056), vlm::Error);
  }
  // transformers 4.51.3 rejects sides below the factor; qwen-vl-utils clamps them up.
  EXPECT_THROW(vlm::smart_resize(27, 100, 28, 3136, 12845056), vlm::Error);
  const vlm::ResizeTarget q = vlm::smart_resize_qvu(10, 10, 28, 3136, 12845056);
  EXPECT_EQ(q.height, 56);
  EXPECT_EQ(q.width, 56);
  // max < min is the qvu assertion.
  EXPECT_THROW(vlm::smart_resize_qvu(100, 100, 28, 5000, 4000), vlm::Error);
}

}  // namespace
