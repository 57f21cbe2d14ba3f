// Attention parity of the CUDA backend against the CPU reference, same inputs (bf16-valued):
// - varlen bidirectional segments (ViT window/full attention): head_dim 80 and 128, totals 1, 97
//   and 1025 rows, an empty segment, segments not multiples of the 16-row tile;
// - causal GQA against a KV cache (head_dim 128, 3B's 16/2 and 7B's 28/4 heads): prefill from 0,
//   chunked prefill after n_past, and single-token decode with long caches (the split-K path),
//   with garbage beyond the filled cache rows that must not leak into the result;
// - each kernel forced by VLM_CUDA_ATTENTION (simt: CUDA cores; mma: tensor cores through WMMA;
//   flash: tensor cores with the softmax in registers) on the shapes the automatic choice gives
//   to the others;
// - Auto's measured choice: one measurement per kind of call, the fastest kept (or the default
//   within the margin), none during a capture, none for decode-sized calls;
// - split-K merged in the CUDA-core kernel itself equal, bit for bit, to the combine kernel's;
// - the ViT's rope inside each tensor-core kernel equal, bit for bit, to rope then attention on
//   that kernel, and on joined q|k|v rows read in place equal, bit for bit, to the same op on the
//   parts.
// Tolerance: the output is one bf16 rounding of an f32 result → rtol 2^-8, atol 1e-3·max|cpu|,
// plus 2^-9·max|v| for the tensor-core kernels' bf16 probabilities (kernels/attention_mma.cu, as
// FlashAttention and PyTorch's bf16 SDPA): each weight is off by ≤ 2^-9 relative, so an output
// moves by ≤ 2^-9·Σ w·|v − out|, which reaches ~2^-10·max|v| where a few keys dominate a row
// (seen in the emulation: 1e-3 at outputs of 0.01, beyond the f32 kernel's atol). The term
// applies to both kernels: the test does not re-derive the backend's choice.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "backend_cuda_impl.h"
#include "parity.h"

namespace vlm::gpu_test {
namespace {

constexpr double kAtol = 1e-3;

// The atol factor (of max|cpu|) for an attention output: kAtol + 2^-9·max|v| / max|cpu|.
double attention_atol(const std::vector<float>& v, const std::vector<float>& cpu) {
  double max_v = 0.0, max_cpu = 0.0;
  for (float x : v) max_v = std::max(max_v, std::abs(static_cast<double>(x)));
  for (float x : cpu) max_cpu = std::max(max_cpu, std::abs(static_cast<double>(x)));
  return max_cpu > 0.0 ? kAtol + max_v / 512.0 / max_cpu : kAtol;
}

struct VarlenCase {
  std::vector<int32_t> cu_seqlens;
  int64_t heads, head_dim;
};

void check_varlen(Backends& b, const VarlenCase& c, uint32_t& seed, const std::string& label) {
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
  const std::vector<float> cpu = b.cpu->to_host_f32(cpu_out);
  expect_close(b.gpu->to_host_f32(gpu_out), cpu, kBf16HalfUlp, attention_atol(v, cpu),
               label + "varlen rows=" + std::to_string(total) + " segments=" +
                   std::to_string(c.cu_seqlens.size() - 1) + " heads=" + std::to_string(c.heads) +
                   " head_dim=" + std::to_string(c.head_dim));
}

// The ViT-shaped cases of the rope-on-load and joined-rows tests: window-sized and frame-sized
// segments, one row, rows not a multiple of the tile; head_dim 80, 128, and 40 (rotated element by
// element).
const VarlenCase kVitCases[] = {{{0, 64, 128, 192, 256}, 16, 80}, {{0, 1}, 2, 80}, {{0, 40, 97}, 4, 128},
                                {{0, 1025}, 2, 80}, {{0, 70}, 2, 40}};

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
  for (const VarlenCase& c : cases) check_varlen(b, c, seed, "");
}

struct CausalCase {
  int64_t n_past, n_new, heads, kv_heads, head_dim, capacity;
};

void check_causal(Backends& b, const CausalCase& c, uint32_t& seed, const std::string& label) {
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
  // The sequence's values only (rows past n_past + n_new hold the 1000s above).
  const std::vector<float> seq_v(v.begin(), v.begin() + static_cast<std::ptrdiff_t>(filled));
  const std::vector<float> cpu = b.cpu->to_host_f32(cpu_out);
  expect_close(b.gpu->to_host_f32(gpu_out), cpu, kBf16HalfUlp, attention_atol(seq_v, cpu),
               label + "causal n_past=" + std::to_string(c.n_past) + " n_new=" +
                   std::to_string(c.n_new) + " heads=" + std::to_string(c.heads) + "/" +
                   std::to_string(c.kv_heads) + " head_dim=" + std::to_string(c.head_dim));
}

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
  for (const CausalCase& c : cases) check_causal(b, c, seed, "");
}

