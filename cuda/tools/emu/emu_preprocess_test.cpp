// Emulation check of kernels/preprocess.cu with the backend's plan (cuda/preprocess_plan.h) against
// the CPU preprocessor itself (model/src/preprocess compiled in): preprocess_image and
// preprocess_video on RGB and NV12 frames of small odd sizes, covering upscale, downscale,
// Pillow's vertical-first order, the processor's second resize and temporal padding.
// Tolerance: none — F32 pixel_values must be bit-identical and BF16 ones the RNE rounding of the
// CPU's floats (every step is integer or table arithmetic).
#include <cstdio>
#include <cstring>
#include <random>
#include <vector>

#include "launch.h"
#include "preprocess/patch_tables.h"
#include "preprocess_plan.h"
#include "vlm/image.h"
#include "vlm/preprocess.h"

using namespace vlm;
using namespace vlm::cuda;

namespace {

int cases = 0, fails = 0;
std::mt19937 rng(11);

uint16_t f2b(float v) {
  uint32_t w;
  std::memcpy(&w, &v, 4);
  return static_cast<uint16_t>((w + 0x7fffu + ((w >> 16) & 1u)) >> 16);
}

std::vector<uint8_t> random_bytes(size_t n) {
  std::uniform_int_distribution<int> byte(0, 255);
  std::vector<uint8_t> v(n);
  for (auto& b : v) b = static_cast<uint8_t>(byte(rng));
  return v;
}

// An NV12 frame with padded strides (and its buffers).
struct Nv12 {
  int width, height;
  int luma_stride, chroma_stride;
  std::vector<uint8_t> luma, chroma;
  FrameView view() const {
    FrameView f;
    f.format = PixelFormat::NV12;
    f.width = width;
    f.height = height;
    f.planes[0] = luma.data();
    f.planes[1] = chroma.data();
    f.strides[0] = luma_stride;
    f.strides[1] = chroma_stride;
    return f;
  }
};

Nv12 random_nv12(int width, int height) {
  Nv12 f{width, height, width + 3, (width + 1) / 2 * 2 + 5, {}, {}};
  f.luma = random_bytes(static_cast<size_t>(f.luma_stride) * height);
  f.chroma = random_bytes(static_cast<size_t>(f.chroma_stride) * ((height + 1) / 2));
  return f;
}

ImageRgb8 random_rgb(int width, int height) {
  ImageRgb8 image;
  image.width = width;
  image.height = height;
  image.pixels = random_bytes(static_cast<size_t>(width) * height * 3);
  return image;
}

BicubicAxisView view_of(const detail::BicubicAxis& axis) {
  BicubicAxisView v;
  v.first = axis.first.data();
  v.count = axis.count.data();
  v.weights = axis.weights.data();
  v.taps_max = axis.taps_max;
  return v;
}

// The device path on one RGB8 frame: the chain of resizes, each as its planned passes.
std::vector<uint8_t> device_resize_chain(std::vector<uint8_t> rgb, int width, int height,
                                         const std::vector<ResizeTarget>& chain) {
  for (const ResizeTarget& target : chain) {
    for (const ResizePass& pass : plan_bicubic(width, height, target.width, target.height)) {
      std::vector<uint8_t> out(static_cast<size_t>(pass.out_width) * pass.out_height * 3);
      if (pass.horizontal) {
        launch_resize_horizontal(rgb.data(), pass.in_width, pass.row_begin, view_of(pass.axis),
                                 out.data(), pass.out_width, pass.out_height, nullptr);
      } else {
        launch_resize_vertical(rgb.data(), pass.in_width, view_of(pass.axis), out.data(),
                               pass.out_height, nullptr);
      }
      rgb.swap(out);
    }
    width = target.width;
    height = target.height;
  }
  return rgb;
}

std::vector<uint8_t> device_nv12(const Nv12& f) {
  std::vector<uint8_t> rgb(static_cast<size_t>(f.width) * f.height * 3);
  launch_nv12_to_rgb8(f.luma.data(), f.luma_stride, f.chroma.data(), f.chroma_stride, f.width,
                      f.height, rgb.data(), nullptr);
  return rgb;
}

void compare(const char* what, const std::vector<uint8_t>& frames, int64_t n_frames, int width,
             int height, const PreprocessorConfig& config, const VisionInput& expected) {
  const detail::ChannelTables tables = detail::normalisation_tables(config);
  std::vector<float> flat_tables;
  for (const auto& channel : tables) flat_tables.insert(flat_tables.end(), channel.begin(), channel.end());
  PatchifyArgs a;
  a.frames = frames.data();
  a.n_frames = n_frames;
  a.height = height;
  a.width = width;
  a.patch = config.patch_size;
  a.merge = config.merge_size;
  a.temporal = config.temporal_patch_size;
  a.grid_t = (n_frames + a.temporal - 1) / a.temporal;
  a.tables = flat_tables.data();
  std::vector<float> got(expected.pixel_values.size() + 1, -99.0f);
  a.out = got.data();
  launch_patchify(a, nullptr);
  std::vector<uint16_t> got_bf16(expected.pixel_values.size() + 1, 0xdead);
  a.out = got_bf16.data();
  a.out_type = ElemType::BF16;
  launch_patchify(a, nullptr);
  size_t f32_bad = 0, bf16_bad = 0;
  for (size_t i = 0; i < expected.pixel_values.size(); ++i) {
    f32_bad += std::memcmp(&got[i], &expected.pixel_values[i], 4) != 0;
    bf16_bad += got_bf16[i] != f2b(expected.pixel_values[i]);
  }
  const bool grid_ok = a.grid_t == expected.grid.t && height / a.patch == expected.grid.h &&
                       width / a.patch == expected.grid.w;
  const bool tail_ok = got.back() == -99.0f && got_bf16.back() == 0xdead;  // nothing past the end
  const bool ok = grid_ok && tail_ok && f32_bad == 0 && bf16_bad == 0;
  ++cases;
  if (!ok) ++fails;
  std::printf("preprocess %-44s grid %lldx%lldx%lld values %zu: f32 mismatches %zu, bf16 %zu %s\n",
              what, static_cast<long long>(expected.grid.t), static_cast<long long>(expected.grid.h),
              static_cast<long long>(expected.grid.w), expected.pixel_values.size(), f32_bad,
              bf16_bad, ok ? "ok" : "FAIL");
}

void image_case(const char* what, const ImageRgb8& image, const std::vector<uint8_t>& device_rgb,
                const PreprocessorConfig& config, int64_t min_pixels, int64_t max_pixels) {
  const VisionInput expected = preprocess_image(image, config, min_pixels, max_pixels);
  const auto chain = image_resize_chain(image.height, image.width, config, min_pixels, max_pixels);
  const auto rgb = device_resize_chain(device_rgb, image.width, image.height, chain);
  compare(what, rgb, 1, chain.back().width, chain.back().height, config, expected);
}

}  // namespace

