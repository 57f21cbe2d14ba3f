// What a raw frame of each pixel format holds: its planes' row sizes and row counts, the format's
// name for error messages, and the size limits every frame consumer checks (to_rgb8, RawFrame,
// the CUDA upload). One place, so a frame accepted by one is accepted by all, with the same words.
#pragma once

#include <array>

#include "vlm/image.h"

namespace vlm::detail {

struct PlaneShape {
  int row_bytes = 0;  // bytes of one row without padding
  int rows = 0;       // 0: the format has no such plane
};

// RGB: 3 bytes a pixel; RGBA/RGBx/BGRx/BGRA: 4; I420: Y, then U and V at half size rounded up;
// NV12: Y, then interleaved UV rows of (width + 1) / 2 · 2 bytes.
std::array<PlaneShape, 3> plane_shapes(PixelFormat format, int width, int height);

const char* pixel_format_name(PixelFormat format);

// Sides 1..65536 and at most 2^28 pixels, else InvalidInput naming `who` and the size.
void check_frame_size(const FrameView& frame, const char* who);

// check_frame_size, then every plane the format has: not null, stride at least the row size.
void check_frame(const FrameView& frame, const char* who);

}  // namespace vlm::detail
