// Attention parity of the CUDA backend against the CPU reference, same inputs (bf16-valued):
// - varlen bidirectional segments (ViT window/full attention): head_dim 80 and 128, totals 1, 97
//   and 1025 rows, an empty segment, segments not multiples of the 16-row tile;
// - causal GQA against a KV cache (head_dim 128, 3B's 16/2 and 7B's 28/4 heads): prefill from 0,
//   chunked prefill after n_past, and single-token decode with long caches (the split-K path),
//   with garbage beyond the filled cache rows that must not leak into the result.
// Tolerance: the output is one bf16 rounding of an f32 result → rtol 2^-8, atol 1e-3·max|cpu|.
#include <gtest/gtest.h>

#include <cmath>

#include "parity.h"

namespace vlm::gpu_test {
namespace {

constexpr double kAtol = 1e-3;

struct VarlenCase {
  std::vector<int32_t> cu_seqlens;
  int64_t heads, head_dim;
};

TEST(GpuAttention, VarlenMatchesCpu) {
  Backends b;
  const VarlenCase cases[] = {
      {{0, 1}, 16, 80},
      {{0, 40, 97}, 16, 80},
      {{0, 64, 64, 577, 1025}, 16, 80},  // includes an empty segment
      {{0, 1025}, 16, 80},               // one full-attention segment
      {{0, 33, 97}, 4, 128},
      {{0, 17, 1025}, 2, 64},            // a generic head_dim
  };
  uint32_t seed = 100;
  for (const VarlenCase& c : cases) {
    const int64_t total = c.cu_seqlens.back();
    const std::vector<int64_t> shape = {total, c.heads, c.head_dim};
    const size_t n = static_cast<size_t>(total * c.heads * c.head_dim);
    const auto q = random_bf16(n, seed++, -2.0f, 2.0f), k = random_bf16(n, seed++, -2.0f, 2.0f);
    const auto v = random_bf16(n, seed++);
    const float scale = 1.0f / std::sqrt(static_cast<float>(c.head_dim));
    Tensor cpu_out = b.cpu->alloc(DType::F32, shape), gpu_out = b.gpu->alloc(DType::BF16, shape);
    b.cpu->attention_varlen(b.cpu_act(q, shape), b.cpu_act(k, shape), b.cpu_act(v, shape),
                            c.cu_seqlens, scale, cpu_out);
    b.gpu->attention_varlen(b.gpu_act(q, shape), b.gpu_act(k, shape), b.gpu_act(v, shape),
                            c.cu_seqlens, scale, gpu_out);
    expect_close(b.gpu->to_host_f32(gpu_out), b.cpu->to_host_f32(cpu_out), kBf16HalfUlp, kAtol,
                 "varlen rows=" + std::to_string(total) + " segments=" +
                     std::to_string(c.cu_seqlens.size() - 1) + " heads=" + std::to_string(c.heads) +
                     " head_dim=" + std::to_string(c.head_dim));
  }
}

struct CausalCase {
  int64_t n_past, n_new, heads, kv_heads, head_dim, capacity;
};

TEST(GpuAttention, CausalGqaMatchesCpu) {
  Backends b;
  const CausalCase cases[] = {
      {0, 1, 16, 2, 128, 8},        // first token
      {0, 97, 16, 2, 128, 128},     // 3B prefill
      {0, 1025, 28, 4, 128, 1100},  // 7B prefill past a 1024 boundary
      {500, 97, 28, 4, 128, 700},   // chunked prefill after a cached prefix
      {96, 1, 16, 2, 128, 128},     // decode, short cache
      {1024, 1, 28, 4, 128, 1040},  // decode, long cache: split across blocks
      {4000, 1, 16, 2, 128, 4096},  // decode, longer cache
      {300, 5, 28, 4, 128, 320},    // a few new tokens (speculative-style)
  };
  uint32_t seed = 200;
  for (const CausalCase& c : cases) {
    const std::vector<int64_t> q_shape = {c.n_new, c.heads, c.head_dim};
    const std::vector<int64_t> cache_shape = {c.capacity, c.kv_heads, c.head_dim};
    const size_t cache_n = static_cast<size_t>(c.capacity * c.kv_heads * c.head_dim);
    const auto q = random_bf16(static_cast<size_t>(c.n_new * c.heads * c.head_dim), seed++, -2.0f, 2.0f);
    auto k = random_bf16(cache_n, seed++, -2.0f, 2.0f);
    auto v = random_bf16(cache_n, seed++);
    // Rows past n_past + n_new are not part of the sequence: make any leak obvious.
    const size_t filled = static_cast<size_t>((c.n_past + c.n_new) * c.kv_heads * c.head_dim);
    for (size_t i = filled; i < cache_n; ++i) {
      k[i] = 50.0f;
      v[i] = 1000.0f;
    }
    const float scale = 1.0f / std::sqrt(static_cast<float>(c.head_dim));
    Tensor cpu_out = b.cpu->alloc(DType::F32, q_shape), gpu_out = b.gpu->alloc(DType::BF16, q_shape);
    b.cpu->attention_causal(b.cpu_act(q, q_shape), b.cpu_act(k, cache_shape),
                            b.cpu_act(v, cache_shape), c.n_past, scale, cpu_out);
    b.gpu->attention_causal(b.gpu_act(q, q_shape), b.gpu_act(k, cache_shape),
                            b.gpu_act(v, cache_shape), c.n_past, scale, gpu_out);
    expect_close(b.gpu->to_host_f32(gpu_out), b.cpu->to_host_f32(cpu_out), kBf16HalfUlp, kAtol,
                 "causal n_past=" + std::to_string(c.n_past) + " n_new=" + std::to_string(c.n_new) +
                     " heads=" + std::to_string(c.heads) + "/" + std::to_string(c.kv_heads));
  }
}

TEST(GpuAttention, RejectsHeadDimBeyondKernelLimit) {
  Backends b;
  const std::vector<int64_t> shape = {4, 1, 256};
  Tensor t = b.gpu->alloc(DType::BF16, shape);
  const std::vector<int32_t> cu = {0, 4};
  try {
    b.gpu->attention_varlen(t, t, t, cu, 1.0f, t);
    ADD_FAILURE() << "head_dim 256 accepted";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::Unsupported) << e.what();
  }
}

}  // namespace
}  // namespace vlm::gpu_test
