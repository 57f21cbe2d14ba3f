// Images as the engine sees them: 8-bit RGB, interleaved, tightly packed rows. Conversions from
// the raw formats a video pipeline hands over (RGBA/RGBx/BGRx, I420, NV12) and PNG/JPEG file
// loading live here too, so the CLI and the GStreamer element share them.
#pragma once

#include <cstdint>
#include <filesystem>
#include <vector>

namespace vlm {

struct ImageRgb8 {
  int width = 0;
  int height = 0;
  std::vector<uint8_t> pixels;  // height * width * 3, R G B
  const uint8_t* row(int y) const { return pixels.data() + static_cast<size_t>(y) * width * 3; }
};

enum class PixelFormat { RGB, RGBA, RGBx, BGRx, BGRA, I420, NV12 };

// A borrowed frame from a decoder: plane pointers and strides in bytes.
struct FrameView {
  PixelFormat format = PixelFormat::RGB;
  int width = 0;
  int height = 0;
  const uint8_t* planes[3] = {nullptr, nullptr, nullptr};
  int strides[3] = {0, 0, 0};
};

// RGBA is composited over white as qwen-vl-utils does; YUV uses BT.601 limited range.
ImageRgb8 to_rgb8(const FrameView& frame);
// PNG or JPEG (through a decoder library); errors name the file.
ImageRgb8 load_image(const std::filesystem::path& path);
void save_png(const ImageRgb8& image, const std::filesystem::path& path);

}  // namespace vlm
