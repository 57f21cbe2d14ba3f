// The ops on joined projections on the CUDA backend (the prefill's rope_append: one kernel for
// the ropes of q and k and the two cache appends; silu_mul_joined: gate and up read from one
// joined row; the decode step's rope_attention_at: rope and append inside the attention kernel),
// each against the op sequence it stands for run on the same backend (the base class's default),
// which must give the same bits, and against the CPU reference within bf16 rounding (one rounding
// of each output: rtol 2^-8; silu·mul two). Sizes: 1, 97 and 1025 rows, head_dim 80 and 128, GQA
// groups 1 to 8, a cache with rows before.
#include <gtest/gtest.h>

#include <cmath>
#include <string>
#include <tuple>

#include "backend_cuda_impl.h"
#include "parity.h"

namespace vlm::gpu_test {
namespace {

TEST(GpuJoinedOps, RopeAppendIsRopeAndCacheCopiesInOneKernel) {
  Backends b;
  struct Case {
    int64_t rows, heads, kv_heads, head_dim, n_past;
  };
  uint32_t seed = 700;
  for (const Case& c : {Case{1, 16, 2, 128, 0}, Case{97, 28, 4, 128, 37}, Case{1025, 4, 2, 128, 0},
                        Case{97, 16, 16, 80, 3}, Case{33, 7, 1, 128, 1000}}) {
    const std::string label = "rope_append rows=" + std::to_string(c.rows) + " heads=" +
                              std::to_string(c.heads) + "/" + std::to_string(c.kv_heads) +
                              " head_dim=" + std::to_string(c.head_dim) + " n_past=" + std::to_string(c.n_past);
    const int64_t per_row = (c.heads + 2 * c.kv_heads) * c.head_dim, capacity = c.n_past + c.rows + 5;
    const auto qkv = random_bf16(static_cast<size_t>(c.rows * per_row), seed++, -2.0f, 2.0f);
    const auto cache = random_bf16(static_cast<size_t>(capacity * c.kv_heads * c.head_dim), seed++);
    std::vector<float> cos(static_cast<size_t>(c.rows * c.head_dim)), sin(cos.size());
    for (int64_t r = 0; r < c.rows; ++r) {
      for (int64_t d = 0; d < c.head_dim; ++d) {
        const double angle = (c.n_past + r + 1) * std::pow(10000.0, -2.0 * (d % (c.head_dim / 2)) / c.head_dim);
        cos[static_cast<size_t>(r * c.head_dim + d)] = static_cast<float>(std::cos(angle));
        sin[static_cast<size_t>(r * c.head_dim + d)] = static_cast<float>(std::sin(angle));
      }
    }
    const std::vector<int64_t> cache_shape = {capacity, c.kv_heads, c.head_dim};
    const std::vector<int64_t> q_shape = {c.rows, c.heads, c.head_dim};
    struct Out {
      Tensor q, k, v;
    };
    const auto run = [&](Backend& backend, DType act, bool fused) {
      const auto put = [&](const std::vector<float>& v, std::vector<int64_t> shape) {
        return backend.from_host_f32(v.data(), std::move(shape), act);
      };
      Out out{backend.alloc(act, q_shape), put(cache, cache_shape), put(cache, cache_shape)};
      const Tensor x = put(qkv, {c.rows, per_row});
      const Tensor tc = backend.from_host_f32(cos.data(), {c.rows, c.head_dim}, DType::F32);
      const Tensor ts = backend.from_host_f32(sin.data(), {c.rows, c.head_dim}, DType::F32);
      if (fused) {
        backend.rope_append(x, tc, ts, out.q, out.k, out.v, c.n_past);
      } else {
        backend.Backend::rope_append(x, tc, ts, out.q, out.k, out.v, c.n_past);  // the op sequence
      }
      return out;
    };
    const Out fused = run(*b.gpu, DType::BF16, true), sequence = run(*b.gpu, DType::BF16, false);
    const Out cpu = run(*b.cpu, DType::F32, true);
    for (auto [name, got, seq, want] : {std::tuple{"q", &fused.q, &sequence.q, &cpu.q},
                                        std::tuple{"k_cache", &fused.k, &sequence.k, &cpu.k},
                                        std::tuple{"v_cache", &fused.v, &sequence.v, &cpu.v}}) {
      const auto values = b.gpu->to_host_f32(*got);
      EXPECT_EQ(values, b.gpu->to_host_f32(*seq)) << label << " " << name << ": not the op sequence's bits";
      expect_close(values, b.cpu->to_host_f32(*want), kBf16HalfUlp, 1e-4, label + " " + name);
    }
  }
}

TEST(GpuJoinedOps, SiluMulJoinedIsSiluMulOfTheRowHalves) {
  Backends b;
  for (int64_t rows : {1, 97, 1025}) {
    for (int64_t width : {3424, 11008, 18944}) {
      if (rows * width > 1025 * 3424) continue;  // enough elements; keeps the emulation short
      const std::string label = "silu_mul_joined rows=" + std::to_string(rows) + " F=" + std::to_string(width);
      const auto gate_up = random_bf16(static_cast<size_t>(rows * 2 * width), 800, -6.0f, 6.0f);
      const Tensor g = b.gpu_act(gate_up, {rows, 2 * width});
      Tensor fused = b.gpu->alloc(DType::BF16, {rows, width}), sequence = b.gpu->alloc(DType::BF16, {rows, width});
      b.gpu->silu_mul_joined(g, fused);
      b.gpu->Backend::silu_mul_joined(g, sequence);
      Tensor cpu = b.cpu->alloc(DType::F32, {rows, width});
      b.cpu->silu_mul_joined(b.cpu_act(gate_up, {rows, 2 * width}), cpu);
      const auto values = b.gpu->to_host_f32(fused);
      EXPECT_EQ(values, b.gpu->to_host_f32(sequence)) << label << ": not silu_mul's bits";
      expect_close(values, b.cpu->to_host_f32(cpu), 2 * kBf16HalfUlp, 1e-4, label);
    }
  }
}

// The recorded decode step's rope + cache append + attention in the CUDA-core attention kernel
// (rope_attention_at) against rope_append_at then attention_causal_at on the same backend: the
// same bits in the output and both caches, for positions at split boundaries and GQA groups 7
// and 8 (the 7B's and 3B's), with a cache long enough for split-K.
TEST(GpuJoinedOps, RopeAttentionAtIsRopeAppendThenAttention) {
  Backends b;
  struct Case {
    int64_t heads, kv_heads, capacity;
  };
  uint32_t seed = 900;
  for (const Case& c : {Case{28, 4, 1030}, Case{16, 2, 700}, Case{4, 4, 64}}) {
    const int64_t hd = 128, per_row = (c.heads + 2 * c.kv_heads) * hd;
    const auto row = random_bf16(static_cast<size_t>(per_row), seed++, -2.0f, 2.0f);
    const auto cache = random_bf16(static_cast<size_t>(c.capacity * c.kv_heads * hd), seed++);
    std::vector<float> cos(static_cast<size_t>(hd)), sin(cos.size());
    for (int64_t d = 0; d < hd; ++d) {
      const double angle = 37.0 * std::pow(10000.0, -2.0 * (d % (hd / 2)) / hd);
      cos[static_cast<size_t>(d)] = static_cast<float>(std::cos(angle));
      sin[static_cast<size_t>(d)] = static_cast<float>(std::sin(angle));
    }
    const std::vector<int64_t> cache_shape = {c.capacity, c.kv_heads, hd};
    const Tensor tc = b.gpu->from_host_f32(cos.data(), {1, hd}, DType::F32);
    const Tensor ts = b.gpu->from_host_f32(sin.data(), {1, hd}, DType::F32);
    Tensor at = b.gpu->alloc(DType::I32, {1});
    for (int32_t n_past : {0, 63, 64, 200, static_cast<int32_t>(c.capacity - 1)}) {
      if (n_past >= c.capacity) continue;
      const std::string label = "rope_attention_at heads=" + std::to_string(c.heads) + "/" +
                                std::to_string(c.kv_heads) + " n_past=" + std::to_string(n_past);
      b.gpu->write(at, &n_past);
      const auto run = [&](bool fused) {
        Tensor qkv = b.gpu_act(row, {1, per_row});
        Tensor k = b.gpu_act(cache, cache_shape), v = b.gpu_act(cache, cache_shape);
        Tensor out = b.gpu->alloc(DType::BF16, {1, c.heads, hd});
        if (fused) {
          b.gpu->rope_attention_at(qkv, tc, ts, k, v, at, 0.088f, out);
        } else {
          b.gpu->Backend::rope_attention_at(qkv, tc, ts, k, v, at, 0.088f, out);  // the two ops
        }
        return std::tuple{b.gpu->to_host_f32(out), b.gpu->to_host_f32(k), b.gpu->to_host_f32(v)};
      };
      const auto [out, k, v] = run(true);
      const auto [seq_out, seq_k, seq_v] = run(false);
      EXPECT_EQ(out, seq_out) << label << ": output";
      EXPECT_EQ(k, seq_k) << label << ": k cache";
      EXPECT_EQ(v, seq_v) << label << ": v cache";
      EXPECT_NE(k, cache) << label << ": the new key was not stored";
    }
  }
}

}  // namespace
}  // namespace vlm::gpu_test
