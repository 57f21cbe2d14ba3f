// Raw frame formats -> 8-bit RGB. Alpha is composited onto white exactly as qwen-vl-utils 0.0.14
// to_rgb does it (PIL paste with the alpha band as mask: out = DIV255(255·(255−a) + c·a), Pillow's
// rounding DIV255(v) = ((v + 128) + ((v + 128) >> 8)) >> 8). RGBx/BGRx ignore the padding byte.
// YUV (I420, NV12) uses BT.601 limited range with the usual 8-bit integer approximation
// (R = (298·(Y−16) + 409·(V−128) + 128) >> 8, ...), nearest-neighbour chroma; a decoder-side
// conversion (GStreamer videoconvert, ffmpeg) may differ by an LSB, which no reference fixes.
#include <algorithm>
#include <cstdint>
#include <cstring>

#include "preprocess/frame_layout.h"
#include "vlm/error.h"
#include "vlm/image.h"

namespace vlm {
namespace {

inline uint8_t composite_over_white(uint8_t c, uint8_t a) {
  const uint32_t v = 255u * (255u - a) + static_cast<uint32_t>(c) * a + 128u;
  return static_cast<uint8_t>((v + (v >> 8)) >> 8);
}

inline uint8_t clamp_u8(int v) { return static_cast<uint8_t>(std::clamp(v, 0, 255)); }

inline void yuv_to_rgb(int y, int u, int v, uint8_t* out) {
  const int c = y - 16, d = u - 128, e = v - 128;
  out[0] = clamp_u8((298 * c + 409 * e + 128) >> 8);
  out[1] = clamp_u8((298 * c - 100 * d - 208 * e + 128) >> 8);
  out[2] = clamp_u8((298 * c + 516 * d + 128) >> 8);
}

// RGB already: the rows as they are (a memcpy each; the decoder's row padding is dropped).
void copy_rows(const FrameView& f, ImageRgb8& out) {
  const size_t row = static_cast<size_t>(f.width) * 3;
  for (int y = 0; y < f.height; ++y) {
    std::memcpy(out.pixels.data() + y * row, f.planes[0] + static_cast<size_t>(y) * f.strides[0], row);
  }
}

// Packed 3/4-byte formats: channel offsets of R, G, B and of alpha (-1: none).
void convert_packed(const FrameView& f, int bytes, int r, int g, int b, int alpha,
                    ImageRgb8& out) {
  for (int y = 0; y < f.height; ++y) {
    const uint8_t* src = f.planes[0] + static_cast<size_t>(y) * f.strides[0];
    uint8_t* dst = out.pixels.data() + static_cast<size_t>(y) * f.width * 3;
    for (int x = 0; x < f.width; ++x, src += bytes, dst += 3) {
      if (alpha >= 0) {
        const uint8_t a = src[alpha];
        dst[0] = composite_over_white(src[r], a);
        dst[1] = composite_over_white(src[g], a);
        dst[2] = composite_over_white(src[b], a);
      } else {
        dst[0] = src[r];
        dst[1] = src[g];
        dst[2] = src[b];
      }
    }
  }
}

void convert_yuv(const FrameView& f, bool interleaved_chroma, ImageRgb8& out) {
  for (int y = 0; y < f.height; ++y) {
    const uint8_t* luma = f.planes[0] + static_cast<size_t>(y) * f.strides[0];
    const uint8_t* c1 = f.planes[1] + static_cast<size_t>(y / 2) * f.strides[1];
    const uint8_t* c2 =
        interleaved_chroma ? nullptr : f.planes[2] + static_cast<size_t>(y / 2) * f.strides[2];
    uint8_t* dst = out.pixels.data() + static_cast<size_t>(y) * f.width * 3;
    for (int x = 0; x < f.width; ++x) {
      const int cx = x / 2;
      const int u = interleaved_chroma ? c1[cx * 2] : c1[cx];
      const int v = interleaved_chroma ? c1[cx * 2 + 1] : c2[cx];
      yuv_to_rgb(luma[x], u, v, dst + x * 3);
    }
  }
}

}  // namespace

ImageRgb8 to_rgb8(const FrameView& frame) {
  detail::check_frame(frame, "to_rgb8");  // size, planes and strides (frame_layout.h)
  ImageRgb8 out;
  out.width = frame.width;
  out.height = frame.height;
  out.pixels.resize(static_cast<size_t>(frame.width) * frame.height * 3);
  switch (frame.format) {
    case PixelFormat::RGB: copy_rows(frame, out); break;
    case PixelFormat::RGBA: convert_packed(frame, 4, 0, 1, 2, 3, out); break;
    case PixelFormat::RGBx: convert_packed(frame, 4, 0, 1, 2, -1, out); break;
    case PixelFormat::BGRx: convert_packed(frame, 4, 2, 1, 0, -1, out); break;
    case PixelFormat::BGRA: convert_packed(frame, 4, 2, 1, 0, 3, out); break;
    case PixelFormat::I420: convert_yuv(frame, false, out); break;
    case PixelFormat::NV12: convert_yuv(frame, true, out); break;
  }
  return out;
}

}  // namespace vlm