// VLM_CUDA_ATTENTION forces one kernel for every call (A/B on a GPU): each must hold the same
// tolerance on the shapes the automatic choice gives to the others (the CUDA-core kernel on
// varlen and prefill, the tensor-core kernels on decode with their split-K partials).
TEST(GpuAttention, EachForcedKernelMatchesCpu) {
  for (const char* kernel : {"simt", "mma", "flash"}) {
    ASSERT_EQ(setenv("VLM_CUDA_ATTENTION", kernel, 1), 0);
    Backends b;
    unsetenv("VLM_CUDA_ATTENTION");
    const std::string label = std::string(kernel) + ": ";
    uint32_t seed = 300;
    check_varlen(b, {{0, 40, 97}, 4, 80}, seed, label);
    check_varlen(b, {{0, 17, 150}, 2, 64}, seed, label);
    check_causal(b, {0, 97, 16, 2, 128, 128}, seed, label);
    check_causal(b, {200, 33, 28, 4, 128, 240}, seed, label);
    check_causal(b, {1024, 1, 28, 4, 128, 1040}, seed, label);  // split-K decode
    check_causal(b, {300, 5, 28, 4, 128, 320}, seed, label);
  }
}

// Split-K on CUDA cores merges in the kernel (the tile's last block, with per-tile counters that
// every launch leaves at zero) or, with VLM_CUDA_SPLIT_COMBINE=kernel, in the combine kernel:
// the same bits either way, call after call (a counter left non-zero would skip a merge and leave
// the output as it was: NaN here).
TEST(GpuAttention, SplitKMergedInTheKernelEqualsTheCombineKernel) {
  Backends b;
  auto& cuda = dynamic_cast<cuda::CudaBackend&>(*b.gpu);
  cuda.set_attention_kernel(cuda::CudaBackend::AttentionKernel::Simt);
  struct Case {
    int64_t n_past, n_new, heads, kv_heads, capacity;
  };
  uint32_t seed = 500;
  for (const Case& c : {Case{1000, 1, 28, 4, 1040}, Case{700, 1, 16, 2, 700 + 1}, Case{300, 9, 28, 4, 320}}) {
    const int64_t hd = 128;
    const std::vector<int64_t> q_shape = {c.n_new, c.heads, hd}, cache_shape = {c.capacity, c.kv_heads, hd};
    const auto q = random_bf16(static_cast<size_t>(c.n_new * c.heads * hd), seed++, -2.0f, 2.0f);
    const auto k = random_bf16(static_cast<size_t>(c.capacity * c.kv_heads * hd), seed++, -2.0f, 2.0f);
    const auto v = random_bf16(static_cast<size_t>(c.capacity * c.kv_heads * hd), seed++);
    const std::vector<float> nan(q.size(), NAN);
    const Tensor gq = b.gpu_act(q, q_shape), gk = b.gpu_act(k, cache_shape), gv = b.gpu_act(v, cache_shape);
    const auto run = [&](bool inline_combine) {
      cuda.set_split_combine_inline(inline_combine);
      Tensor out = b.gpu_act(nan, q_shape);
      b.gpu->attention_causal(gq, gk, gv, c.n_past, 0.088f, out);
      return b.gpu->to_host_f32(out);
    };
    const std::string label = "n_past=" + std::to_string(c.n_past) + " n_new=" + std::to_string(c.n_new);
    const auto merged_by_kernel = run(false);
    for (int call = 0; call < 3; ++call) {
      EXPECT_EQ(run(true), merged_by_kernel) << label << ", call " << call;
    }
    for (float x : merged_by_kernel) ASSERT_FALSE(std::isnan(x)) << label;
  }
  cuda.set_split_combine_inline(true);
}

