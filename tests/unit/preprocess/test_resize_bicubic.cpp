// Pillow-exact bicubic resize: outputs of Pillow's Image.resize(BICUBIC) for up/down scales,
// non-integer and extreme ratios, one-axis-only resizes (fixtures, PNG = lossless), expected
// bit-exact (tolerance 0 LSB). Plus the invariants that need no reference.
#include <gtest/gtest.h>

#include <cstdlib>
#include <string>

#include "fixtures.h"
#include "vlm/error.h"
#include "vlm/image.h"
#include "vlm/preprocess.h"

namespace {

int max_abs_diff(const vlm::ImageRgb8& a, const vlm::ImageRgb8& b) {
  int m = 0;
  for (size_t i = 0; i < a.pixels.size(); ++i) m = std::max(m, std::abs(a.pixels[i] - b.pixels[i]));
  return m;
}

TEST(ResizeBicubic, MatchesPillowBitExactly) {
  const nlohmann::json fixture = vlm_test::load_fixture_json("resize.json");
  int cases = 0, worst = 0;
  for (const auto& c : fixture.at("cases")) {
    const vlm::ImageRgb8 input =
        vlm::load_image(vlm_test::preprocess_fixture(c.at("input").get<std::string>()));
    const vlm::ImageRgb8 expected =
        vlm::load_image(vlm_test::preprocess_fixture(c.at("output").get<std::string>()));
    const int w = c.at("width").get<int>(), h = c.at("height").get<int>();
    const vlm::ImageRgb8 out = vlm::resize_bicubic(input, w, h);
    ASSERT_EQ(out.width, w);
    ASSERT_EQ(out.height, h);
    ASSERT_EQ(out.pixels.size(), expected.pixels.size());
    const int diff = max_abs_diff(out, expected);
    worst = std::max(worst, diff);
    EXPECT_EQ(diff, 0) << c.at("output").get<std::string>();
    ++cases;
  }
  EXPECT_GE(cases, 20);
  std::printf("[figure] resize_bicubic vs Pillow: %d cases, max |diff| = %d LSB\n", cases, worst);
}

vlm::ImageRgb8 constant_image(int w, int h, uint8_t r, uint8_t g, uint8_t b) {
  vlm::ImageRgb8 im;
  im.width = w;
  im.height = h;
  for (int i = 0; i < w * h; ++i) im.pixels.insert(im.pixels.end(), {r, g, b});
  return im;
}

TEST(ResizeBicubic, SameSizeIsACopy) {
  vlm::ImageRgb8 im = constant_image(5, 3, 1, 2, 3);
  im.pixels[7] = 200;
  const vlm::ImageRgb8 out = vlm::resize_bicubic(im, 5, 3);
  EXPECT_EQ(out.pixels, im.pixels);
}

// Normalised weights sum to 1 (±rounding of 22-bit weights), so a flat image stays flat.
TEST(ResizeBicubic, ConstantImageStaysConstant) {
  const vlm::ImageRgb8 im = constant_image(37, 23, 0, 128, 255);
  for (auto [w, h] : {std::pair{100, 7}, {5, 60}, {1, 1}, {37, 50}}) {
    const vlm::ImageRgb8 out = vlm::resize_bicubic(im, w, h);
    for (int i = 0; i < w * h; ++i) {
      EXPECT_EQ(out.pixels[i * 3 + 0], 0);
      EXPECT_EQ(out.pixels[i * 3 + 1], 128);
      EXPECT_EQ(out.pixels[i * 3 + 2], 255);
    }
  }
}

TEST(ResizeBicubic, RejectsEmptyAndAbsurdSizes) {
  const vlm::ImageRgb8 im = constant_image(4, 4, 9, 9, 9);
  EXPECT_THROW(vlm::resize_bicubic(im, 0, 4), vlm::Error);
  EXPECT_THROW(vlm::resize_bicubic(im, 4, -1), vlm::Error);
  EXPECT_THROW(vlm::resize_bicubic(im, 4, 1 << 30), vlm::Error);
  EXPECT_THROW(vlm::resize_bicubic(im, 1 << 19, 1 << 19), vlm::Error);
  EXPECT_THROW(vlm::resize_bicubic(vlm::ImageRgb8{}, 4, 4), vlm::Error);
  vlm::ImageRgb8 short_buffer = im;
  short_buffer.pixels.resize(10);
  try {
    vlm::resize_bicubic(short_buffer, 8, 8);
    FAIL() << "short pixel buffer accepted";
  } catch (const vlm::Error& e) {
    EXPECT_NE(e.message().find("bytes"), std::string::npos) << e.message();
  }
}

}  // namespace
