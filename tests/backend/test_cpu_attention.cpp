// CPU backend attention against naive double-precision softmax attention:
// - varlen: uneven segments (lengths 1, 97, 63, 1025 and a run of ViT-like 64-row windows),
//   head_dim 80 and 128, several thread counts;
// - causal GQA with a KV cache: ratios 1, 2, 7, prefill and decode (incl. the key-chunked decode
//   path), cache rows past n_past + n_new filled with NaN so reading them would show;
// - consistency: prefill in one shot == prefill in two parts == token-by-token decode;
// - large scores (no overflow) and the portable kernels with AVX2 switched off.
// Tolerance: 1e-5 of the largest output magnitude (2e-4 for the large-score test, see there).
#include <gtest/gtest.h>

#include <cmath>
#include <limits>

#include "backend_cpu/cpu_simd.h"
#include "naive_ops.h"
#include "vlm/error.h"

namespace vlm {
namespace {

constexpr double kTolerance = 1e-5;

void expect_varlen_matches(Backend& backend, const std::vector<int32_t>& cu, int64_t heads,
                           int64_t head_dim, uint32_t seed) {
  const int64_t rows = cu.back();
  SCOPED_TRACE(testing::Message() << "rows=" << rows << " heads=" << heads << " head_dim=" << head_dim);
  const size_t n = static_cast<size_t>(rows * heads * head_dim);
  // Spread of ±3 makes softmax peaked enough for the max subtraction to matter.
  auto q = test::random_values(n, seed, -3.0f, 3.0f);
  auto k = test::random_values(n, seed + 1, -3.0f, 3.0f);
  auto v = test::random_values(n, seed + 2);
  const float scale = 1.0f / std::sqrt(static_cast<float>(head_dim));
  std::vector<int64_t> shape = {rows, heads, head_dim};
  Tensor tq = backend.from_host_f32(q.data(), shape, DType::F32);
  Tensor tk = backend.from_host_f32(k.data(), shape, DType::F32);
  Tensor tv = backend.from_host_f32(v.data(), shape, DType::F32);
  Tensor out = backend.alloc(DType::F32, shape);
  backend.attention_varlen(tq, tk, tv, cu, scale, out);
  auto want = test::naive_attention_varlen(q, k, v, cu, heads, head_dim, scale);
  EXPECT_LE(test::relative_error(backend.to_host_f32(out), want), kTolerance);
}

TEST(CpuAttentionVarlen, UnevenSegmentsMatchNaive) {
  auto backend = make_cpu_backend(2);
  expect_varlen_matches(*backend, {0, 1, 98, 161, 1186}, 3, 80, 1);
  expect_varlen_matches(*backend, {0, 97, 98}, 2, 128, 2);
}

TEST(CpuAttentionVarlen, SingleSegmentOfOneRowIsItsValue) {
  auto backend = make_cpu_backend(2);
  expect_varlen_matches(*backend, {0, 1}, 16, 80, 3);
}

TEST(CpuAttentionVarlen, ManyWindowsAndAnyThreadCount) {
  std::vector<int32_t> cu = {0};
  for (int32_t len : {64, 64, 48, 64, 16, 64, 4, 64, 64, 32}) cu.push_back(cu.back() + len);
  for (int threads : {1, 3}) {
    SCOPED_TRACE(threads);
    auto backend = make_cpu_backend(threads);
    expect_varlen_matches(*backend, cu, 4, 80, 4);
  }
}

TEST(CpuAttentionVarlen, RejectsSegmentsNotCoveringTheRows) {
  auto backend = make_cpu_backend(1);
  Tensor q = backend->alloc(DType::F32, {10, 2, 8});
  Tensor out = backend->alloc(DType::F32, {10, 2, 8});
  std::vector<int32_t> short_cu = {0, 5, 9};
  EXPECT_THROW(backend->attention_varlen(q, q, q, short_cu, 1.0f, out), Error);
  std::vector<int32_t> decreasing = {0, 6, 5, 10};
  EXPECT_THROW(backend->attention_varlen(q, q, q, decreasing, 1.0f, out), Error);
}

struct CausalCase {
  int64_t n_past, n_new, heads, kv_heads, head_dim;
};

// Cache rows [0, n_past + n_new) are random, the rest NaN.
struct CausalData {
  std::vector<float> q, k_cache, v_cache;
};

CausalData make_causal_data(const CausalCase& c, int64_t capacity, uint32_t seed) {
  CausalData data;
  data.q = test::random_values(static_cast<size_t>(c.n_new * c.heads * c.head_dim), seed, -3.0f, 3.0f);
  const size_t filled = static_cast<size_t>((c.n_past + c.n_new) * c.kv_heads * c.head_dim);
  const size_t total = static_cast<size_t>(capacity * c.kv_heads * c.head_dim);
  data.k_cache = test::random_values(filled, seed + 1, -3.0f, 3.0f);
  data.v_cache = test::random_values(filled, seed + 2);
  data.k_cache.resize(total, std::numeric_limits<float>::quiet_NaN());
  data.v_cache.resize(total, std::numeric_limits<float>::quiet_NaN());
  return data;
}

std::vector<float> run_causal(Backend& backend, const std::vector<float>& q,
                              const Tensor& k_cache, const Tensor& v_cache, int64_t n_past,
                              int64_t n_new, int64_t heads, int64_t head_dim, float scale) {
  Tensor tq = backend.from_host_f32(q.data(), {n_new, heads, head_dim}, DType::F32);
  Tensor out = backend.alloc(DType::F32, {n_new, heads, head_dim});
  backend.attention_causal(tq, k_cache, v_cache, n_past, scale, out);
  return backend.to_host_f32(out);
}

void expect_causal_matches(Backend& backend, const CausalCase& c, uint32_t seed) {
  SCOPED_TRACE(testing::Message() << "n_past=" << c.n_past << " n_new=" << c.n_new << " heads="
                                  << c.heads << " kv_heads=" << c.kv_heads << " head_dim=" << c.head_dim);
  const int64_t capacity = c.n_past + c.n_new + 5;
  CausalData data = make_causal_data(c, capacity, seed);
  const float scale = 1.0f / std::sqrt(static_cast<float>(c.head_dim));
  std::vector<int64_t> cache_shape = {capacity, c.kv_heads, c.head_dim};
  Tensor k_cache = backend.from_host_f32(data.k_cache.data(), cache_shape, DType::F32);
  Tensor v_cache = backend.from_host_f32(data.v_cache.data(), cache_shape, DType::F32);
  auto got = run_causal(backend, data.q, k_cache, v_cache, c.n_past, c.n_new, c.heads, c.head_dim, scale);
  auto want = test::naive_attention_causal(data.q, data.k_cache, data.v_cache, c.n_new, c.heads,
                                           c.kv_heads, c.head_dim, c.n_past, scale);
  EXPECT_LE(test::relative_error(got, want), kTolerance);
}

TEST(CpuAttentionCausal, PrefillMatchesNaiveForGqaRatios) {
  auto backend = make_cpu_backend(2);
  expect_causal_matches(*backend, {0, 97, 3, 3, 80}, 10);     // ratio 1
  expect_causal_matches(*backend, {0, 1025, 2, 1, 128}, 11);  // ratio 2
  expect_causal_matches(*backend, {0, 97, 14, 2, 128}, 12);   // ratio 7
  expect_causal_matches(*backend, {0, 1, 7, 1, 80}, 13);      // single token
}

TEST(CpuAttentionCausal, ContinuationAfterCachedPrefixMatchesNaive) {
  auto backend = make_cpu_backend(2);
  expect_causal_matches(*backend, {300, 97, 4, 2, 128}, 20);
  expect_causal_matches(*backend, {65, 3, 7, 1, 80}, 21);
}

TEST(CpuAttentionCausal, DecodeMatchesNaiveIncludingKeyChunks) {
  for (int threads : {1, 2, 4}) {
    SCOPED_TRACE(threads);
    auto backend = make_cpu_backend(threads);
    expect_causal_matches(*backend, {1024, 1, 7, 1, 128}, 30);  // chunked for threads > 1
    expect_causal_matches(*backend, {600, 1, 4, 2, 80}, 31);
    expect_causal_matches(*backend, {5, 1, 2, 2, 128}, 32);
  }
}

TEST(CpuAttentionCausal, CachedPrefillAndDecodeEqualOneShot) {
  auto backend = make_cpu_backend(2);
  const int64_t n = 50, heads = 14, kv_heads = 2, head_dim = 128, capacity = 64;
  CausalData data = make_causal_data({0, n, heads, kv_heads, head_dim}, capacity, 40);
  const float scale = 1.0f / std::sqrt(static_cast<float>(head_dim));
  const std::vector<int64_t> cache_shape = {capacity, kv_heads, head_dim};
  const int64_t row = heads * head_dim;
  const int64_t kv_row = kv_heads * head_dim;

  Tensor k_full = backend->from_host_f32(data.k_cache.data(), cache_shape, DType::F32);
  Tensor v_full = backend->from_host_f32(data.v_cache.data(), cache_shape, DType::F32);
  auto one_shot = run_causal(*backend, data.q, k_full, v_full, 0, n, heads, head_dim, scale);

  // The caches filled progressively, as the decoder does: rows appear only when their turn comes.
  std::vector<float> nan_cache(static_cast<size_t>(capacity * kv_row), std::numeric_limits<float>::quiet_NaN());
  Tensor k_cache = backend->from_host_f32(nan_cache.data(), cache_shape, DType::F32);
  Tensor v_cache = backend->from_host_f32(nan_cache.data(), cache_shape, DType::F32);
  // copy_rows moves rows of the [capacity, kv_heads·head_dim] matrix view, as the decoder does.
  auto append = [&](int64_t row0, int64_t count) {
    Tensor k_dst = k_cache.reshape({capacity, kv_row});
    Tensor v_dst = v_cache.reshape({capacity, kv_row});
    backend->copy_rows(k_full.reshape({capacity, kv_row}), row0, k_dst, row0, count);
    backend->copy_rows(v_full.reshape({capacity, kv_row}), row0, v_dst, row0, count);
  };
  auto q_rows = [&](int64_t row0, int64_t count) {
    return std::vector<float>(data.q.begin() + row0 * row, data.q.begin() + (row0 + count) * row);
  };

  const int64_t prefix = 30;
  append(0, prefix);
  std::vector<float> stepwise = run_causal(*backend, q_rows(0, prefix), k_cache, v_cache, 0, prefix, heads, head_dim, scale);
  append(prefix, n - prefix);
  auto rest = run_causal(*backend, q_rows(prefix, n - prefix), k_cache, v_cache, prefix, n - prefix, heads, head_dim, scale);
  std::vector<float> two_parts = stepwise;
  two_parts.insert(two_parts.end(), rest.begin(), rest.end());
  EXPECT_LE(test::relative_error(two_parts, test::to_double(one_shot)), kTolerance);

  std::vector<float> decoded;
  for (int64_t i = 0; i < n; ++i) {
    auto step = run_causal(*backend, q_rows(i, 1), k_cache, v_cache, i, 1, heads, head_dim, scale);
    decoded.insert(decoded.end(), step.begin(), step.end());
  }
  EXPECT_LE(test::relative_error(decoded, test::to_double(one_shot)), kTolerance);
}

TEST(CpuAttention, GenericKernelsMatchNaiveToo) {
  cpu::set_simd_enabled(false);
  auto backend = make_cpu_backend(2);
  expect_varlen_matches(*backend, {0, 1, 98, 400}, 2, 80, 50);
  expect_causal_matches(*backend, {0, 97, 14, 2, 128}, 51);
  expect_causal_matches(*backend, {700, 1, 7, 1, 128}, 52);
  cpu::set_simd_enabled(true);
}

TEST(CpuAttentionVarlen, LargeScoresStayFinite) {
  // Scores of several hundred: exp without the running-max subtraction would overflow f32.
  auto backend = make_cpu_backend(2);
  const int64_t rows = 300, heads = 2, head_dim = 80;
  const size_t n = static_cast<size_t>(rows * heads * head_dim);
  auto q = test::random_values(n, 60, -3.0f, 3.0f);
  auto k = test::random_values(n, 61, -3.0f, 3.0f);
  auto v = test::random_values(n, 62);
  const std::vector<int32_t> cu = {0, rows};
  const float scale = 2.0f;
  std::vector<int64_t> shape = {rows, heads, head_dim};
  Tensor out = backend->alloc(DType::F32, shape);
  backend->attention_varlen(backend->from_host_f32(q.data(), shape, DType::F32),
                            backend->from_host_f32(k.data(), shape, DType::F32),
                            backend->from_host_f32(v.data(), shape, DType::F32), cu, scale, out);
  auto want = test::naive_attention_varlen(q, k, v, cu, heads, head_dim, scale);
  // f32 scores carry an absolute error of about |score|·2⁻²⁴·√head_dim (~3e-5 at |score| ≈ 300),
  // which becomes the relative error of the softmax weights: hence 2e-4 here.
  EXPECT_LE(test::relative_error(backend->to_host_f32(out), want), 2e-4);
}

TEST(CpuAttentionCausal, RejectsOverfullCacheAndBadGroups) {
  auto backend = make_cpu_backend(1);
  Tensor q = backend->alloc(DType::F32, {4, 6, 8});
  Tensor out = backend->alloc(DType::F32, {4, 6, 8});
  Tensor cache = backend->alloc(DType::F32, {10, 2, 8});
  EXPECT_THROW(backend->attention_causal(q, cache, cache, 7, 1.0f, out), Error);
  Tensor cache4 = backend->alloc(DType::F32, {10, 4, 8});
  EXPECT_THROW(backend->attention_causal(q, cache4, cache4, 0, 1.0f, out), Error);
}

}  // namespace
}  // namespace vlm