// The ViT's rope + attention with the rotation inside a tensor-core kernel equals rope, rope,
// attention_varlen on the same backend and kernel bit for bit (each tensor-core kernel; head_dim
// 80, 128 and 40, window-sized and frame-sized segments, rows not a multiple of the tile), with
// the tables 16-byte aligned or not (16-byte table loads or one by one: the same bits), and the
// CPU's attention of the rotated q and k (rounded to bf16) within the attention tolerance.
TEST(GpuAttention, RopeInsideVarlenAttentionIsRopeThenAttention) {
  Backends b;
  auto& cuda = dynamic_cast<cuda::CudaBackend&>(*b.gpu);
  uint32_t seed = 600;
  for (const auto kernel : {cuda::CudaBackend::AttentionKernel::Mma, cuda::CudaBackend::AttentionKernel::Flash})
  for (const VarlenCase& c : kVitCases) {
    cuda.set_attention_kernel(kernel);  // both paths on the same kernel
    const int64_t total = c.cu_seqlens.back();
    const std::vector<int64_t> shape = {total, c.heads, c.head_dim};
    const size_t n = static_cast<size_t>(total * c.heads * c.head_dim);
    const auto q = random_bf16(n, seed++, -2.0f, 2.0f), k = random_bf16(n, seed++, -2.0f, 2.0f);
    const auto v = random_bf16(n, seed++);
    std::vector<float> cos(static_cast<size_t>(total * c.head_dim)), sin(cos.size());
    for (int64_t r = 0; r < total; ++r) {
      for (int64_t d = 0; d < c.head_dim; ++d) {
        const double angle = (r % 37 + 1) * std::pow(10000.0, -2.0 * (d % (c.head_dim / 2)) / c.head_dim);
        cos[static_cast<size_t>(r * c.head_dim + d)] = static_cast<float>(std::cos(angle));
        sin[static_cast<size_t>(r * c.head_dim + d)] = static_cast<float>(std::sin(angle));
      }
    }
    const float scale = 1.0f / std::sqrt(static_cast<float>(c.head_dim));
    // table_offset: the tables start that many floats into their allocation (1: not 16-byte
    // aligned, so the kernels read their entries one by one instead of 4 per load).
    const auto table = [&](const std::vector<float>& values, int64_t table_offset) {
      std::vector<float> padded(static_cast<size_t>(table_offset), 0.0f);
      padded.insert(padded.end(), values.begin(), values.end());
      const Tensor flat = b.gpu->from_host_f32(padded.data(), {static_cast<int64_t>(padded.size())}, DType::F32);
      return flat.slice_rows(table_offset, total * c.head_dim).reshape({total, c.head_dim});
    };
    const auto run = [&](bool fused, int64_t table_offset = 0) {
      Tensor tq = b.gpu_act(q, shape), tk = b.gpu_act(k, shape);
      const Tensor tv = b.gpu_act(v, shape);
      const Tensor tc = table(cos, table_offset), ts = table(sin, table_offset);
      Tensor out = b.gpu->alloc(DType::BF16, shape);
      if (fused) {
        b.gpu->rope_attention_varlen(tq, tk, tv, tc, ts, c.cu_seqlens, scale, out);
      } else {
        b.gpu->Backend::rope_attention_varlen(tq, tk, tv, tc, ts, c.cu_seqlens, scale, out);  // 3 ops
      }
      return b.gpu->to_host_f32(out);
    };
    const std::string label = std::string(cuda::CudaBackend::attention_kernel_name(kernel)) +
                              " rope+varlen rows=" + std::to_string(total) + " heads=" + std::to_string(c.heads) +
                              " head_dim=" + std::to_string(c.head_dim);
    const auto fused = run(true);
    EXPECT_EQ(fused, run(false)) << label << ": not rope then attention's bits";
    EXPECT_EQ(fused, run(true, 1)) << label << ": tables off 16-byte alignment give other bits";
    // The CPU reference from the rotated q and k rounded to bf16, as the GPU (and PyTorch in bf16)
    // holds them, so that the attention's own tolerance applies.
    const auto rotated_bf16 = [&](const std::vector<float>& x) {
      Tensor t = b.cpu_act(x, shape);
      b.cpu->rope(t, b.cpu->from_host_f32(cos.data(), {total, c.head_dim}, DType::F32),
                  b.cpu->from_host_f32(sin.data(), {total, c.head_dim}, DType::F32));
      std::vector<float> values = b.cpu->to_host_f32(t);
      for (float& value : values) value = quantize_bf16(value);
      return b.cpu_act(values, shape);
    };
    Tensor cpu_out = b.cpu->alloc(DType::F32, shape);
    b.cpu->attention_varlen(rotated_bf16(q), rotated_bf16(k), b.cpu_act(v, shape), c.cu_seqlens, scale, cpu_out);
    const auto cpu = b.cpu->to_host_f32(cpu_out);
    expect_close(fused, cpu, kBf16HalfUlp, attention_atol(v, cpu), label);
  }
}

