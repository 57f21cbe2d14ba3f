// Op-by-op parity of the CUDA backend against the CPU reference (test-backend-ops style) for the
// dense and elementwise ops: matmul (+bias, odd and model shapes, sliced weights, one row through
// our GEMV kernel or cuBLASLt), rmsnorm and the fused residual variant, rope, silu_mul, gelu, add,
// embedding, gather/copy rows, argmax.
// Sizes include sequence 1, 97 and 1025 rows. Tolerances (|gpu − cpu| ≤ rtol·|cpu| + atol·max|cpu|):
// one output rounding to bf16 → rtol 2^-8; two roundings (rmsnorm, silu_mul) → rtol 2^-7; plus a
// small atol for f32 summation-order differences. Row moves and argmax must be exact.
#include <gtest/gtest.h>

#include <numeric>

#include "backend_cuda_impl.h"
#include "parity.h"
#include "vlm/error.h"

namespace vlm::gpu_test {
namespace {

struct MatMulCase {
  int64_t m, n, k;
  bool bias;
};

TEST(GpuOps, MatMulMatchesCpu) {
  Backends b;
  const MatMulCase cases[] = {
      {1, 3584, 3584, false},  // 7B decode projection
      {97, 1280, 3420, true},  // ViT MLP down projection: K = 3420 is not 16-byte aligned
      {1025, 256, 1280, true}, {3, 151, 37, true}, {1, 2048, 11008, false},
  };
  uint32_t seed = 1;
  for (const MatMulCase& c : cases) {
    const auto x = random_bf16(static_cast<size_t>(c.m * c.k), seed++);
    const auto w = random_bf16(static_cast<size_t>(c.n * c.k), seed++, -0.05f, 0.05f);
    const auto bias = random_bf16(static_cast<size_t>(c.n), seed++);
    Tensor w_host = host_bf16(w, {c.n, c.k});
    Tensor bias_host = host_bf16(bias, {c.n});
    Tensor cpu_y = b.cpu->alloc(DType::F32, {c.m, c.n});
    Tensor gpu_y = b.gpu->alloc(DType::BF16, {c.m, c.n});
    b.cpu->matmul(b.cpu_act(x, {c.m, c.k}), b.cpu->upload_weight(w_host),
                  c.bias ? b.cpu->upload_weight(bias_host) : Tensor(), cpu_y);
    b.gpu->matmul(b.gpu_act(x, {c.m, c.k}), b.gpu->upload_weight(w_host),
                  c.bias ? b.gpu->upload_weight(bias_host) : Tensor(), gpu_y);
    expect_close(b.gpu->to_host_f32(gpu_y), b.cpu->to_host_f32(cpu_y), kBf16HalfUlp, 1e-3,
                 "matmul M=" + std::to_string(c.m) + " N=" + std::to_string(c.n) +
                     " K=" + std::to_string(c.k) + (c.bias ? " +bias" : ""));
  }
}

// One activation row (decode): our GEMV kernel and cuBLASLt forced in turn, and Auto (which measured
// the shape at upload), each against the CPU, with and without bias; odd N, K a multiple of 8 but
// not of the 256 a warp reads per step, K = 8, and a K that does not fit the kernel (3420: always
// cuBLASLt). The two kernels agree with each other to within the CPU bound too.
TEST(GpuOps, OneRowMatMulMatchesCpuWithEitherKernel) {
  Backends b;
  auto& cuda = dynamic_cast<cuda::CudaBackend&>(*b.gpu);
  const MatMulCase cases[] = {{1, 97, 1032, true}, {1, 1025, 8, false}, {1, 2048, 2048, true},
                              {1, 1, 264, false},  {1, 1280, 3420, true}, {1, 151, 11008, false}};
  using Kernel = cuda::CudaBackend::GemvKernel;
  uint32_t seed = 100;
  for (const MatMulCase& c : cases) {
    const auto x = random_bf16(static_cast<size_t>(c.k), seed++);
    const auto w = random_bf16(static_cast<size_t>(c.n * c.k), seed++, -0.05f, 0.05f);
    const auto bias = random_bf16(static_cast<size_t>(c.n), seed++);
    Tensor cpu_y = b.cpu->alloc(DType::F32, {1, c.n});
    b.cpu->matmul(b.cpu_act(x, {1, c.k}), b.cpu->upload_weight(host_bf16(w, {c.n, c.k})),
                  c.bias ? b.cpu->upload_weight(host_bf16(bias, {c.n})) : Tensor(), cpu_y);
    const std::vector<float> expected = b.cpu->to_host_f32(cpu_y);
    cuda.set_gemv_kernel(Kernel::Auto);
    const Tensor gpu_w = b.gpu->upload_weight(host_bf16(w, {c.n, c.k}));
    const Tensor gpu_bias = c.bias ? b.gpu->upload_weight(host_bf16(bias, {c.n})) : Tensor();
    const Tensor gpu_x = b.gpu_act(x, {1, c.k});
    if (c.k % 8 == 0) {
      EXPECT_EQ(cuda.gemv_choices().count({c.n, c.k}), 1u) << "Auto measured N=" << c.n << " K=" << c.k;
    }
    std::vector<std::vector<float>> results;
    for (Kernel kernel : {Kernel::Ours, Kernel::CublasLt, Kernel::Auto}) {
      cuda.set_gemv_kernel(kernel);
      Tensor gpu_y = b.gpu->alloc(DType::BF16, {1, c.n});
      b.gpu->matmul(gpu_x, gpu_w, gpu_bias, gpu_y);
      results.push_back(b.gpu->to_host_f32(gpu_y));
      expect_close(results.back(), expected, kBf16HalfUlp, 1e-3,
                   std::string(kernel == Kernel::Ours ? "gemv" : kernel == Kernel::CublasLt ? "cuBLASLt" : "auto") +
                       " M=1 N=" + std::to_string(c.n) + " K=" + std::to_string(c.k) + (c.bias ? " +bias" : ""));
    }
    expect_close(results[0], results[1], 2 * kBf16HalfUlp, 1e-3, "gemv vs cuBLASLt");
  }
  cuda.set_gemv_kernel(Kernel::Auto);
}

// The fused one-row decode ops are bit for bit the op sequences they replace on the same backend
// (the GEMV kernel with its norm / silu·mul prologue and residual epilogue against rmsnorm, silu_mul,
// matmul and add run separately), with our GEMV forced and with cuBLASLt forced (the fallback), and
// within the bf16 bound of the CPU's fused defaults. K beyond the staged limits falls back.
TEST(GpuOps, FusedOneRowOpsAreTheirOpSequences) {
  Backends b;
  auto& cuda = dynamic_cast<cuda::CudaBackend&>(*b.gpu);
  using Kernel = cuda::CudaBackend::GemvKernel;
  struct Case {
    int64_t n, k;
  };
  const Case cases[] = {{97, 1032}, {2048, 2048}, {33, 8200}, {1, 264}};
  uint32_t seed = 300;
  for (const Case& c : cases) {
    const std::string name = "N=" + std::to_string(c.n) + " K=" + std::to_string(c.k);
    const auto x = random_bf16(static_cast<size_t>(c.k), seed++);
    const auto x2 = random_bf16(static_cast<size_t>(2 * c.k), seed++, -4.0f, 4.0f);
    const auto gamma = random_bf16(static_cast<size_t>(c.k), seed++, 0.5f, 1.5f);
    const auto w = random_bf16(static_cast<size_t>(c.n * c.k), seed++, -0.05f, 0.05f);
    const auto bias = random_bf16(static_cast<size_t>(c.n), seed++);
    const auto residual = random_bf16(static_cast<size_t>(c.n), seed++, -8.0f, 8.0f);
    const Tensor gw = b.gpu->upload_weight(host_bf16(w, {c.n, c.k}));
    const Tensor gbias = b.gpu->upload_weight(host_bf16(bias, {c.n}));
    const Tensor ggamma = b.gpu->upload_weight(host_bf16(gamma, {c.k}));
    const Tensor gx = b.gpu_act(x, {1, c.k}), gx2 = b.gpu_act(x2, {1, 2 * c.k});
    // The CPU's defaults (f32 activations): the reference the bf16 results must stay near.
    Tensor cpu_norm_y = b.cpu->alloc(DType::F32, {1, c.n});
    Tensor cpu_res1 = b.cpu_act(residual, {1, c.n}), cpu_res2 = b.cpu_act(residual, {1, c.n});
    const Tensor cw = b.cpu->upload_weight(host_bf16(w, {c.n, c.k}));
    b.cpu->rmsnorm_matmul(b.cpu_act(x, {1, c.k}), b.cpu->upload_weight(host_bf16(gamma, {c.k})), 1e-6f, cw,
                          b.cpu->upload_weight(host_bf16(bias, {c.n})), cpu_norm_y);
    b.cpu->matmul_add(b.cpu_act(x, {1, c.k}), cw, cpu_res1);
    b.cpu->silu_mul_matmul_add(b.cpu_act(x2, {1, 2 * c.k}), cw, cpu_res2);
    struct Setting {
      Kernel kernel;
      bool programmatic;  // our GEMV launched for programmatic dependent launch (sm_90+)
      const char* name;
    };
    for (const Setting& setting : {Setting{Kernel::Ours, false, "gemv "}, Setting{Kernel::Ours, true, "gemv+PDL "},
                                   Setting{Kernel::CublasLt, false, "cuBLASLt "}}) {
      cuda.set_gemv_kernel(setting.kernel);
      cuda.set_programmatic_launch(setting.programmatic);
      const std::string label = setting.name + name;
      // rmsnorm_matmul against rmsnorm, then matmul.
      Tensor fused_y = b.gpu->alloc(DType::BF16, {1, c.n}), normed = b.gpu->alloc(DType::BF16, {1, c.k});
      Tensor seq_y = b.gpu->alloc(DType::BF16, {1, c.n});
      b.gpu->rmsnorm_matmul(gx, ggamma, 1e-6f, gw, gbias, fused_y);
      b.gpu->rmsnorm(gx, ggamma, 1e-6f, normed);
      b.gpu->matmul(normed, gw, gbias, seq_y);
      EXPECT_EQ(b.gpu->to_host_f32(fused_y), b.gpu->to_host_f32(seq_y)) << "rmsnorm_matmul " << label;
      expect_close(b.gpu->to_host_f32(fused_y), b.cpu->to_host_f32(cpu_norm_y), 2 * kBf16HalfUlp, 2e-3,
                   "rmsnorm_matmul " + label);
      // matmul_add against matmul, then add.
      Tensor fused_res = b.gpu_act(residual, {1, c.n}), seq_res = b.gpu_act(residual, {1, c.n});
      Tensor product = b.gpu->alloc(DType::BF16, {1, c.n});
      b.gpu->matmul_add(gx, gw, fused_res);
      b.gpu->matmul(gx, gw, Tensor(), product);
      b.gpu->add(seq_res, product, seq_res);
      EXPECT_EQ(b.gpu->to_host_f32(fused_res), b.gpu->to_host_f32(seq_res)) << "matmul_add " << label;
      expect_close(b.gpu->to_host_f32(fused_res), b.cpu->to_host_f32(cpu_res1), 2 * kBf16HalfUlp, 2e-3,
                   "matmul_add " + label);
      // silu_mul_matmul_add against silu_mul, matmul, add.
      Tensor fused_res2 = b.gpu_act(residual, {1, c.n}), seq_res2 = b.gpu_act(residual, {1, c.n});
      Tensor act = b.gpu->alloc(DType::BF16, {1, c.k});
      const Tensor halves = gx2.reshape({2, c.k});
      b.gpu->silu_mul_matmul_add(gx2, gw, fused_res2);
      b.gpu->silu_mul(halves.slice_rows(0, 1), halves.slice_rows(1, 1), act);
      b.gpu->matmul(act, gw, Tensor(), product);
      b.gpu->add(seq_res2, product, seq_res2);
      EXPECT_EQ(b.gpu->to_host_f32(fused_res2), b.gpu->to_host_f32(seq_res2)) << "silu_mul_matmul_add " << label;
      expect_close(b.gpu->to_host_f32(fused_res2), b.cpu->to_host_f32(cpu_res2), 3 * kBf16HalfUlp, 2e-3,
                   "silu_mul_matmul_add " + label);
    }
  }
  cuda.set_gemv_kernel(Kernel::Auto);
  cuda.set_programmatic_launch(false);
}

TEST(GpuOps, MatMulOnSlicedWeightRowsMatchesCpu) {
  // The ViT splits its fused qkv weight with slice_rows (pointer offsets into one upload).
  Backends b;
  const int64_t c = 1280, m = 97;
  const auto x = random_bf16(static_cast<size_t>(m * c), 11);
  const auto w = random_bf16(static_cast<size_t>(3 * c * c), 12, -0.05f, 0.05f);
  const auto bias = random_bf16(static_cast<size_t>(3 * c), 13);
  Tensor w_host = host_bf16(w, {3 * c, c}), bias_host = host_bf16(bias, {3 * c});
  Tensor w_cpu = b.cpu->upload_weight(w_host), w_gpu = b.gpu->upload_weight(w_host);
  Tensor b_cpu = b.cpu->upload_weight(bias_host), b_gpu = b.gpu->upload_weight(bias_host);
  for (int64_t part = 0; part < 3; ++part) {
    Tensor cpu_y = b.cpu->alloc(DType::F32, {m, c});
    Tensor gpu_y = b.gpu->alloc(DType::BF16, {m, c});
    b.cpu->matmul(b.cpu_act(x, {m, c}), w_cpu.slice_rows(part * c, c), b_cpu.slice_rows(part * c, c), cpu_y);
    b.gpu->matmul(b.gpu_act(x, {m, c}), w_gpu.slice_rows(part * c, c), b_gpu.slice_rows(part * c, c), gpu_y);
    expect_close(b.gpu->to_host_f32(gpu_y), b.cpu->to_host_f32(cpu_y), kBf16HalfUlp, 1e-3,
                 "matmul qkv slice " + std::to_string(part));
  }
}

TEST(GpuOps, RmsNormMatchesCpu) {
  Backends b;
  for (int64_t rows : {1, 97, 1025}) {
    for (int64_t dim : {1280, 3584}) {
      const auto x = random_bf16(static_cast<size_t>(rows * dim), 20 + static_cast<uint32_t>(rows), -3.0f, 3.0f);
      const auto w = random_bf16(static_cast<size_t>(dim), 21, 0.5f, 1.5f);
      Tensor w_host = host_bf16(w, {dim});
      Tensor cpu_x = b.cpu_act(x, {rows, dim}), gpu_x = b.gpu_act(x, {rows, dim});
      b.cpu->rmsnorm(cpu_x, b.cpu->upload_weight(w_host), 1e-6f, cpu_x);  // in place, as allowed
      b.gpu->rmsnorm(gpu_x, b.gpu->upload_weight(w_host), 1e-6f, gpu_x);
      expect_close(b.gpu->to_host_f32(gpu_x), b.cpu->to_host_f32(cpu_x), 2 * kBf16HalfUlp, 1e-3,
                   "rmsnorm rows=" + std::to_string(rows) + " dim=" + std::to_string(dim));
    }
  }
}

TEST(GpuOps, FusedAddRmsNormMatchesCpuAddThenNorm) {
  Backends b;
  auto* cuda = dynamic_cast<cuda::CudaBackend*>(b.gpu.get());
  ASSERT_NE(cuda, nullptr);
  const int64_t rows = 97, dim = 3584;
  const auto x = random_bf16(static_cast<size_t>(rows * dim), 30, -2.0f, 2.0f);
  const auto r = random_bf16(static_cast<size_t>(rows * dim), 31, -2.0f, 2.0f);
  const auto w = random_bf16(static_cast<size_t>(dim), 32, 0.5f, 1.5f);
  Tensor w_host = host_bf16(w, {dim});
  Tensor cpu_res = b.cpu_act(r, {rows, dim}), cpu_y = b.cpu->alloc(DType::F32, {rows, dim});
  b.cpu->add(b.cpu_act(x, {rows, dim}), cpu_res, cpu_res);
  b.cpu->rmsnorm(cpu_res, b.cpu->upload_weight(w_host), 1e-6f, cpu_y);
  Tensor gpu_res = b.gpu_act(r, {rows, dim}), gpu_y = b.gpu->alloc(DType::BF16, {rows, dim});
  cuda->add_rmsnorm(b.gpu_act(x, {rows, dim}), gpu_res, b.gpu->upload_weight(w_host), 1e-6f, gpu_y);
  expect_close(b.gpu->to_host_f32(gpu_res), b.cpu->to_host_f32(cpu_res), kBf16HalfUlp, 0,
               "add_rmsnorm residual sum");
  // The GPU normalises the bf16-rounded sum (as HF does); the CPU the exact one: 3 roundings.
  expect_close(b.gpu->to_host_f32(gpu_y), b.cpu->to_host_f32(cpu_y), 3 * kBf16HalfUlp, 1e-3,
               "add_rmsnorm output");
}

TEST(GpuOps, RopeMatchesCpu) {
  Backends b;
  struct Case { int64_t rows, heads, head_dim; };
  for (const Case& c : {Case{1, 16, 80}, Case{97, 16, 80}, Case{1025, 4, 128}, Case{97, 28, 128}}) {
    const auto x = random_bf16(static_cast<size_t>(c.rows * c.heads * c.head_dim), 40, -2.0f, 2.0f);
    std::vector<float> cos(static_cast<size_t>(c.rows * c.head_dim)), sin(cos.size());
    for (int64_t r = 0; r < c.rows; ++r) {
      for (int64_t d = 0; d < c.head_dim; ++d) {
        const double angle = (r + 1) * std::pow(10000.0, -2.0 * (d % (c.head_dim / 2)) / c.head_dim);
        cos[static_cast<size_t>(r * c.head_dim + d)] = static_cast<float>(std::cos(angle));
        sin[static_cast<size_t>(r * c.head_dim + d)] = static_cast<float>(std::sin(angle));
      }
    }
    const std::vector<int64_t> shape = {c.rows, c.heads, c.head_dim};
    Tensor cpu_x = b.cpu_act(x, shape), gpu_x = b.gpu_act(x, shape);
    b.cpu->rope(cpu_x, b.cpu->from_host_f32(cos.data(), {c.rows, c.head_dim}, DType::F32),
                b.cpu->from_host_f32(sin.data(), {c.rows, c.head_dim}, DType::F32));
    b.gpu->rope(gpu_x, b.gpu->from_host_f32(cos.data(), {c.rows, c.head_dim}, DType::F32),
                b.gpu->from_host_f32(sin.data(), {c.rows, c.head_dim}, DType::F32));
    expect_close(b.gpu->to_host_f32(gpu_x), b.cpu->to_host_f32(cpu_x), kBf16HalfUlp, 1e-4,
                 "rope rows=" + std::to_string(c.rows) + " heads=" + std::to_string(c.heads) +
                     " head_dim=" + std::to_string(c.head_dim));
  }
}

TEST(GpuOps, ElementwiseOpsMatchCpu) {
  Backends b;
  for (int64_t rows : {1, 97, 1025}) {
    const int64_t cols = 3420;
    const std::vector<int64_t> shape = {rows, cols};
    const size_t n = static_cast<size_t>(rows * cols);
    const auto g = random_bf16(n, 50, -6.0f, 6.0f), u = random_bf16(n, 51, -2.0f, 2.0f);
    const std::string suffix = " rows=" + std::to_string(rows);
    {  // y aliases gate, as the decoder calls it
      Tensor cpu_g = b.cpu_act(g, shape), gpu_g = b.gpu_act(g, shape);
      b.cpu->silu_mul(cpu_g, b.cpu_act(u, shape), cpu_g);
      b.gpu->silu_mul(gpu_g, b.gpu_act(u, shape), gpu_g);
      expect_close(b.gpu->to_host_f32(gpu_g), b.cpu->to_host_f32(cpu_g), 2 * kBf16HalfUlp, 1e-4,
                   "silu_mul" + suffix);
    }
    {
      Tensor cpu_g = b.cpu_act(g, shape), gpu_g = b.gpu_act(g, shape);
      b.cpu->gelu(cpu_g, cpu_g);
      b.gpu->gelu(gpu_g, gpu_g);
      expect_close(b.gpu->to_host_f32(gpu_g), b.cpu->to_host_f32(cpu_g), kBf16HalfUlp, 1e-4,
                   "gelu" + suffix);
    }
    {
      Tensor cpu_y = b.cpu->alloc(DType::F32, shape), gpu_y = b.gpu->alloc(DType::BF16, shape);
      b.cpu->add(b.cpu_act(g, shape), b.cpu_act(u, shape), cpu_y);
      b.gpu->add(b.gpu_act(g, shape), b.gpu_act(u, shape), gpu_y);
      expect_close(b.gpu->to_host_f32(gpu_y), b.cpu->to_host_f32(cpu_y), kBf16HalfUlp, 0,
                   "add" + suffix);
    }
  }
}

TEST(GpuOps, EmbeddingGathersExactRows) {
  Backends b;
  const int64_t vocab = 1000, dim = 1280;
  const auto table = random_bf16(static_cast<size_t>(vocab * dim), 60);
  Tensor table_host = host_bf16(table, {vocab, dim});
  for (size_t n : {size_t{1}, size_t{97}, size_t{1025}}) {
    std::vector<int32_t> ids(n);
    for (size_t i = 0; i < n; ++i) ids[i] = static_cast<int32_t>((i * 7919 + 3) % vocab);
    Tensor gpu_y = b.gpu->alloc(DType::BF16, {static_cast<int64_t>(n), dim});
    b.gpu->embedding(b.gpu->upload_weight(table_host), ids, gpu_y);
    const auto got = b.gpu->to_host_f32(gpu_y);
    size_t mismatches = 0;
    for (size_t i = 0; i < n; ++i) {
      for (int64_t d = 0; d < dim; ++d) {
        mismatches += got[i * dim + d] != table[static_cast<size_t>(ids[i] * dim + d)];
      }
    }
    EXPECT_EQ(mismatches, 0u) << "embedding n=" << n;
  }
}

TEST(GpuOps, GatherAndCopyRowsAreExact) {
  Backends b;
  const int64_t rows = 1025, cols = 1280;
  const auto x = random_bf16(static_cast<size_t>(rows * cols), 70);
  Tensor gpu_x = b.gpu_act(x, {rows, cols});
  std::vector<int32_t> index(static_cast<size_t>(rows));
  std::iota(index.begin(), index.end(), 0);
  std::mt19937 rng(71);
  std::shuffle(index.begin(), index.end(), rng);
  Tensor gpu_y = b.gpu->alloc(DType::BF16, {rows, cols});
  b.gpu->gather_rows(gpu_x, index, gpu_y);
  const auto gathered = b.gpu->to_host_f32(gpu_y);
  size_t mismatches = 0;
  for (int64_t r = 0; r < rows; ++r) {
    for (int64_t c = 0; c < cols; ++c) {
      mismatches += gathered[static_cast<size_t>(r * cols + c)] !=
                    x[static_cast<size_t>(index[static_cast<size_t>(r)] * cols + c)];
    }
  }
  EXPECT_EQ(mismatches, 0u) << "gather_rows";
  // Overlapping move within one tensor has memmove semantics: rows [0, 600) -> [97, 697).
  b.gpu->copy_rows(gpu_x, 0, gpu_x, 97, 600);
  const auto moved = b.gpu->to_host_f32(gpu_x);
  mismatches = 0;
  for (int64_t r = 0; r < rows; ++r) {
    const int64_t from = (r >= 97 && r < 697) ? r - 97 : r;
    for (int64_t c = 0; c < cols; ++c) {
      mismatches += moved[static_cast<size_t>(r * cols + c)] != x[static_cast<size_t>(from * cols + c)];
    }
  }
  EXPECT_EQ(mismatches, 0u) << "copy_rows overlapping";
}

TEST(GpuOps, ArgmaxMatchesCpuIncludingTies) {
  Backends b;
  const int64_t vocab = 151936;
  for (int64_t rows : {1, 3}) {
    auto logits = random_bf16(static_cast<size_t>(rows * vocab), 80 + static_cast<uint32_t>(rows), -10.0f, 10.0f);
    for (int64_t r = 0; r < rows; ++r) {  // a tie: the first of two equal maxima must win
      logits[static_cast<size_t>(r * vocab + 5000 + r)] = 12.0f;
      logits[static_cast<size_t>(r * vocab + 90000)] = 12.0f;
    }
    const auto cpu = b.cpu->argmax(b.cpu_act(logits, {rows, vocab}));
    const auto gpu = b.gpu->argmax(b.gpu_act(logits, {rows, vocab}));
    EXPECT_EQ(gpu, cpu);
    for (int64_t r = 0; r < rows; ++r) EXPECT_EQ(gpu[static_cast<size_t>(r)], 5000 + r);
  }
}

TEST(GpuOps, BadArgumentsThrowClearErrors) {
  Backends b;
  Tensor x = b.gpu->alloc(DType::BF16, {4, 8});
  Tensor w = b.gpu->alloc(DType::BF16, {5, 7});
  Tensor y = b.gpu->alloc(DType::BF16, {4, 5});
  try {
    b.gpu->matmul(x, w, Tensor(), y);
    ADD_FAILURE() << "K mismatch accepted";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::InvalidInput) << e.what();
  }
  Tensor x32 = b.gpu->alloc(DType::F32, {4, 8});
  try {
    b.gpu->gelu(x32, x32);
    ADD_FAILURE() << "F32 activation accepted";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::Unsupported) << e.what();
  }
  try {
    b.gpu->alloc(DType::BF16, {int64_t{1} << 24, int64_t{1} << 24});  // 512 TiB
    ADD_FAILURE() << "impossible allocation succeeded";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::OutOfMemory) << e.what();
    EXPECT_NE(std::string(e.what()).find("cannot allocate"), std::string::npos) << e.what();
  }
  // The backend stays usable after an out-of-memory error (it is not sticky).
  const std::vector<float> ones(32, 1.0f);
  EXPECT_EQ(b.gpu->to_host_f32(b.gpu_act(ones, {4, 8})), ones);
  const int count = cuda::cuda_device_count();
  try {
    cuda::make_cuda_backend(count);
    ADD_FAILURE() << "device index " << count << " accepted";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::InvalidInput) << e.what();
    EXPECT_NE(std::string(e.what()).find("does not exist"), std::string::npos) << e.what();
  }
}

TEST(GpuOps, TensorsMayOutliveTheirBackend) {
  Tensor kept;
  {
    auto gpu = cuda::make_cuda_backend(0);
    const std::vector<float> v(100, 2.0f);
    kept = gpu->from_host_f32(v.data(), {10, 10}, DType::BF16);
    gpu->synchronize();
  }
  kept = Tensor();  // returns the block to the (still alive) pool, which then frees it
  SUCCEED();
}

}  // namespace
}  // namespace vlm::gpu_test
