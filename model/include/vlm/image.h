// Images as the engine sees them: 8-bit RGB, interleaved, tightly packed rows. Conversions from
// the raw formats a video pipeline hands over (RGBA/RGBx/BGRx, I420, NV12), an owned copy of such
// a frame in its own format (RawFrame), and PNG/JPEG file loading live here too, so the CLI, the
// localiser and the GStreamer element share them.
#pragma once

#include <cstdint>
#include <cstddef>
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

// An RGB image seen as a frame (no copy; valid while the image lives).
FrameView view_of(const ImageRgb8& image);

// A frame kept in the format it arrived in: a copy of a FrameView with tightly packed planes, or
// an RGB image taken over without a copy. vlmdescribe holds its sampled frames this way, so its
// streaming thread only copies bytes (NV12 keeps 1.5 bytes per pixel where RGB needs 3) and the
// colour conversion happens where the frame is used: on the GPU when the engine preprocesses
// there (RGB and NV12), else vlm::to_rgb8 on the inference thread.
class RawFrame {
 public:
  RawFrame() = default;
  explicit RawFrame(ImageRgb8 image);  // format RGB; the pixels are moved, not copied
  // Checks the frame as to_rgb8 does (size, planes, strides); the error names the problem.
  static RawFrame copy_of(const FrameView& frame);

  FrameView view() const;
  PixelFormat format() const { return format_; }
  int width() const { return width_; }
  int height() const { return height_; }
  size_t size_bytes() const { return bytes_.size(); }

 private:
  PixelFormat format_ = PixelFormat::RGB;
  int width_ = 0;
  int height_ = 0;
  std::vector<uint8_t> bytes_;
  size_t offsets_[3] = {0, 0, 0};
  int strides_[3] = {0, 0, 0};
};

// RGBA is composited over white as qwen-vl-utils does; YUV uses BT.601 limited range.
ImageRgb8 to_rgb8(const FrameView& frame);
// PNG or JPEG (through a decoder library); errors name the file.
ImageRgb8 load_image(const std::filesystem::path& path);
void save_png(const ImageRgb8& image, const std::filesystem::path& path);

}  // namespace vlm
