// Pillow's Image.resize(size, BICUBIC) for 8-bit RGB, reproduced bit for bit (spec §3.3; Pillow
// src/libImaging/Resample.c): per-axis Keys cubic (a = -0.5) coefficients widened by the scale on
// downscale, normalised in double, turned into 22-bit fixed point, and two passes that each round
// and clamp to uint8. Pass order is Pillow 13.0's (the pinned reference): horizontal first (into
// rows limited to the vertical support box), except when the height shrinks by more than twice
// as many pixels as the width, then vertical first. Pillow <= 12 always ran horizontal first; the
// order changes results by a few LSB, so a different Pillow in the reference would show up here.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <utility>
#include <vector>

#include "preprocess/bicubic_plan.h"
#include "vlm/error.h"
#include "vlm/preprocess.h"

// Pillow's coefficients are computed without fused multiply-adds (baseline x86-64 wheels); keep
// the compiler from contracting a·b + c here even under -march=native, or weights can move by
// one unit in the last place and a pixel by one LSB.
#if defined(__clang__)
#pragma clang fp contract(off)
#elif defined(__GNUC__)
#pragma GCC optimize("fp-contract=off")
#endif

namespace vlm {
namespace {

constexpr int kPrecisionBits = detail::kBicubicPrecisionBits;

double bicubic_kernel(double x) {
  constexpr double a = -0.5;
  if (x < 0.0) x = -x;
  if (x < 1.0) return ((a + 2.0) * x - (a + 3.0)) * x * x + 1;
  if (x < 2.0) return (((x - 5) * x + 8) * x - 4) * a;
  return 0.0;
}

// Fixed-point coefficients of one axis: for output i, taps start at first[i], count[i] taps,
// weights at weights[i * taps_max ...].
struct AxisCoefficients {
  int taps_max = 0;
  std::vector<int> first;
  std::vector<int> count;
  std::vector<int32_t> weights;
};

AxisCoefficients precompute(int in_size, int out_size) {
  constexpr double support_base = 2.0;  // bicubic support
  // Pillow passes the box edges as float; (in1 - in0) is exact for sizes < 2^24.
  const double scale = static_cast<double>(static_cast<float>(in_size)) / out_size;
  const double filterscale = std::max(scale, 1.0);
  const double support = support_base * filterscale;
  AxisCoefficients c;
  c.taps_max = static_cast<int>(std::ceil(support)) * 2 + 1;
  c.first.resize(out_size);
  c.count.resize(out_size);
  c.weights.assign(static_cast<size_t>(out_size) * c.taps_max, 0);
  std::vector<double> k(c.taps_max);
  for (int xx = 0; xx < out_size; ++xx) {
    const double center = (xx + 0.5) * scale;
    const double ss = 1.0 / filterscale;
    int xmin = static_cast<int>(center - support + 0.5);
    if (xmin < 0) xmin = 0;
    int xmax = static_cast<int>(center + support + 0.5);
    if (xmax > in_size) xmax = in_size;
    xmax -= xmin;
    double ww = 0.0;
    for (int x = 0; x < xmax; ++x) {
      const double w = bicubic_kernel((x + xmin - center + 0.5) * ss);
      k[x] = w;
      ww += w;
    }
    for (int x = 0; x < xmax; ++x) {
      if (ww != 0.0) k[x] /= ww;
      const double scaled = k[x] * (1 << kPrecisionBits);
      c.weights[static_cast<size_t>(xx) * c.taps_max + x] =
          static_cast<int32_t>(k[x] < 0 ? -0.5 + scaled : 0.5 + scaled);
    }
    c.first[xx] = xmin;
    c.count[xx] = xmax;
  }
  return c;
}

inline uint8_t clip8(int32_t accumulator) {
  const int32_t v = accumulator >> kPrecisionBits;  // arithmetic shift = floor, as Pillow
  return static_cast<uint8_t>(std::clamp(v, 0, 255));
}

// Rows [row_begin, row_begin + out.height) of `in` resampled horizontally into `out`.
void horizontal_pass(const ImageRgb8& in, int row_begin, const AxisCoefficients& c,
                     ImageRgb8& out) {
  for (int yy = 0; yy < out.height; ++yy) {
    const uint8_t* src = in.row(yy + row_begin);
    uint8_t* dst = out.pixels.data() + static_cast<size_t>(yy) * out.width * 3;
    for (int xx = 0; xx < out.width; ++xx) {
      const int32_t* k = &c.weights[static_cast<size_t>(xx) * c.taps_max];
      const uint8_t* p = src + static_cast<size_t>(c.first[xx]) * 3;
      int32_t s0 = 1 << (kPrecisionBits - 1), s1 = s0, s2 = s0;
      for (int x = 0; x < c.count[xx]; ++x) {
        s0 += p[x * 3 + 0] * k[x];
        s1 += p[x * 3 + 1] * k[x];
        s2 += p[x * 3 + 2] * k[x];
      }
      dst[xx * 3 + 0] = clip8(s0);
      dst[xx * 3 + 1] = clip8(s1);
      dst[xx * 3 + 2] = clip8(s2);
    }
  }
}

// `c.first` is relative to the first row of `in`.
void vertical_pass(const ImageRgb8& in, const AxisCoefficients& c, ImageRgb8& out) {
  const size_t row_bytes = static_cast<size_t>(in.width) * 3;
  std::vector<int32_t> acc(row_bytes);
  for (int yy = 0; yy < out.height; ++yy) {
    const int32_t* k = &c.weights[static_cast<size_t>(yy) * c.taps_max];
    std::fill(acc.begin(), acc.end(), 1 << (kPrecisionBits - 1));
    for (int y = 0; y < c.count[yy]; ++y) {
      const uint8_t* src = in.row(c.first[yy] + y);
      const int32_t w = k[y];
      for (size_t i = 0; i < row_bytes; ++i) acc[i] += src[i] * w;
    }
    uint8_t* dst = out.pixels.data() + static_cast<size_t>(yy) * row_bytes;
    for (size_t i = 0; i < row_bytes; ++i) dst[i] = clip8(acc[i]);
  }
}

ImageRgb8 blank(int width, int height) {
  ImageRgb8 image;
  image.width = width;
  image.height = height;
  image.pixels.resize(static_cast<size_t>(width) * height * 3);
  return image;
}

}  // namespace

namespace detail {

BicubicAxis bicubic_axis(int in_size, int out_size) {
  AxisCoefficients c = precompute(in_size, out_size);
  BicubicAxis axis;
  axis.taps_max = c.taps_max;
  axis.first.assign(c.first.begin(), c.first.end());
  axis.count.assign(c.count.begin(), c.count.end());
  axis.weights = std::move(c.weights);
  return axis;
}

bool bicubic_horizontal_first(int in_width, int in_height, int out_width, int out_height) {
  const int height_loss = in_height - out_height, width_loss = in_width - out_width;
  return !(height_loss > 0 && height_loss > width_loss * 2);
}

}  // namespace detail

ImageRgb8 resize_bicubic(const ImageRgb8& image, int width, int height) {
  VLM_CHECK(image.width > 0 && image.height > 0, InvalidInput,
            "resize_bicubic: source image " << image.width << "x" << image.height << " is empty");
  VLM_CHECK(image.pixels.size() == static_cast<size_t>(image.width) * image.height * 3,
            InvalidInput,
            "resize_bicubic: source image " << image.width << "x" << image.height << " holds "
                                            << image.pixels.size() << " bytes, not w*h*3");
  VLM_CHECK(width > 0 && height > 0 && width <= (1 << 20) && height <= (1 << 20) &&
                static_cast<int64_t>(width) * height <= (int64_t{1} << 28),
            InvalidInput,
            "resize_bicubic: target size " << width << "x" << height
                                           << " is empty or absurd (at most 2^28 pixels)");
  if (width == image.width && height == image.height) return image;

  const AxisCoefficients horiz = precompute(image.width, width);
  AxisCoefficients vert = precompute(image.height, height);
  const bool need_horizontal = width != image.width;
  const bool need_vertical = height != image.height;

  // Pillow 13 ImagingResampleInner: vertical first iff the height loses more than twice as many
  // pixels as the width.
  const bool horizontal_first = detail::bicubic_horizontal_first(image.width, image.height, width, height);

  if (!horizontal_first) {
    ImageRgb8 tall = blank(image.width, height);  // height_loss > 0: a vertical pass is needed
    vertical_pass(image, vert, tall);
    if (!need_horizontal) return tall;
    ImageRgb8 out = blank(width, height);
    horizontal_pass(tall, 0, horiz, out);
    return out;
  }

  ImageRgb8 current;
  const ImageRgb8* source = &image;
  if (need_horizontal) {
    // Only the rows the vertical pass reads (Pillow's ybox_first .. ybox_last).
    const int row_first = vert.first[0];
    const int row_last = vert.first[height - 1] + vert.count[height - 1];
    for (int& f : vert.first) f -= row_first;
    current = blank(width, row_last - row_first);
    horizontal_pass(image, row_first, horiz, current);
    source = &current;
  }
  if (!need_vertical) return current;
  ImageRgb8 out = blank(source->width, height);
  vertical_pass(*source, vert, out);
  return out;
}

}  // namespace vlm
