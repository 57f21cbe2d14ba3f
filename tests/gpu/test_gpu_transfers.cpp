// CUDA backend transfers: bf16 activations and weights round-trip exactly, and F32/F16 weights are
// converted to bf16 on upload with round-to-nearest-even, bit-identical to vlm::f32_to_bf16 (the
// host rule that matches PyTorch's .to(torch.bfloat16)). Large uploads cross the chunk boundary.
#include <gtest/gtest.h>

#include "parity.h"

namespace vlm::gpu_test {
namespace {

TEST(GpuTransfers, Bf16ValuesRoundTripExactly) {
  Backends b;
  const auto v = random_bf16(1025 * 3, 1, -100.0f, 100.0f);
  EXPECT_EQ(b.gpu->to_host_f32(b.gpu_act(v, {1025, 3})), v);
  EXPECT_EQ(b.gpu->to_host_f32(b.gpu->upload_weight(host_bf16(v, {1025, 3}))), v);
}

TEST(GpuTransfers, F32WeightsBecomeBf16RoundToNearestEven) {
  Backends b;
  // 9 Mi values: more than one 8 Mi-element upload chunk.
  const size_t n = size_t{9} << 20;
  std::vector<float> values(n);
  std::mt19937 rng(2);
  std::normal_distribution<float> dist(0.0f, 3.0f);
  for (float& v : values) v = dist(rng);
  values[0] = 1.0f + 1.0f / 256.0f;  // exactly halfway between two bf16 values: rounds to even
  Tensor uploaded = b.gpu->upload_weight(host_f32(values, {static_cast<int64_t>(n)}));
  EXPECT_EQ(uploaded.dtype(), DType::BF16);
  const auto got = b.gpu->to_host_f32(uploaded);
  size_t mismatches = 0;
  for (size_t i = 0; i < n; ++i) mismatches += got[i] != quantize_bf16(values[i]);
  EXPECT_EQ(mismatches, 0u);
  EXPECT_EQ(got[0], 1.0f);
}

TEST(GpuTransfers, F16WeightsBecomeBf16) {
  Backends b;
  std::vector<uint16_t> halves = {0x3c00, 0xc000, 0x3555, 0x7bff};  // 1, -2, 0.33325, 65504
  auto owner = std::make_shared<std::vector<uint16_t>>(halves);
  Tensor host(owner->data(), DType::F16, {4}, owner);
  const auto got = b.gpu->to_host_f32(b.gpu->upload_weight(host));
  for (size_t i = 0; i < halves.size(); ++i) EXPECT_EQ(got[i], quantize_bf16(f16_to_f32(halves[i])));
}

TEST(GpuTransfers, F32ActivationsRoundTripExactly) {
  Backends b;
  const std::vector<float> v = {0.1f, -3.75f, 1e-20f, 65504.0f, 123456.789f};
  EXPECT_EQ(b.gpu->to_host_f32(b.gpu->from_host_f32(v.data(), {5}, DType::F32)), v);
}

}  // namespace
}  // namespace vlm::gpu_test
