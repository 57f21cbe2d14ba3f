// CPU backend matmul against a naive double-precision matmul on the same (quantised) weights:
// shapes around every switch in the implementation (the small-M kernel up to 8 rows, sgemm panels
// beyond; K not a multiple of the 8-wide vectors; N not a multiple of panels), f32/bf16/f16 weights
// and biases, several thread counts, and the portable kernels with AVX2 switched off.
// Tolerance: 1e-5 of the largest output magnitude (f32 accumulation over up to K = 18944
// terms, the 7B MLP's width).
#include <gtest/gtest.h>

#include "backend_cpu/cpu_simd.h"
#include "naive_ops.h"
#include "vlm/error.h"

namespace vlm {
namespace {

constexpr double kTolerance = 1e-5;

struct MatmulCase {
  int64_t M, K, N;
};

void expect_matmul_matches(Backend& backend, MatmulCase c, DType w_dtype, DType bias_dtype,
                           bool with_bias, uint32_t seed) {
  SCOPED_TRACE(testing::Message() << "M=" << c.M << " K=" << c.K << " N=" << c.N << " w="
                                  << dtype_name(w_dtype) << " bias=" << with_bias);
  auto x = test::random_values(static_cast<size_t>(c.M * c.K), seed);
  auto w = test::quantise(test::random_values(static_cast<size_t>(c.N * c.K), seed + 1), w_dtype);
  std::vector<float> bias;
  if (with_bias) bias = test::quantise(test::random_values(static_cast<size_t>(c.N), seed + 2), bias_dtype);
  Tensor tx = backend.from_host_f32(x.data(), {c.M, c.K}, DType::F32);
  Tensor tw = backend.upload_weight(backend.from_host_f32(w.data(), {c.N, c.K}, w_dtype));
  Tensor tb = with_bias ? backend.from_host_f32(bias.data(), {c.N}, bias_dtype) : Tensor();
  Tensor ty = backend.alloc(DType::F32, {c.M, c.N});
  backend.matmul(tx, tw, tb, ty);
  auto want = test::naive_matmul(x, w, bias, c.M, c.K, c.N);
  EXPECT_LE(test::relative_error(backend.to_host_f32(ty), want), kTolerance);
}

const MatmulCase kCases[] = {
    {1, 80, 33},    {1, 1030, 7},   {2, 97, 130},    {7, 64, 65},     {8, 257, 67},
    {9, 131, 70},   {33, 80, 5},    {97, 200, 301},  {300, 64, 130}, {65, 1, 17},
    {20, 9000, 40}, {1, 18944, 5},  {3, 18944, 6},
};

TEST(CpuMatmul, F32WeightsMatchNaive) {
  auto backend = make_cpu_backend(2);
  uint32_t seed = 10;
  for (const MatmulCase& c : kCases) expect_matmul_matches(*backend, c, DType::F32, DType::F32, true, seed += 3);
}

TEST(CpuMatmul, Bf16WeightsMatchNaiveOnQuantisedWeights) {
  auto backend = make_cpu_backend(2);
  uint32_t seed = 100;
  for (const MatmulCase& c : kCases) expect_matmul_matches(*backend, c, DType::BF16, DType::BF16, true, seed += 3);
}

TEST(CpuMatmul, F16WeightsMatchNaiveOnQuantisedWeights) {
  auto backend = make_cpu_backend(2);
  uint32_t seed = 200;
  for (const MatmulCase& c : kCases) expect_matmul_matches(*backend, c, DType::F16, DType::F32, true, seed += 3);
}

TEST(CpuMatmul, WithoutBiasAndAnyThreadCount) {
  for (int threads : {1, 3, 5}) {
    SCOPED_TRACE(threads);
    auto backend = make_cpu_backend(threads);
    expect_matmul_matches(*backend, {1, 300, 77}, DType::BF16, DType::F32, false, 7);
    expect_matmul_matches(*backend, {4, 300, 77}, DType::F16, DType::F32, false, 8);
    expect_matmul_matches(*backend, {150, 96, 200}, DType::BF16, DType::F32, false, 9);
    expect_matmul_matches(*backend, {150, 96, 200}, DType::F32, DType::F32, false, 10);
  }
}

TEST(CpuMatmul, GenericKernelsMatchNaiveToo) {
  cpu::set_simd_enabled(false);
  auto backend = make_cpu_backend(2);
  uint32_t seed = 300;
  for (DType dtype : {DType::F32, DType::BF16, DType::F16}) {
    for (const MatmulCase& c : {MatmulCase{1, 131, 33}, MatmulCase{5, 97, 70}, MatmulCase{40, 100, 90}}) {
      expect_matmul_matches(*backend, c, dtype, dtype, true, seed += 3);
    }
  }
  cpu::set_simd_enabled(true);
}

TEST(CpuMatmul, RejectsMismatchedShapes) {
  auto backend = make_cpu_backend(1);
  Tensor x = backend->alloc(DType::F32, {4, 8});
  Tensor w = backend->alloc(DType::BF16, {5, 9});
  Tensor y = backend->alloc(DType::F32, {4, 5});
  EXPECT_THROW(backend->matmul(x, w, Tensor(), y), Error);
  Tensor w_ok = backend->alloc(DType::BF16, {5, 8});
  Tensor y_bad = backend->alloc(DType::F32, {4, 6});
  EXPECT_THROW(backend->matmul(x, w_ok, Tensor(), y_bad), Error);
  Tensor bias_bad = backend->alloc(DType::F32, {4});
  EXPECT_THROW(backend->matmul(x, w_ok, bias_bad, y), Error);
}

TEST(CpuMatmul, RejectsIntegerWeights) {
  auto backend = make_cpu_backend(1);
  Tensor x = backend->alloc(DType::F32, {2, 4});
  Tensor w = backend->alloc(DType::I32, {3, 4});
  Tensor y = backend->alloc(DType::F32, {2, 3});
  try {
    backend->matmul(x, w, Tensor(), y);
    FAIL() << "integer weights were accepted";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::Unsupported);
  }
  EXPECT_FALSE(backend->supports(Op::MatMul, DType::I32));
}

}  // namespace
}  // namespace vlm
