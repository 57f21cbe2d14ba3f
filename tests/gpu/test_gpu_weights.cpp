// CudaBackend weight bookkeeping (cuda/backend_cuda_weights.cpp): the optional K-padded matmul path
// (set_pad_unaligned_k: a zero-padded weight copy and a padded copy of x) must give the CPU
// reference's result like the plain path, at odd K (45, and the ViT MLP's 3420) and for a view of
// the weight's first rows; memory_stats() counts each live weight's bytes (with its padded copy)
// exactly and forgets them when the weight dies; an impossible allocation is OutOfMemory and leaves
// the backend usable. Tolerance as the other matmul tests: one bf16
// output rounding (rtol 2^-8) plus atol 1e-3·max|cpu| for f32 summation order.
#include <gtest/gtest.h>

#include "backend_cuda_impl.h"
#include "parity.h"

namespace vlm::gpu_test {
namespace {

TEST(GpuWeights, PaddedKMatmulMatchesTheCpu) {
  Backends b;
  auto& gpu = static_cast<cuda::CudaBackend&>(*b.gpu);
  struct Case {
    int64_t m, n, k, n_view;
  };
  const Case cases[] = {{3, 37, 45, 37}, {97, 1280, 3420, 1280}, {5, 64, 45, 20}};
  uint32_t seed = 300;
  for (const Case& c : cases) {
    const auto x = random_bf16(static_cast<size_t>(c.m * c.k), seed++);
    const auto w = random_bf16(static_cast<size_t>(c.n * c.k), seed++, -0.05f, 0.05f);
    const auto bias = random_bf16(static_cast<size_t>(c.n_view), seed++);
    gpu.set_pad_unaligned_k(true);
    const Tensor w_gpu = gpu.upload_weight(host_bf16(w, {c.n, c.k}));
    gpu.set_pad_unaligned_k(false);
    const Tensor w_view = w_gpu.slice_rows(0, c.n_view);
    Tensor cpu_y = b.cpu->alloc(DType::F32, {c.m, c.n_view});
    Tensor gpu_y = b.gpu->alloc(DType::BF16, {c.m, c.n_view});
    const Tensor w_cpu = b.cpu->upload_weight(host_bf16(w, {c.n, c.k})).slice_rows(0, c.n_view);
    b.cpu->matmul(b.cpu_act(x, {c.m, c.k}), w_cpu, b.cpu->upload_weight(host_bf16(bias, {c.n_view})),
                  cpu_y);
    b.gpu->matmul(b.gpu_act(x, {c.m, c.k}), w_view, b.gpu->upload_weight(host_bf16(bias, {c.n_view})),
                  gpu_y);
    expect_close(b.gpu->to_host_f32(gpu_y), b.cpu->to_host_f32(cpu_y), kBf16HalfUlp, 1e-3,
                 "padded-K matmul " + std::to_string(c.m) + "x" + std::to_string(c.n_view) + "x" +
                     std::to_string(c.k));
  }
}

TEST(GpuWeights, MemoryStatsCountLiveWeightsAndTheirPaddedCopies) {
  Backends b;
  auto& gpu = static_cast<cuda::CudaBackend&>(*b.gpu);
  const int64_t before = gpu.memory_stats().weight_bytes;
  EXPECT_TRUE(gpu.memory_stats().available);
  {
    gpu.set_pad_unaligned_k(true);
    const Tensor padded = gpu.upload_weight(host_bf16(random_bf16(37 * 45, 1), {37, 45}));
    gpu.set_pad_unaligned_k(false);
    const Tensor plain = gpu.upload_weight(host_bf16(random_bf16(16 * 8, 2), {16, 8}));
    EXPECT_EQ(gpu.memory_stats().weight_bytes - before, 37 * 45 * 2 + 37 * 48 * 2 + 16 * 8 * 2);
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

}  // namespace
}  // namespace vlm::gpu_test
