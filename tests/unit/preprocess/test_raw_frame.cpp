// RawFrame (vlm/image.h): a copy of a decoder's frame in its own format. For every pixel format,
// with padded strides and odd sizes, the copy converts to the same RGB as the original, holds only
// the planes' bytes (NV12: 1.5 per pixel), and bad frames are refused with to_rgb8's errors. An
// RGB image is taken over without copying its pixels.
#include <gtest/gtest.h>

#include <random>
#include <string>
#include <vector>

#include "vlm/error.h"
#include "vlm/image.h"

namespace {

using vlm::PixelFormat;

// A frame of `format` with random bytes and each plane's rows padded by `pad` bytes.
struct PaddedFrame {
  std::vector<std::vector<uint8_t>> planes;
  vlm::FrameView view;
};

PaddedFrame padded_frame(PixelFormat format, int width, int height, int pad, unsigned seed) {
  struct Plane {
    int row, rows;
  };
  const int half_w = (width + 1) / 2, half_h = (height + 1) / 2;
  std::vector<Plane> shapes;
  switch (format) {
    case PixelFormat::RGB: shapes = {{width * 3, height}}; break;
    case PixelFormat::RGBA:
    case PixelFormat::RGBx:
    case PixelFormat::BGRx:
    case PixelFormat::BGRA: shapes = {{width * 4, height}}; break;
    case PixelFormat::I420: shapes = {{width, height}, {half_w, half_h}, {half_w, half_h}}; break;
    case PixelFormat::NV12: shapes = {{width, height}, {half_w * 2, half_h}}; break;
  }
  std::mt19937 rng(seed);
  PaddedFrame f;
  f.view.format = format;
  f.view.width = width;
  f.view.height = height;
  for (size_t p = 0; p < shapes.size(); ++p) {
    const int stride = shapes[p].row + pad;
    f.planes.emplace_back(static_cast<size_t>(stride) * shapes[p].rows);
    for (uint8_t& b : f.planes.back()) b = static_cast<uint8_t>(rng());
  }
  for (size_t p = 0; p < shapes.size(); ++p) {
    f.view.planes[p] = f.planes[p].data();
    f.view.strides[p] = shapes[p].row + pad;
  }
  return f;
}

TEST(RawFrame, CopyConvertsLikeTheOriginalForEveryFormat) {
  const PixelFormat formats[] = {PixelFormat::RGB,  PixelFormat::RGBA, PixelFormat::RGBx,
                                 PixelFormat::BGRx, PixelFormat::BGRA, PixelFormat::I420,
                                 PixelFormat::NV12};
  const int sizes[][2] = {{1, 1}, {3, 5}, {64, 48}, {33, 17}};
  unsigned seed = 1;
  for (PixelFormat format : formats) {
    for (const auto& size : sizes) {
      for (int pad : {0, 13}) {
        const PaddedFrame source = padded_frame(format, size[0], size[1], pad, seed++);
        const vlm::RawFrame copy = vlm::RawFrame::copy_of(source.view);
        SCOPED_TRACE("format " + std::to_string(static_cast<int>(format)) + " " +
                     std::to_string(size[0]) + "x" + std::to_string(size[1]) + " pad " +
                     std::to_string(pad));
        EXPECT_EQ(copy.format(), format);
        EXPECT_EQ(copy.width(), size[0]);
        EXPECT_EQ(copy.height(), size[1]);
        size_t unpadded = 0;
        for (size_t p = 0; p < source.planes.size(); ++p) {
          const size_t rows = source.planes[p].size() / static_cast<size_t>(source.view.strides[p]);
          unpadded += (static_cast<size_t>(source.view.strides[p]) - pad) * rows;
        }
        EXPECT_EQ(copy.size_bytes(), unpadded);  // the padding is dropped
        const vlm::FrameView view = copy.view();
        EXPECT_NE(view.planes[0], source.view.planes[0]);  // a copy, not a view of the source
        EXPECT_EQ(vlm::to_rgb8(view).pixels, vlm::to_rgb8(source.view).pixels);
      }
    }
  }
}

TEST(RawFrame, Nv12HoldsHalfTheBytesOfRgb) {
  const PaddedFrame nv12 = padded_frame(PixelFormat::NV12, 1920, 1080, 64, 7);
  const vlm::RawFrame copy = vlm::RawFrame::copy_of(nv12.view);
  EXPECT_EQ(copy.size_bytes(), 1920u * 1080u * 3u / 2u);
  EXPECT_EQ(vlm::to_rgb8(copy.view()).pixels.size(), 1920u * 1080u * 3u);
}

TEST(RawFrame, TakesAnRgbImageWithoutCopying) {
  vlm::ImageRgb8 image;
  image.width = 4;
  image.height = 3;
  image.pixels.resize(36);
  for (size_t i = 0; i < image.pixels.size(); ++i) image.pixels[i] = static_cast<uint8_t>(i * 7);
  const std::vector<uint8_t> expected = image.pixels;
  const uint8_t* data = image.pixels.data();
  const vlm::RawFrame frame(std::move(image));
  const vlm::FrameView view = frame.view();
  EXPECT_EQ(view.planes[0], data);
  EXPECT_EQ(view.format, PixelFormat::RGB);
  EXPECT_EQ(view.strides[0], 12);
  EXPECT_EQ(vlm::to_rgb8(view).pixels, expected);
  // view_of is the same view of an image still owned by its caller.
  vlm::ImageRgb8 other;
  other.width = 2;
  other.height = 1;
  other.pixels = {1, 2, 3, 4, 5, 6};
  EXPECT_EQ(vlm::view_of(other).planes[0], other.pixels.data());
  EXPECT_EQ(vlm::to_rgb8(vlm::view_of(other)).pixels, other.pixels);
}

std::string error_of(const vlm::FrameView& f) {
  try {
    vlm::RawFrame::copy_of(f);
  } catch (const vlm::Error& e) {
    EXPECT_EQ(e.code(), vlm::ErrorCode::InvalidInput);
    return e.what();
  }
  return "no error";
}

TEST(RawFrame, RefusesBadFramesNamingTheProblem) {
  PaddedFrame nv12 = padded_frame(PixelFormat::NV12, 8, 6, 0, 3);
  vlm::FrameView f = nv12.view;
  f.planes[1] = nullptr;
  EXPECT_NE(error_of(f).find("NV12 frame plane 1 is null"), std::string::npos) << error_of(f);
  f = nv12.view;
  f.strides[1] = 7;
  EXPECT_NE(error_of(f).find("stride 7 is below the row size 8"), std::string::npos) << error_of(f);
  f = nv12.view;
  f.width = 0;
  EXPECT_NE(error_of(f).find("frame size 0x6"), std::string::npos) << error_of(f);
  f = nv12.view;
  f.height = 70000;
  EXPECT_NE(error_of(f).find("empty or absurd"), std::string::npos) << error_of(f);
  vlm::ImageRgb8 short_image;
  short_image.width = 4;
  short_image.height = 4;
  short_image.pixels.resize(10);
  EXPECT_THROW(vlm::RawFrame{std::move(short_image)}, vlm::Error);
}

}  // namespace