// The ViT's joined q|k|v rows read in place (AttentionParams::q_row_stride / kv_row_stride) give
// rope_attention_varlen's bits on the parts copied out, with each tensor-core kernel; so does the
// fallback (the default: gather, then rope_attention_varlen) where the CUDA-core kernel is forced.
// qkv is left as it was.
TEST(GpuAttention, JoinedRowsReadInPlaceGiveTheSeparatePartsResult) {
  Backends b;
  auto& cuda = dynamic_cast<cuda::CudaBackend&>(*b.gpu);
  uint32_t seed = 700;
  for (const auto kernel : {cuda::CudaBackend::AttentionKernel::Mma, cuda::CudaBackend::AttentionKernel::Flash,
                            cuda::CudaBackend::AttentionKernel::Simt}) {
    cuda.set_attention_kernel(kernel);
    for (const VarlenCase& c : kVitCases) {
      const int64_t total = c.cu_seqlens.back(), width = c.heads * c.head_dim;
      const std::vector<int64_t> shape = {total, c.heads, c.head_dim};
      const auto qkv = random_bf16(static_cast<size_t>(total * 3 * width), seed++, -2.0f, 2.0f);
      std::vector<float> parts[3];
      for (int part = 0; part < 3; ++part) {
        for (int64_t r = 0; r < total; ++r) {
          const float* row = &qkv[static_cast<size_t>(r * 3 * width + part * width)];
          parts[part].insert(parts[part].end(), row, row + width);
        }
      }
      std::vector<float> cos(static_cast<size_t>(total * c.head_dim)), sin(cos.size());
      for (size_t i = 0; i < cos.size(); ++i) {
        cos[i] = static_cast<float>(std::cos(0.1 * static_cast<double>(i % 97)));
        sin[i] = static_cast<float>(std::sin(0.1 * static_cast<double>(i % 97)));
      }
      const Tensor tc = b.gpu->from_host_f32(cos.data(), {total, c.head_dim}, DType::F32);
      const Tensor ts = b.gpu->from_host_f32(sin.data(), {total, c.head_dim}, DType::F32);
      const float scale = 1.0f / std::sqrt(static_cast<float>(c.head_dim));
      Tensor tq = b.gpu_act(parts[0], shape), tk = b.gpu_act(parts[1], shape);
      const Tensor tv = b.gpu_act(parts[2], shape);
      Tensor separate = b.gpu->alloc(DType::BF16, shape);
      b.gpu->rope_attention_varlen(tq, tk, tv, tc, ts, c.cu_seqlens, scale, separate);
      const Tensor rows = b.gpu_act(qkv, {total, 3 * width});
      Tensor joined = b.gpu->alloc(DType::BF16, shape);
      b.gpu->rope_attention_varlen_joined(rows, tc, ts, c.cu_seqlens, scale, joined);
      const std::string label = std::string(cuda::CudaBackend::attention_kernel_name(kernel)) +
                                " rows=" + std::to_string(total) + " heads=" + std::to_string(c.heads) +
                                " head_dim=" + std::to_string(c.head_dim);
      EXPECT_EQ(b.gpu->to_host_f32(joined), b.gpu->to_host_f32(separate)) << label;
      EXPECT_EQ(b.gpu->to_host_f32(rows), qkv) << label << ": qkv changed";
    }
  }
}

