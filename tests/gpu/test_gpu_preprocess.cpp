// GPU preprocessing (cuda/preprocess_cuda.h) against the CPU preprocessor (vlm/preprocess.h) on
// the same frames: RGB and NV12 (odd sizes, padded strides), upscale, downscale, the processor's
// second resize, a 3-frame video (temporal padding), and a 1280x720 NV12 camera frame at the
// default limits. Tolerance: none — F32 pixel_values bit-identical, BF16 the RNE rounding of the
// CPU floats; grids equal.
#include <gtest/gtest.h>

#include <cstring>
#include <random>

#include "backend_cuda_impl.h"
#include "parity.h"
#include "preprocess_cuda.h"
#include "vlm/image.h"
#include "vlm/preprocess.h"

namespace vlm::gpu_test {
namespace {

std::vector<uint8_t> random_bytes(size_t n, uint32_t seed) {
  std::mt19937 rng(seed);
  std::uniform_int_distribution<int> byte(0, 255);
  std::vector<uint8_t> v(n);
  for (auto& b : v) b = static_cast<uint8_t>(byte(rng));
  return v;
}

struct HostFrame {
  std::vector<uint8_t> plane0, plane1;
  FrameView view;
};

HostFrame rgb_frame(int w, int h, uint32_t seed) {
  HostFrame f;
  const int stride = w * 3 + 5;
  f.plane0 = random_bytes(static_cast<size_t>(stride) * h, seed);
  f.view.format = PixelFormat::RGB;
  f.view.width = w;
  f.view.height = h;
  f.view.planes[0] = f.plane0.data();
  f.view.strides[0] = stride;
  return f;
}

HostFrame nv12_frame(int w, int h, uint32_t seed) {
  HostFrame f;
  const int luma_stride = w + 3, chroma_stride = (w + 1) / 2 * 2 + 7;
  f.plane0 = random_bytes(static_cast<size_t>(luma_stride) * h, seed);
  f.plane1 = random_bytes(static_cast<size_t>(chroma_stride) * ((h + 1) / 2), seed + 1000);
  f.view.format = PixelFormat::NV12;
  f.view.width = w;
  f.view.height = h;
  f.view.planes[0] = f.plane0.data();
  f.view.planes[1] = f.plane1.data();
  f.view.strides[0] = luma_stride;
  f.view.strides[1] = chroma_stride;
  return f;
}

void expect_identical(Backend& gpu, const cuda::DeviceVisionInput& f32,
                      const cuda::DeviceVisionInput& bf16, const VisionInput& cpu,
                      const std::string& what) {
  EXPECT_EQ(f32.grid.t, cpu.grid.t) << what;
  EXPECT_EQ(f32.grid.h, cpu.grid.h) << what;
  EXPECT_EQ(f32.grid.w, cpu.grid.w) << what;
  EXPECT_EQ(f32.second_per_grid_t, cpu.second_per_grid_t) << what;
  const std::vector<float> got = gpu.to_host_f32(f32.pixel_values);
  const std::vector<float> got_bf16 = gpu.to_host_f32(bf16.pixel_values);
  ASSERT_EQ(got.size(), cpu.pixel_values.size()) << what;
  ASSERT_EQ(got_bf16.size(), cpu.pixel_values.size()) << what;
  size_t bad = 0, bad_bf16 = 0;
  for (size_t i = 0; i < got.size(); ++i) {
    bad += std::memcmp(&got[i], &cpu.pixel_values[i], 4) != 0;
    bad_bf16 += got_bf16[i] != quantize_bf16(cpu.pixel_values[i]);
  }
  EXPECT_EQ(bad, 0u) << what << ": f32 values differing from the CPU";
  EXPECT_EQ(bad_bf16, 0u) << what << ": bf16 values differing from RNE(CPU)";
  std::printf("%s: %zu values, %zu f32 / %zu bf16 mismatches\n", what.c_str(), got.size(), bad,
              bad_bf16);
}

TEST(GpuPreprocess, ImagesMatchTheCpuPreprocessorBitForBit) {
  Backends b;
  auto& gpu = static_cast<cuda::CudaBackend&>(*b.gpu);
  PreprocessorConfig config;
  const int64_t unit = 28 * 28;
  struct Case {
    bool nv12;
    int w, h;
    int64_t min_pixels, max_pixels;
    int64_t processor_max;
  };
  const Case cases[] = {{false, 61, 47, 4 * unit, 5 * unit, config.max_pixels},
                        {false, 20, 31, 4 * unit, 16384 * unit, config.max_pixels},
                        {false, 60, 201, 4 * unit, 6 * unit, config.max_pixels},
                        {false, 57, 85, 4 * unit, 12 * unit, 4 * unit},
                        {true, 63, 45, 4 * unit, 6 * unit, config.max_pixels},
                        {true, 1280, 720, 4 * unit, 16384 * unit, config.max_pixels},
                        {false, 1001, 777, 4 * unit, 1280 * unit, config.max_pixels}};
  uint32_t seed = 1;
  for (const Case& c : cases) {
    PreprocessorConfig cfg = config;
    cfg.max_pixels = c.processor_max;
    const HostFrame frame = c.nv12 ? nv12_frame(c.w, c.h, seed++) : rgb_frame(c.w, c.h, seed++);
    const VisionInput cpu = preprocess_image(to_rgb8(frame.view), cfg, c.min_pixels, c.max_pixels);
    const auto f32 = cuda::preprocess_image_cuda(gpu, frame.view, cfg, c.min_pixels, c.max_pixels, DType::F32);
    const auto bf16 = cuda::preprocess_image_cuda(gpu, frame.view, cfg, c.min_pixels, c.max_pixels, DType::BF16);
    expect_identical(*b.gpu, f32, bf16, cpu,
                     std::string(c.nv12 ? "nv12 " : "rgb ") + std::to_string(c.w) + "x" + std::to_string(c.h));
  }
}

TEST(GpuPreprocess, VideoMatchesTheCpuPreprocessorBitForBit) {
  Backends b;
  auto& gpu = static_cast<cuda::CudaBackend&>(*b.gpu);
  PreprocessorConfig config;
  VideoSamplingOptions options;
  options.min_pixels = 2 * 28 * 28;
  options.total_pixels = 12 * 28 * 28;
  std::vector<HostFrame> frames;
  std::vector<FrameView> views;
  std::vector<ImageRgb8> rgb;
  for (int i = 0; i < 3; ++i) frames.push_back(nv12_frame(50, 33, 40 + i));
  for (const HostFrame& f : frames) {
    views.push_back(f.view);
    rgb.push_back(to_rgb8(f.view));
  }
  const VisionInput cpu = preprocess_video(rgb, 2.0, config, options);
  const auto f32 = cuda::preprocess_video_cuda(gpu, views, 2.0, config, options, DType::F32);
  const auto bf16 = cuda::preprocess_video_cuda(gpu, views, 2.0, config, options, DType::BF16);
  expect_identical(*b.gpu, f32, bf16, cpu, "nv12 video 3x50x33");
}

}  // namespace
}  // namespace vlm::gpu_test
