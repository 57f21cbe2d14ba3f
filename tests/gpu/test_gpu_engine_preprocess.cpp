// GPU preprocessing wired into the engine (Engine::preprocess_video / preprocess_image on
// device=cuda: Backend::preprocess_*_on_device, cuda/preprocess_cuda.cpp). The device rows are the
// host preprocessor's floats rounded to bf16 (exactly), grids and second_per_grid_t equal the
// host's, and a request built from device rows — alone or mixed with host rows — generates what
// the same request from host rows generates on the same device (identical tokens; logits equal
// up to reduction order, 1e-5 of max|logit|). Raw NV12 frames (vlmdescribe's) give the rows of
// their to_rgb8 image.
#include <gtest/gtest.h>

#include <cuda_runtime_api.h>

#include <cstdio>
#include <random>
#include <span>
#include <vector>

#include "fixture_runs.h"
#include "vlm/backend.h"
#include "vlm/dtype.h"
#include "vlm/engine.h"
#include "vlm/error.h"
#include "vlm/image.h"
#include "vlm/preprocess.h"

namespace vlm {
namespace {

using testing::relative_to_max;

ImageRgb8 random_image(int width, int height, uint32_t seed) {
  std::mt19937 rng(seed);
  ImageRgb8 image;
  image.width = width;
  image.height = height;
  image.pixels.resize(static_cast<size_t>(width) * height * 3);
  // Smooth gradients plus noise: resizing has something to interpolate.
  for (int y = 0; y < height; ++y) {
    for (int x = 0; x < width; ++x) {
      for (int c = 0; c < 3; ++c) {
        const int value = (x * 255 / width + y * 97 / height + c * 40) + static_cast<int>(rng() % 32);
        image.pixels[(static_cast<size_t>(y) * width + x) * 3 + c] = static_cast<uint8_t>(value % 256);
      }
    }
  }
  return image;
}

std::unique_ptr<Engine> cuda_engine(bool device_preprocessing) {
  const auto runs = testing::list_runs();
  EngineOptions options;
  options.device = "cuda";
  options.max_context = 1024;
  options.device_preprocessing = device_preprocessing;
  return Engine::load(runs.front().checkpoint_dir, options);
}

// Reads the engine's device rows through a second backend on the same device (after the whole
// device is idle: the engine's stream may still be working on them).
void expect_device_rows_equal_host(const VisionInput& device, const VisionInput& host) {
  ASSERT_FALSE(device.device_pixel_values.empty()) << "the CUDA engine preprocessed on the host";
  EXPECT_TRUE(device.pixel_values.empty());
  EXPECT_EQ(device.grid.t, host.grid.t);
  EXPECT_EQ(device.grid.h, host.grid.h);
  EXPECT_EQ(device.grid.w, host.grid.w);
  EXPECT_EQ(device.second_per_grid_t, host.second_per_grid_t);
  ASSERT_EQ(cudaDeviceSynchronize(), cudaSuccess);
  auto reader = make_backend("cuda");
  const std::vector<float> values = reader->to_host_f32(device.device_pixel_values);
  ASSERT_EQ(values.size(), host.pixel_values.size());
  size_t mismatches = 0;
  for (size_t i = 0; i < values.size(); ++i) {
    mismatches += values[i] != bf16_to_f32(f32_to_bf16(host.pixel_values[i]));
  }
  EXPECT_EQ(mismatches, 0u) << "of " << values.size() << " values";
}

GenerateResult run(Engine& engine, std::vector<VisionItem> items) {
  GenerateRequest request;
  request.visions = std::move(items);
  request.prompt = "What happens?";
  request.sampling.max_new_tokens = 8;
  request.sampling.stop_ids = {-1};
  request.keep_logits = true;
  return engine.generate(request);
}

TEST(GpuEnginePreprocess, DeviceRowsAreTheHostRowsInBf16AndGenerateTheSame) {
  ASSERT_FALSE(testing::list_runs().empty()) << "no fixtures under VLM_FIXTURES";
  auto engine = cuda_engine(true);
  std::vector<ImageRgb8> frames;
  for (uint32_t i = 0; i < 5; ++i) frames.push_back(random_image(97, 61, i + 1));
  VideoSamplingOptions options;
  options.max_pixels = 56 * 56;
  options.min_pixels = 28 * 28;
  const VisionInput device_video = engine->preprocess_video(frames, 2.0, options);
  const VisionInput host_video = preprocess_video(frames, 2.0, engine->preprocessor(), options);
  expect_device_rows_equal_host(device_video, host_video);
  const ImageRgb8 image = random_image(150, 83, 9);
  const VisionInput device_image = engine->preprocess_image(image, 28 * 28, 84 * 84);
  const VisionInput host_image = preprocess_image(image, engine->preprocessor(), 28 * 28, 84 * 84);
  expect_device_rows_equal_host(device_image, host_image);

  // Device rows against the host rows rounded to bf16, through a request each: with the video
  // alone, and with an image from each path (rows of both kinds in one encoder call).
  const auto item = [](VisionInput input, bool video) {
    VisionItem it;
    it.input = std::move(input);
    it.is_video = video;
    return it;
  };
  const GenerateResult from_device = run(*engine, {item(device_video, true)});
  const GenerateResult from_host = run(*engine, {item(host_video, true)});
  EXPECT_EQ(from_device.generated_ids, from_host.generated_ids);
  EXPECT_LE(relative_to_max(from_device.logits, from_host.logits), 1e-5);
  const GenerateResult mixed = run(*engine, {item(device_image, false), item(host_image, false)});
  const GenerateResult both_host = run(*engine, {item(host_image, false), item(host_image, false)});
  EXPECT_EQ(mixed.generated_ids, both_host.generated_ids);
  EXPECT_LE(relative_to_max(mixed.logits, both_host.logits), 1e-5);
  std::printf("[ figure ] engine GPU preprocessing: video grid %lldx%lldx%lld, image grid "
              "%lldx%lldx%lld; device vs host rows: tokens identical, logits rel diff %.3g / %.3g\n",
              (long long)device_video.grid.t, (long long)device_video.grid.h,
              (long long)device_video.grid.w, (long long)device_image.grid.t,
              (long long)device_image.grid.h, (long long)device_image.grid.w,
              relative_to_max(from_device.logits, from_host.logits),
              relative_to_max(mixed.logits, both_host.logits));
}

// NV12 frames as vlmdescribe holds them (RawFrame copies; odd size, chroma rounded up) go to the
// device as they are; the rows equal the host path's: to_rgb8, then the host preprocessor. An I420
// frame (converted on the host first) also passes.
TEST(GpuEnginePreprocess, RawNv12FramesGiveTheHostRowsOfTheirRgb) {
  ASSERT_FALSE(testing::list_runs().empty());
  auto engine = cuda_engine(true);
  const int width = 99, height = 57, chroma_row = 100;
  std::mt19937 rng(11);
  std::vector<RawFrame> held;
  std::vector<ImageRgb8> rgb;
  for (int f = 0; f < 4; ++f) {
    std::vector<uint8_t> luma(static_cast<size_t>(width) * height), chroma(static_cast<size_t>(chroma_row) * 29);
    for (size_t i = 0; i < luma.size(); ++i) luma[i] = static_cast<uint8_t>(16 + (i * 3 + f * 17) % 220 + rng() % 8);
    for (uint8_t& c : chroma) c = static_cast<uint8_t>(96 + rng() % 64);
    FrameView v;
    v.format = PixelFormat::NV12;
    v.width = width;
    v.height = height;
    v.planes[0] = luma.data();
    v.strides[0] = width;
    v.planes[1] = chroma.data();
    v.strides[1] = chroma_row;
    held.push_back(RawFrame::copy_of(v));
    rgb.push_back(to_rgb8(v));
  }
  std::vector<FrameView> views;
  for (const RawFrame& frame : held) views.push_back(frame.view());
  VideoSamplingOptions options;
  options.min_pixels = 28 * 28;
  options.max_pixels = 84 * 56;
  const VisionInput device_video = engine->preprocess_video(std::span<const FrameView>(views), 2.0, options);
  expect_device_rows_equal_host(device_video, preprocess_video(rgb, 2.0, engine->preprocessor(), options));
  const VisionInput device_image = engine->preprocess_image(views[3], 28 * 28, 84 * 84);
  expect_device_rows_equal_host(device_image, preprocess_image(rgb[3], engine->preprocessor(), 28 * 28, 84 * 84));

  std::vector<uint8_t> y(64 * 48, 120), u(32 * 24, 90), v(32 * 24, 170);
  FrameView i420;
  i420.format = PixelFormat::I420;
  i420.width = 64;
  i420.height = 48;
  i420.planes[0] = y.data(), i420.strides[0] = 64;
  i420.planes[1] = u.data(), i420.strides[1] = 32;
  i420.planes[2] = v.data(), i420.strides[2] = 32;
  expect_device_rows_equal_host(engine->preprocess_image(i420),
                                preprocess_image(to_rgb8(i420), engine->preprocessor()));
}

TEST(GpuEnginePreprocess, TheOptionKeepsTheHostPath) {
  ASSERT_FALSE(testing::list_runs().empty());
  auto engine = cuda_engine(false);
  const ImageRgb8 image = random_image(64, 64, 3);
  const VisionInput input = engine->preprocess_image(image);
  EXPECT_TRUE(input.device_pixel_values.empty());
  EXPECT_EQ(input.pixel_values, preprocess_image(image, engine->preprocessor()).pixel_values);
}

TEST(GpuEnginePreprocess, DeviceRowsThatDoNotMatchTheGridAreRefused) {
  ASSERT_FALSE(testing::list_runs().empty());
  auto engine = cuda_engine(true);
  VisionInput input = engine->preprocess_image(random_image(64, 64, 4));
  input.grid.h += 2;  // the rows no longer match
  VisionItem a, b;
  a.input = input;
  b.input = engine->preprocess_image(random_image(64, 64, 5));
  try {
    run(*engine, {a, b});
    FAIL() << "no error";
  } catch (const Error& error) {
    EXPECT_EQ(error.code(), ErrorCode::InvalidInput) << error.what();
  }
}

}  // namespace
}  // namespace vlm
