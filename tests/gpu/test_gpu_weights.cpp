// Weights on the CUDA backend: the vision MLP's width padded to 8 at load time (the backend's
// matmul_width_multiple, for cuBLASLt's aligned GEMMs) must give the unpadded encoder's output;
// VLM_CUDA_PAD_K=0 turns it off and another value is refused; the vision encoder on joined
// weights (the default) gives the output of weights kept apart (VLM_CUDA_JOIN=0; other values
// refused); the vision MLP over row blocks (set_row_blocks, VLM_CUDA_MLP_ROWS=off|l2|N; other values
// refused) gives the whole run's output; memory_stats() counts each live weight's bytes exactly and forgets them when the
// weight dies; an impossible allocation is OutOfMemory and leaves the backend usable;
// VLM_CUDA_POISON=1 hands out NaN-filled tensors.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <string>

#include "backend_cuda_impl.h"
#include "parity.h"
#include "vision/vision_weights.h"
#include "vlm/checkpoint.h"
#include "vlm/config.h"
#include "vlm/vision_encoder.h"

namespace vlm::gpu_test {
namespace {

namespace fs = std::filesystem;

fs::path fixture_models_dir() {
  const char* root = std::getenv("VLM_FIXTURES");
  return fs::path(root != nullptr ? root : "tests/fixtures") / "models";
}

TEST(GpuWeights, VisionMlpIsPaddedToEightAndGivesTheUnpaddedOutput) {
  // tiny-c's vision intermediate is 100: the CUDA backend asks for 104 (zero rows and columns),
  // which must give the unpadded encoder's output up to the summation order of the GEMMs.
  Backends b;
  EXPECT_EQ(b.gpu->matmul_width_multiple(), 8);
  EXPECT_EQ(b.cpu->matmul_width_multiple(), 1);
  const fs::path dir = fixture_models_dir() / "tiny-c";
  const ModelConfig config = load_model_config(dir / "config.json");
  ASSERT_NE(config.vision.intermediate_size % 8, 0) << "tiny-c no longer tests the padding";
  const Checkpoint checkpoint = Checkpoint::open(dir);
  VisionEncoder padded(config, checkpoint, *b.gpu);
  VisionEncoder unpadded(config, checkpoint, *b.gpu, VisionEncoderOptions{.mlp_width_multiple = 1});
  const std::vector<GridThw> grids = {{1, 4, 6}, {2, 8, 4}};
  const int64_t patch_dim = config.vision.in_channels * config.vision.temporal_patch_size *
                            config.vision.patch_size * config.vision.patch_size;
  const auto pixels = random_bf16(static_cast<size_t>((24 + 64) * patch_dim), 11);
  const auto a = b.gpu->to_host_f32(padded.encode(pixels, grids));
  const auto c = b.gpu->to_host_f32(unpadded.encode(pixels, grids));
  ASSERT_EQ(a.size(), c.size());
  // Both round the same bf16 intermediates; only GEMM summation order may differ.
  expect_close(a, c, 2 * kBf16HalfUlp, 1e-2, "vision encoder, MLP 104 vs 100");
}

TEST(GpuWeights, PadKEnvironmentTurnsThePaddingOffOrIsRefused) {
  ASSERT_EQ(setenv("VLM_CUDA_PAD_K", "0", 1), 0);
  EXPECT_EQ(cuda::make_cuda_backend(0)->matmul_width_multiple(), 1);
  expect_env_refused("VLM_CUDA_PAD_K", "yes", "VLM_CUDA_PAD_K=yes: expected 1 or 0");
  EXPECT_EQ(cuda::make_cuda_backend(0)->matmul_width_multiple(), 8);
}

TEST(GpuWeights, VisionEncoderJoinedOrApartGivesTheSameOutput) {
  // Joined (the default: q|k|v as one GEMM read in place by the attention, gate|up joined at load)
  // or apart (set_join_weights(false), as VLM_CUDA_JOIN=0): the same encoder output up to the
  // GEMMs' summation order, on tiny-c (images and a video grid).
  Backends b;
  auto& gpu = dynamic_cast<cuda::CudaBackend&>(*b.gpu);
  const fs::path dir = fixture_models_dir() / "tiny-c";
  const ModelConfig config = load_model_config(dir / "config.json");
  const Checkpoint checkpoint = Checkpoint::open(dir);
  ASSERT_TRUE(gpu.join_weights()) << "joining is the default";
  EXPECT_FALSE(load_vision_weights(config.vision, checkpoint, gpu, 8).blocks.front().gate_up_weight.empty());
  VisionEncoder joined(config, checkpoint, gpu);
  gpu.set_join_weights(false);
  EXPECT_TRUE(load_vision_weights(config.vision, checkpoint, gpu, 8).blocks.front().gate_up_weight.empty());
  VisionEncoder apart(config, checkpoint, gpu);
  gpu.set_join_weights(true);
  const std::vector<GridThw> grids = {{1, 4, 6}, {2, 8, 4}};
  const int64_t patch_dim = config.vision.in_channels * config.vision.temporal_patch_size *
                            config.vision.patch_size * config.vision.patch_size;
  const auto pixels = random_bf16(static_cast<size_t>((24 + 64) * patch_dim), 12);
  expect_close(gpu.to_host_f32(joined.encode(pixels, grids)), gpu.to_host_f32(apart.encode(pixels, grids)),
               2 * kBf16HalfUlp, 1e-2, "vision encoder, joined vs apart");
}

TEST(GpuWeights, VisionMlpRowBlocksGiveTheWholeRunsOutput) {
  // set_row_blocks(16) (as VLM_CUDA_MLP_ROWS=16): the MLP, the residual add and the next norm run
  // over 16-row blocks; the output is the whole run's up to the GEMMs' summation order.
  Backends b;
  auto& gpu = dynamic_cast<cuda::CudaBackend&>(*b.gpu);
  EXPECT_EQ(gpu.preferred_row_block(1 << 14), 0) << "off by default";
  const fs::path dir = fixture_models_dir() / "tiny-c";
  const ModelConfig config = load_model_config(dir / "config.json");
  const Checkpoint checkpoint = Checkpoint::open(dir);
  VisionEncoder encoder(config, checkpoint, gpu);
  const std::vector<GridThw> grids = {{1, 4, 6}, {2, 8, 4}};
  const int64_t patch_dim = config.vision.in_channels * config.vision.temporal_patch_size *
                            config.vision.patch_size * config.vision.patch_size;
  const auto pixels = random_bf16(static_cast<size_t>((24 + 64) * patch_dim), 13);
  const auto whole = gpu.to_host_f32(encoder.encode(pixels, grids));
  gpu.set_row_blocks(16);
  EXPECT_EQ(gpu.preferred_row_block(1 << 14), 16);
  const auto blocked = gpu.to_host_f32(encoder.encode(pixels, grids));
  gpu.set_row_blocks(0);
  expect_close(blocked, whole, 2 * kBf16HalfUlp, 1e-2, "vision encoder, 16-row MLP blocks vs whole");
}

TEST(GpuWeights, MlpRowsEnvironmentSetsTheRowBlocksOrIsRefused) {
  ASSERT_EQ(setenv("VLM_CUDA_MLP_ROWS", "l2", 1), 0);
  {
    // Half the L2 over the bytes per row, in multiples of 128 rows, at least 128.
    const auto backend = cuda::make_cuda_backend(0);
    cudaDeviceProp prop{};
    ASSERT_EQ(cudaGetDeviceProperties(&prop, 0), cudaSuccess);
    const int64_t half_l2 = prop.l2CacheSize / 2;
    ASSERT_GT(half_l2, 0);
    EXPECT_EQ(backend->preferred_row_block(half_l2), 128) << "one row fills half the L2";
    EXPECT_EQ(backend->preferred_row_block(half_l2 / 300), 256);
    EXPECT_EQ(backend->preferred_row_block(half_l2 / 1000), 896);
  }
  ASSERT_EQ(setenv("VLM_CUDA_MLP_ROWS", "512", 1), 0);
  EXPECT_EQ(cuda::make_cuda_backend(0)->preferred_row_block(1 << 14), 512);
  ASSERT_EQ(setenv("VLM_CUDA_MLP_ROWS", "off", 1), 0);
  EXPECT_EQ(cuda::make_cuda_backend(0)->preferred_row_block(1 << 14), 0);
  expect_env_refused("VLM_CUDA_MLP_ROWS", "0", "VLM_CUDA_MLP_ROWS=0: expected off, l2 or a positive row count");
  expect_env_refused("VLM_CUDA_MLP_ROWS", "12x", "VLM_CUDA_MLP_ROWS=12x: expected off, l2 or a positive row count");
  EXPECT_EQ(cuda::make_cuda_backend(0)->preferred_row_block(1 << 14), 0);
}

TEST(GpuWeights, JoinEnvironmentKeepsWeightsApartOrIsRefused) {
  const auto parts = [] {
    static const std::vector<float> values(16, 0.5f);
    return std::vector<Tensor>{host_f32(values, {2, 8}), host_f32(values, {2, 8})};
  };
  ASSERT_EQ(setenv("VLM_CUDA_JOIN", "0", 1), 0);
  EXPECT_TRUE(cuda::make_cuda_backend(0)->upload_weights_concat(parts()).empty());
  expect_env_refused("VLM_CUDA_JOIN", "yes", "VLM_CUDA_JOIN=yes: expected 1 or 0");
  EXPECT_EQ(cuda::make_cuda_backend(0)->upload_weights_concat(parts()).rows(), 4);
}

TEST(GpuWeights, MemoryStatsCountLiveWeights) {
  Backends b;
  auto& gpu = *b.gpu;
  const int64_t before = gpu.memory_stats().weight_bytes;
  EXPECT_TRUE(gpu.memory_stats().available);
  {
    const Tensor odd = gpu.upload_weight(host_bf16(random_bf16(37 * 45, 1), {37, 45}));
    const Tensor plain = gpu.upload_weight(host_bf16(random_bf16(16 * 8, 2), {16, 8}));
    EXPECT_EQ(gpu.memory_stats().weight_bytes - before, 37 * 45 * 2 + 16 * 8 * 2);
    EXPECT_GE(gpu.memory_stats().peak_in_use_bytes, gpu.memory_stats().in_use_bytes);
  }
  EXPECT_EQ(gpu.memory_stats().weight_bytes, before);
}

TEST(GpuWeights, AllocationBeyondTheDeviceIsOutOfMemoryAndTheBackendStaysUsable) {
  // 1 PiB: more than any GPU has. The pool returns its cache, retries once, then throws
  // OutOfMemory (a non-sticky error: the context, stream and pool must keep working).
  Backends b;
  const auto values = random_bf16(1000, 7);
  const Tensor kept = b.gpu_act(values, {10, 100});
  try {
    b.gpu->alloc(DType::U8, {int64_t{1} << 50});
    ADD_FAILURE() << "a 1 PiB device allocation succeeded";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::OutOfMemory) << e.what();
  }
  EXPECT_EQ(b.gpu->to_host_f32(kept), values);
  EXPECT_EQ(b.gpu->to_host_f32(b.gpu_act(values, {1000})), values);
}

// VLM_CUDA_POISON=1: a reused pool block comes back as NaN (bf16) instead of its old values,
// which it keeps without the option; any other value is refused by name.
TEST(GpuWeights, PoisonOptionFillsEveryAllocationWithNaN) {
  const auto values = random_bf16(1000, 9);
  const auto reused_after = [&](Backend& gpu) {
    const void* first = nullptr;
    {
      const Tensor written = gpu.from_host_f32(values.data(), {1000}, DType::BF16);
      first = written.data();
    }
    Tensor again = gpu.alloc(DType::BF16, {1000});  // the pool hands the same block back
    EXPECT_EQ(again.data(), first) << "the pool did not reuse the block; the test shows nothing";
    return gpu.to_host_f32(again);
  };
  EXPECT_EQ(reused_after(*cuda::make_cuda_backend(0)), values) << "without the option: the old values";
  ASSERT_EQ(setenv("VLM_CUDA_POISON", "1", 1), 0);
  auto poisoning = cuda::make_cuda_backend(0);
  for (float v : reused_after(*poisoning)) ASSERT_TRUE(std::isnan(v)) << v;
  expect_env_refused("VLM_CUDA_POISON", "yes", "VLM_CUDA_POISON=yes: expected 0 or 1");
}

}  // namespace
}  // namespace vlm::gpu_test
