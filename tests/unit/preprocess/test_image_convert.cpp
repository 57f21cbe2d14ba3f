// Raw formats -> RGB (hand-computed BT.601 values, alpha onto white against qwen-vl-utils'
// to_rgb for all 65,536 (value, alpha) pairs) and image files (stb): round trip, greyscale,
// corrupt and missing files with errors that name the file.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <unistd.h>

#include "fixtures.h"
#include "vlm/error.h"
#include "vlm/image.h"

namespace {

std::filesystem::path temp_path(const std::string& name) {
  return std::filesystem::temp_directory_path() /
         ("vlm_pre_" + std::to_string(::getpid()) + "_" + name);
}

TEST(ToRgb8, AlphaCompositeMatchesQwenVlUtils) {
  const vlm::ImageRgb8 composited = vlm::load_image(vlm_test::preprocess_fixture("inputs/alpha_rgba.png"));
  const vlm::ImageRgb8 expected =
      vlm::load_image(vlm_test::preprocess_fixture("inputs/alpha_rgba.qvu_rgb.png"));
  ASSERT_EQ(composited.width, 256);
  ASSERT_EQ(composited.height, 256);
  EXPECT_EQ(composited.pixels, expected.pixels);
}

TEST(ToRgb8, PackedFormatsReorderAndComposite) {
  const uint8_t px[8] = {10, 20, 30, 255, 200, 100, 50, 0};  // two 4-byte pixels
  vlm::FrameView f;
  f.width = 2;
  f.height = 1;
  f.planes[0] = px;
  f.strides[0] = 8;
  f.format = vlm::PixelFormat::RGBx;
  EXPECT_EQ(vlm::to_rgb8(f).pixels, (std::vector<uint8_t>{10, 20, 30, 200, 100, 50}));
  f.format = vlm::PixelFormat::BGRx;
  EXPECT_EQ(vlm::to_rgb8(f).pixels, (std::vector<uint8_t>{30, 20, 10, 50, 100, 200}));
  f.format = vlm::PixelFormat::RGBA;  // alpha 255 keeps, alpha 0 gives white
  EXPECT_EQ(vlm::to_rgb8(f).pixels, (std::vector<uint8_t>{10, 20, 30, 255, 255, 255}));
  f.format = vlm::PixelFormat::BGRA;
  EXPECT_EQ(vlm::to_rgb8(f).pixels, (std::vector<uint8_t>{30, 20, 10, 255, 255, 255}));
  const uint8_t rgb[9] = {1, 2, 3, 4, 5, 6, 0, 0, 0};  // stride 9 > 6: padding ignored
  f.format = vlm::PixelFormat::RGB;
  f.planes[0] = rgb;
  f.strides[0] = 9;
  EXPECT_EQ(vlm::to_rgb8(f).pixels, (std::vector<uint8_t>{1, 2, 3, 4, 5, 6}));
}

// BT.601 limited range, by hand: (16,128,128) black; (235,128,128) white;
// (81,90,240) -> (255,0,0); (145,54,34) -> (0,255,1).
TEST(ToRgb8, YuvBt601LimitedRange) {
  const uint8_t y[6] = {16, 235, 99, 16, 235, 99};  // 2x2 image, stride 3 (99 = padding)
  const uint8_t u[2] = {128, 90}, v[2] = {128, 240};
  vlm::FrameView f;
  f.format = vlm::PixelFormat::I420;
  f.width = 2;
  f.height = 2;
  f.planes[0] = y;
  f.strides[0] = 3;
  f.planes[1] = u;
  f.planes[2] = v;
  f.strides[1] = f.strides[2] = 1;
  EXPECT_EQ(vlm::to_rgb8(f).pixels, (std::vector<uint8_t>{0, 0, 0, 255, 255, 255,  //
                                                          0, 0, 0, 255, 255, 255}));
  // Second chroma row for a 2x4 image: (90,240) red on the lower two rows.
  const uint8_t y4[8] = {16, 235, 16, 235, 81, 81, 81, 81};
  f.height = 4;
  f.planes[0] = y4;
  f.strides[0] = 2;
  const vlm::ImageRgb8 four = vlm::to_rgb8(f);
  EXPECT_EQ(std::vector<uint8_t>(four.pixels.begin() + 12, four.pixels.begin() + 15),
            (std::vector<uint8_t>{255, 0, 0}));
  // NV12, odd width 3: chroma width 2.
  const uint8_t y3[3] = {145, 145, 81};
  const uint8_t uv[4] = {54, 34, 90, 240};
  vlm::FrameView n;
  n.format = vlm::PixelFormat::NV12;
  n.width = 3;
  n.height = 1;
  n.planes[0] = y3;
  n.strides[0] = 3;
  n.planes[1] = uv;
  n.strides[1] = 4;
  EXPECT_EQ(vlm::to_rgb8(n).pixels, (std::vector<uint8_t>{0, 255, 1, 0, 255, 1, 255, 0, 0}));
}

TEST(ToRgb8, RejectsBadFrames) {
  vlm::FrameView f;
  f.format = vlm::PixelFormat::RGB;
  f.width = 0;
  f.height = 4;
  EXPECT_THROW(vlm::to_rgb8(f), vlm::Error);
  f.width = 4;
  try {
    vlm::to_rgb8(f);  // null plane
    FAIL() << "null plane accepted";
  } catch (const vlm::Error& e) {
    EXPECT_NE(e.message().find("null"), std::string::npos) << e.message();
  }
  const uint8_t px[12] = {};
  f.planes[0] = px;
  f.strides[0] = 5;  // < 4 * 3
  EXPECT_THROW(vlm::to_rgb8(f), vlm::Error);
  f.width = 1 << 20;
  EXPECT_THROW(vlm::to_rgb8(f), vlm::Error);
  f.width = f.height = 60000;  // sides allowed, 3.6e9 pixels not: an error, not bad_alloc
  f.strides[0] = 60000 * 3;
  EXPECT_THROW(vlm::to_rgb8(f), vlm::Error);
}

TEST(ImageFiles, PngRoundTripAndGreyscale) {
  vlm::ImageRgb8 im;
  im.width = 5;
  im.height = 3;
  for (int i = 0; i < 45; ++i) im.pixels.push_back(static_cast<uint8_t>(i * 37));
  const auto path = temp_path("roundtrip.png");
  vlm::save_png(im, path);
  const vlm::ImageRgb8 back = vlm::load_image(path);
  std::filesystem::remove(path);
  EXPECT_EQ(back.width, 5);
  EXPECT_EQ(back.height, 3);
  EXPECT_EQ(back.pixels, im.pixels);
  // Greyscale file: R = G = B (PIL convert("RGB")).
  const vlm::ImageRgb8 grey = vlm::load_image(vlm_test::preprocess_fixture("images/gray_33x47.png"));
  ASSERT_EQ(grey.width, 33);
  for (size_t i = 0; i < grey.pixels.size(); i += 3) {
    ASSERT_EQ(grey.pixels[i], grey.pixels[i + 1]);
    ASSERT_EQ(grey.pixels[i], grey.pixels[i + 2]);
  }
}

// stb_image vs Pillow (libjpeg-turbo) on a 4:2:0 quality-90 JPEG: not bit-exact (different IDCT
// and chroma upsampling); the figure is printed, the bound is generous but catches a wrong
// colour conversion or channel order (which would be tens of LSB on average).
TEST(ImageFiles, JpegDecodesCloseToPillow) {
  const vlm::ImageRgb8 ours = vlm::load_image(vlm_test::preprocess_fixture("inputs/photo_q90.jpg"));
  const vlm::ImageRgb8 pillow =
      vlm::load_image(vlm_test::preprocess_fixture("inputs/photo_q90.pillow.png"));
  ASSERT_EQ(ours.width, pillow.width);
  ASSERT_EQ(ours.height, pillow.height);
  int max_diff = 0;
  double total = 0;
  for (size_t i = 0; i < ours.pixels.size(); ++i) {
    const int d = std::abs(ours.pixels[i] - pillow.pixels[i]);
    max_diff = std::max(max_diff, d);
    total += d;
  }
  const double mean = total / ours.pixels.size();
  std::printf("[figure] JPEG stb_image vs Pillow: max |diff| %d LSB, mean %.3f LSB\n", max_diff, mean);
  EXPECT_LE(mean, 2.0);
  EXPECT_LE(max_diff, 40);
}

TEST(ImageFiles, CorruptAndMissingFilesNameTheFile) {
  const auto path = temp_path("corrupt.png");
  {
    std::ofstream out(path, std::ios::binary);
    const unsigned char header[] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n', 0, 0, 0, 13,
                                    'I',  'H', 'D', 'R', 0xff, 0xff, 0xff, 0xff, 1, 2, 3};
    out.write(reinterpret_cast<const char*>(header), sizeof header);
  }
  try {
    vlm::load_image(path);
    FAIL() << "corrupt PNG accepted";
  } catch (const vlm::Error& e) {
    EXPECT_EQ(e.code(), vlm::ErrorCode::InvalidInput);
    EXPECT_NE(e.message().find("corrupt.png"), std::string::npos) << e.message();
  }
  std::filesystem::remove(path);
  { std::ofstream empty(path); }
  EXPECT_THROW(vlm::load_image(path), vlm::Error);
  std::filesystem::remove(path);
  try {
    vlm::load_image(temp_path("missing.png"));
    FAIL() << "missing file accepted";
  } catch (const vlm::Error& e) {
    EXPECT_EQ(e.code(), vlm::ErrorCode::NotFound);
    EXPECT_NE(e.message().find("missing.png"), std::string::npos) << e.message();
  }
  vlm::ImageRgb8 empty;
  EXPECT_THROW(vlm::save_png(empty, temp_path("never.png")), vlm::Error);
  vlm::ImageRgb8 ok;
  ok.width = ok.height = 1;
  ok.pixels = {1, 2, 3};
  try {
    vlm::save_png(ok, "/nonexistent-dir/x.png");
    FAIL() << "write to a missing folder succeeded";
  } catch (const vlm::Error& e) {
    EXPECT_NE(e.message().find("/nonexistent-dir/x.png"), std::string::npos) << e.message();
  }
}

}  // namespace