int main() {
  PreprocessorConfig config;  // Qwen2.5-VL's defaults
  const int64_t unit = 28 * 28;
  {
    const ImageRgb8 image = random_rgb(61, 47);
    image_case("rgb 61x47 downscale", image, image.pixels, config, 4 * unit, 5 * unit);
  }
  {
    const ImageRgb8 image = random_rgb(20, 31);
    image_case("rgb 20x31 upscale", image, image.pixels, config, 4 * unit, 16384 * unit);
  }
  {
    const ImageRgb8 image = random_rgb(60, 201);
    image_case("rgb 60x201 vertical first", image, image.pixels, config, 4 * unit, 6 * unit);
  }
  {
    const ImageRgb8 image = random_rgb(57, 85);
    PreprocessorConfig tight = config;
    tight.max_pixels = 4 * unit;  // the processor resizes a second time
    image_case("rgb 57x85 processor resizes again", image, image.pixels, tight, 4 * unit, 12 * unit);
  }
  {
    const Nv12 frame = random_nv12(63, 45);
    const ImageRgb8 rgb = to_rgb8(frame.view());
    const std::vector<uint8_t> device = device_nv12(frame);
    ++cases;
    const bool same = device == rgb.pixels;
    if (!same) ++fails;
    std::printf("preprocess %-44s %s\n", "nv12 63x45 to rgb8 (odd, padded strides)", same ? "ok" : "FAIL");
    image_case("nv12 63x45 image", rgb, device, config, 4 * unit, 6 * unit);
  }
  {
    // A 3-frame NV12 clip: one temporal patch is padded with the last frame.
    VideoSamplingOptions options;
    options.min_pixels = 2 * unit;
    options.total_pixels = 12 * unit;
    std::vector<Nv12> nv12;
    std::vector<ImageRgb8> frames;
    std::vector<uint8_t> device;
    for (int i = 0; i < 3; ++i) {
      nv12.push_back(random_nv12(50, 33));
      frames.push_back(to_rgb8(nv12.back().view()));
    }
    const VisionInput expected = preprocess_video(frames, 2.0, config, options);
    const auto chain = video_resize_chain(33, 50, 3, config, options);
    for (const Nv12& f : nv12) {
      const auto resized = device_resize_chain(device_nv12(f), 50, 33, chain);
      device.insert(device.end(), resized.begin(), resized.end());
    }
    compare("nv12 video 3 frames 50x33 (temporal padding)", device, 3, chain.back().width,
            chain.back().height, config, expected);
  }
  std::printf(fails ? "preprocess: %d of %d cases FAILED\n" : "preprocess: all %d cases ok\n",
              fails ? fails : cases, cases);
  return fails != 0;
}
