// RawFrame (vlm/image.h) and the frame layout facts (frame_layout.h). A copy packs each plane's
// rows tightly (the decoder's row padding is dropped), so a held 1080p NV12 frame is 3.1 MB.
#include <cstring>
#include <utility>

#include "preprocess/frame_layout.h"
#include "vlm/error.h"
#include "vlm/image.h"

namespace vlm {
namespace detail {

std::array<PlaneShape, 3> plane_shapes(PixelFormat format, int width, int height) {
  const int half_w = (width + 1) / 2, half_h = (height + 1) / 2;
  switch (format) {
    case PixelFormat::RGB: return {{{width * 3, height}, {}, {}}};
    case PixelFormat::RGBA:
    case PixelFormat::RGBx:
    case PixelFormat::BGRx:
    case PixelFormat::BGRA: return {{{width * 4, height}, {}, {}}};
    case PixelFormat::I420: return {{{width, height}, {half_w, half_h}, {half_w, half_h}}};
    case PixelFormat::NV12: return {{{width, height}, {half_w * 2, half_h}, {}}};
  }
  VLM_THROW(InvalidInput, "unknown pixel format " << static_cast<int>(format));
}

const char* pixel_format_name(PixelFormat format) {
  switch (format) {
    case PixelFormat::RGB: return "RGB";
    case PixelFormat::RGBA: return "RGBA";
    case PixelFormat::RGBx: return "RGBx";
    case PixelFormat::BGRx: return "BGRx";
    case PixelFormat::BGRA: return "BGRA";
    case PixelFormat::I420: return "I420";
    case PixelFormat::NV12: return "NV12";
  }
  return "unknown";
}

void check_frame_size(const FrameView& frame, const char* who) {
  VLM_CHECK(frame.width > 0 && frame.height > 0 && frame.width <= (1 << 16) &&
                frame.height <= (1 << 16) &&
                static_cast<int64_t>(frame.width) * frame.height <= (int64_t{1} << 28),
            InvalidInput,
            who << ": frame size " << frame.width << "x" << frame.height
                << " is empty or absurd (sides 1..65536, at most 2^28 pixels)");
}

void check_frame(const FrameView& frame, const char* who) {
  check_frame_size(frame, who);
  const auto shapes = plane_shapes(frame.format, frame.width, frame.height);
  for (int p = 0; p < 3; ++p) {
    if (shapes[p].rows == 0) continue;
    VLM_CHECK(frame.planes[p] != nullptr, InvalidInput,
              who << ": " << pixel_format_name(frame.format) << " frame plane " << p << " is null");
    VLM_CHECK(frame.strides[p] >= shapes[p].row_bytes, InvalidInput,
              who << ": " << pixel_format_name(frame.format) << " frame plane " << p << " stride "
                  << frame.strides[p] << " is below the row size " << shapes[p].row_bytes);
  }
}

}  // namespace detail

FrameView view_of(const ImageRgb8& image) {
  FrameView view;
  view.format = PixelFormat::RGB;
  view.width = image.width;
  view.height = image.height;
  view.planes[0] = image.pixels.data();
  view.strides[0] = image.width * 3;
  return view;
}

RawFrame::RawFrame(ImageRgb8 image)
    : format_(PixelFormat::RGB), width_(image.width), height_(image.height),
      bytes_(std::move(image.pixels)) {
  VLM_CHECK(bytes_.size() == static_cast<size_t>(width_) * height_ * 3, InvalidInput,
            "RawFrame: RGB image " << width_ << "x" << height_ << " holds " << bytes_.size()
                                   << " bytes, not width·height·3");
  strides_[0] = width_ * 3;
}

RawFrame RawFrame::copy_of(const FrameView& frame) {
  detail::check_frame(frame, "RawFrame");
  const auto shapes = detail::plane_shapes(frame.format, frame.width, frame.height);
  RawFrame raw;
  raw.format_ = frame.format;
  raw.width_ = frame.width;
  raw.height_ = frame.height;
  size_t total = 0;
  for (int p = 0; p < 3; ++p) {
    raw.offsets_[p] = total;
    raw.strides_[p] = shapes[p].row_bytes;
    total += static_cast<size_t>(shapes[p].row_bytes) * shapes[p].rows;
  }
  raw.bytes_.resize(total);
  for (int p = 0; p < 3; ++p) {
    const size_t row = static_cast<size_t>(shapes[p].row_bytes);
    for (int y = 0; y < shapes[p].rows; ++y) {
      std::memcpy(raw.bytes_.data() + raw.offsets_[p] + y * row,
                  frame.planes[p] + static_cast<size_t>(y) * frame.strides[p], row);
    }
  }
  return raw;
}

FrameView RawFrame::view() const {
  FrameView view;
  view.format = format_;
  view.width = width_;
  view.height = height_;
  const auto shapes = detail::plane_shapes(format_, width_, height_);
  for (int p = 0; p < 3; ++p) {
    if (shapes[p].rows == 0) continue;
    view.planes[p] = bytes_.data() + offsets_[p];
    view.strides[p] = strides_[p];
  }
  return view;
}

}  // namespace vlm