// Auto times the candidates on a kind of call's first call and keeps the fastest (the default,
// Flash, unless another is more than 3% faster) for every later call of that kind; decode-sized
// causal calls and calls inside a capture are not measured; with tuning off nothing is.
TEST(GpuAttention, AutoMeasuresEachKindOfCallOnceAndKeepsTheFastest) {
  using Kernel = cuda::CudaBackend::AttentionKernel;
  Backends b;
  auto& cuda = dynamic_cast<cuda::CudaBackend&>(*b.gpu);
  ASSERT_EQ(cuda.attention_kernel(), Kernel::Auto);
  cuda.set_attention_tuning(true);  // the default, unless VLM_CUDA_ATTENTION_TUNE=0 (the emulation)
  const auto& records = cuda.attention_choice_records();
  uint32_t seed = 800;
  check_varlen(b, {{0, 64, 128}, 2, 80}, seed, "auto: ");
  ASSERT_EQ(records.size(), 1u);
  EXPECT_EQ(records[0].candidates, (std::vector<Kernel>{Kernel::Simt, Kernel::Mma, Kernel::Flash}));
  check_varlen(b, {{0, 64, 128}, 2, 80}, seed, "auto, same kind: ");
  check_varlen(b, {{0, 70, 140}, 2, 80}, seed, "auto, same bit widths: ");
  EXPECT_EQ(records.size(), 1u) << "a kind of call measured twice";
  check_causal(b, {0, 97, 16, 2, 128, 128}, seed, "auto: ");
  ASSERT_EQ(records.size(), 2u);
  check_causal(b, {1024, 1, 28, 4, 128, 1040}, seed, "auto: ");
  check_causal(b, {300, 5, 28, 4, 128, 320}, seed, "auto: ");
  EXPECT_EQ(records.size(), 2u) << "a decode-sized call was measured";
  for (const auto& record : records) {
    ASSERT_EQ(record.candidate_ms.size(), record.candidates.size()) << record.call;
    EXPECT_EQ(record.reasoned, Kernel::Flash) << record.call;
    size_t fastest = 0, reasoned = 0;
    for (size_t i = 0; i < record.candidates.size(); ++i) {
      EXPECT_GT(record.candidate_ms[i], 0.0f) << record.call;
      EXPECT_LT(record.candidate_ms[i], 1e29f) << record.call << ": a candidate was not timed";
      if (record.candidate_ms[i] < record.candidate_ms[fastest]) fastest = i;
      if (record.candidates[i] == record.reasoned) reasoned = i;
    }
    const bool within_margin = record.candidate_ms[fastest] >= record.candidate_ms[reasoned] * 0.97f;
    EXPECT_EQ(record.chosen, within_margin ? record.reasoned : record.candidates[fastest]) << record.call;
    std::printf("[ figure   ] %s:", record.call.c_str());
    for (size_t i = 0; i < record.candidates.size(); ++i) {
      std::printf(" %s %.0f us", cuda::CudaBackend::attention_kernel_name(record.candidates[i]),
                  record.candidate_ms[i] * 1e3);
    }
    std::printf(" -> %s\n", cuda::CudaBackend::attention_kernel_name(record.chosen));
  }
  // A capture never measures (no timing or synchronisation may happen in one); the same call
  // outside it does.
  const std::vector<int64_t> shape = {200, 4, 128};
  const Tensor q = b.gpu_act(random_bf16(static_cast<size_t>(200 * 4 * 128), seed++), shape);
  const Tensor k = b.gpu_act(random_bf16(static_cast<size_t>(200 * 2 * 128), seed++), {200, 2, 128}), v = k;
  Tensor out = b.gpu->alloc(DType::BF16, shape);
  b.gpu->synchronize();
  cudaStream_t stream = cuda.stream();
  ASSERT_EQ(cudaStreamBeginCapture(stream, cudaStreamCaptureModeRelaxed), cudaSuccess);
  b.gpu->attention_causal(q, k, v, 0, 0.088f, out);
  cudaGraph_t graph = nullptr;
  ASSERT_EQ(cudaStreamEndCapture(stream, &graph), cudaSuccess);
  ASSERT_EQ(cudaGraphDestroy(graph), cudaSuccess);
  EXPECT_EQ(records.size(), 2u) << "measured during a capture";
  b.gpu->attention_causal(q, k, v, 0, 0.088f, out);
  EXPECT_EQ(records.size(), 3u);

  // VLM_CUDA_ATTENTION_TUNE=1|0 sets the tuning when a backend is created (the emulation runs
  // with 0: the previous value is put back).
  const char* env = std::getenv("VLM_CUDA_ATTENTION_TUNE");
  const std::string saved = env != nullptr ? env : "";
  for (const char* value : {"0", "1"}) {
    ASSERT_EQ(setenv("VLM_CUDA_ATTENTION_TUNE", value, 1), 0);
    const auto backend = cuda::make_cuda_backend(0);
    EXPECT_EQ(dynamic_cast<cuda::CudaBackend&>(*backend).attention_tuning(), value[0] == '1');
  }
  expect_env_refused("VLM_CUDA_ATTENTION_TUNE", "on", "VLM_CUDA_ATTENTION_TUNE=on: expected 1 or 0");
  if (!saved.empty()) {
    ASSERT_EQ(setenv("VLM_CUDA_ATTENTION_TUNE", saved.c_str(), 1), 0);
  }

  Backends untuned;
  auto& plain = dynamic_cast<cuda::CudaBackend&>(*untuned.gpu);
  plain.set_attention_tuning(false);
  check_varlen(untuned, {{0, 64, 128}, 2, 80}, seed, "untuned: ");
  check_causal(untuned, {0, 97, 16, 2, 128, 128}, seed, "untuned: ");
  EXPECT_TRUE(plain.attention_choice_records().empty());
}

TEST(GpuAttention, RejectsAnUnknownKernelChoice) {
  expect_env_refused("VLM_CUDA_ATTENTION", "tensor", "VLM_CUDA_ATTENTION=tensor");
  expect_env_refused("VLM_CUDA_SPLIT_COMBINE", "atomic", "VLM_CUDA_SPLIT_COMBINE=atomic: expected inline or kernel");
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
