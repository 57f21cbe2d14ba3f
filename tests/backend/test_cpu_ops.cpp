// CPU backend row-wise, elementwise and row-movement ops, memory and capability answers, each
// against a naive double-precision loop written here.
// Tolerances: 1e-6 of the largest magnitude for single-expression ops (rmsnorm, rope, silu_mul,
// gelu), exact for add, copies, embedding rows and argmax.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>

#include "naive_ops.h"
#include "vlm/error.h"

namespace vlm {
namespace {

constexpr double kTolerance = 1e-6;

TEST(CpuOps, RmsNormMatchesNaiveForEachWeightDtypeInPlace) {
  auto backend = make_cpu_backend(2);
  const int64_t rows = 37, dim = 1283;
  const float eps = 1e-6f;
  for (DType w_dtype : {DType::F32, DType::BF16, DType::F16}) {
    SCOPED_TRACE(dtype_name(w_dtype));
    auto x = test::random_values(static_cast<size_t>(rows * dim), 1, -4.0f, 4.0f);
    auto w = test::quantise(test::random_values(static_cast<size_t>(dim), 2, 0.5f, 2.0f), w_dtype);
    std::vector<double> want(x.size());
    for (int64_t r = 0; r < rows; ++r) {
      double sum = 0.0;
      for (int64_t i = 0; i < dim; ++i) sum += static_cast<double>(x[r * dim + i]) * x[r * dim + i];
      const double inv = 1.0 / std::sqrt(sum / dim + eps);
      for (int64_t i = 0; i < dim; ++i) want[r * dim + i] = x[r * dim + i] * inv * w[i];
    }
    Tensor tx = backend->from_host_f32(x.data(), {rows, dim}, DType::F32);
    Tensor tw = backend->from_host_f32(w.data(), {dim}, w_dtype);
    backend->rmsnorm(tx, tw, eps, tx);  // y aliases x
    EXPECT_LE(test::relative_error(backend->to_host_f32(tx), want), kTolerance);
  }
}

TEST(CpuOps, RopeRotatesHalvesWithPerRowTables) {
  auto backend = make_cpu_backend(2);
  for (int64_t head_dim : {80, 128}) {
    SCOPED_TRACE(head_dim);
    const int64_t rows = 19, heads = 3, half = head_dim / 2;
    auto x = test::random_values(static_cast<size_t>(rows * heads * head_dim), 3);
    // Arbitrary tables: the op is defined for any values, not only true cos/sin pairs.
    auto cos = test::random_values(static_cast<size_t>(rows * head_dim), 4);
    auto sin = test::random_values(static_cast<size_t>(rows * head_dim), 5);
    std::vector<double> want(x.size());
    for (int64_t r = 0; r < rows; ++r) {
      for (int64_t h = 0; h < heads; ++h) {
        const float* v = &x[(r * heads + h) * head_dim];
        double* o = &want[(r * heads + h) * head_dim];
        const float* c = &cos[r * head_dim];
        const float* s = &sin[r * head_dim];
        for (int64_t p = 0; p < half; ++p) {
          o[p] = static_cast<double>(v[p]) * c[p] - static_cast<double>(v[p + half]) * s[p];
          o[p + half] = static_cast<double>(v[p + half]) * c[p + half] + static_cast<double>(v[p]) * s[p + half];
        }
      }
    }
    Tensor tx = backend->from_host_f32(x.data(), {rows, heads, head_dim}, DType::F32);
    Tensor tc = backend->from_host_f32(cos.data(), {rows, head_dim}, DType::F32);
    Tensor ts = backend->from_host_f32(sin.data(), {rows, head_dim}, DType::F32);
    backend->rope(tx, tc, ts);
    EXPECT_LE(test::relative_error(backend->to_host_f32(tx), want), kTolerance);
  }
}

// No rows (an empty chunk) is a no-op; the shape check once divided by rows * head_dim.
TEST(CpuOps, RopeWithNoRowsDoesNothing) {
  auto backend = make_cpu_backend(2);
  Tensor x = backend->alloc(DType::F32, {0, 3, 8});
  Tensor table = backend->alloc(DType::F32, {0, 8});
  EXPECT_NO_THROW(backend->rope(x, table, table));
  Tensor wrong_table = backend->alloc(DType::F32, {0, 6});
  EXPECT_THROW(backend->rope(x, wrong_table, wrong_table), Error);
}

TEST(CpuOps, SiluMulGeluAndAddMatchNaive) {
  auto backend = make_cpu_backend(2);
  const int64_t rows = 13, cols = 2049;
  const size_t n = static_cast<size_t>(rows * cols);
  auto a = test::random_values(n, 6, -8.0f, 8.0f);
  auto b = test::random_values(n, 7, -2.0f, 2.0f);
  std::vector<double> silu_mul(n), gelu(n), sum(n);
  for (size_t i = 0; i < n; ++i) {
    const double g = a[i];
    silu_mul[i] = g / (1.0 + std::exp(-g)) * b[i];
    gelu[i] = 0.5 * g * (1.0 + std::erf(g / std::sqrt(2.0)));
    sum[i] = static_cast<float>(static_cast<double>(a[i]) + b[i]);  // one correctly rounded f32 add
  }
  Tensor ta = backend->from_host_f32(a.data(), {rows, cols}, DType::F32);
  Tensor tb = backend->from_host_f32(b.data(), {rows, cols}, DType::F32);
  Tensor y = backend->alloc(DType::F32, {rows, cols});
  backend->silu_mul(ta, tb, y);
  EXPECT_LE(test::relative_error(backend->to_host_f32(y), silu_mul), kTolerance);
  backend->gelu(ta, y);
  EXPECT_LE(test::relative_error(backend->to_host_f32(y), gelu), kTolerance);
  backend->add(ta, tb, y);
  EXPECT_EQ(test::relative_error(backend->to_host_f32(y), sum), 0.0);  // exact

  // Aliased outputs as backend.h allows: silu_mul into gate, gelu in place, add into b.
  Tensor gate = backend->from_host_f32(a.data(), {rows, cols}, DType::F32);
  backend->silu_mul(gate, tb, gate);
  EXPECT_LE(test::relative_error(backend->to_host_f32(gate), silu_mul), kTolerance);
  Tensor in_place = backend->from_host_f32(a.data(), {rows, cols}, DType::F32);
  backend->gelu(in_place, in_place);
  EXPECT_LE(test::relative_error(backend->to_host_f32(in_place), gelu), kTolerance);
  Tensor b_copy = backend->from_host_f32(b.data(), {rows, cols}, DType::F32);
  backend->add(ta, b_copy, b_copy);
  EXPECT_EQ(test::relative_error(backend->to_host_f32(b_copy), sum), 0.0);
}

TEST(CpuOps, EmbeddingConvertsRowsOfAnyWeightDtype) {
  auto backend = make_cpu_backend(2);
  const int64_t vocab = 50, dim = 97;
  const std::vector<int32_t> ids = {3, 0, 49, 3, 17};
  for (DType dtype : {DType::F32, DType::BF16, DType::F16}) {
    SCOPED_TRACE(dtype_name(dtype));
    auto table = test::quantise(test::random_values(static_cast<size_t>(vocab * dim), 8), dtype);
    Tensor tt = backend->from_host_f32(table.data(), {vocab, dim}, dtype);
    Tensor y = backend->alloc(DType::F32, {static_cast<int64_t>(ids.size()), dim});
    backend->embedding(tt, ids, y);
    auto got = backend->to_host_f32(y);
    for (size_t i = 0; i < ids.size(); ++i) {
      for (int64_t d = 0; d < dim; ++d) {
        ASSERT_EQ(got[i * dim + d], table[ids[i] * dim + d]) << "row " << i << " col " << d;
      }
    }
  }
}

TEST(CpuOps, EmbeddingRejectsIdsOutsideTheTable) {
  auto backend = make_cpu_backend(1);
  Tensor table = backend->alloc(DType::BF16, {10, 4});
  Tensor y = backend->alloc(DType::F32, {1, 4});
  const std::vector<int32_t> too_big = {10};
  const std::vector<int32_t> negative = {-1};
  EXPECT_THROW(backend->embedding(table, too_big, y), Error);
  EXPECT_THROW(backend->embedding(table, negative, y), Error);
}

TEST(CpuOps, GatherAndCopyRowsMoveWholeRows) {
  auto backend = make_cpu_backend(2);
  const int64_t rows = 9, cols = 5;
  std::vector<float> x(static_cast<size_t>(rows * cols));
  for (size_t i = 0; i < x.size(); ++i) x[i] = static_cast<float>(i);
  Tensor tx = backend->from_host_f32(x.data(), {rows, cols}, DType::F32);
  const std::vector<int32_t> index = {8, 0, 0, 4};
  Tensor g = backend->alloc(DType::F32, {4, cols});
  backend->gather_rows(tx, index, g);
  auto got = backend->to_host_f32(g);
  for (size_t i = 0; i < index.size(); ++i) {
    for (int64_t c = 0; c < cols; ++c) EXPECT_EQ(got[i * cols + c], x[index[i] * cols + c]);
  }
  const std::vector<int32_t> bad = {9};
  Tensor g1 = backend->alloc(DType::F32, {1, cols});
  EXPECT_THROW(backend->gather_rows(tx, bad, g1), Error);

  Tensor dst = backend->from_host_f32(std::vector<float>(static_cast<size_t>(6 * cols), -1.0f).data(),
                                      {6, cols}, DType::F32);
  backend->copy_rows(tx, 2, dst, 3, 3);
  auto copied = backend->to_host_f32(dst);
  for (int64_t r = 0; r < 6; ++r) {
    for (int64_t c = 0; c < cols; ++c) {
      const float want = r >= 3 ? x[(r - 1) * cols + c] : -1.0f;
      EXPECT_EQ(copied[r * cols + c], want) << "row " << r;
    }
  }
  EXPECT_THROW(backend->copy_rows(tx, 7, dst, 0, 3), Error);
  EXPECT_THROW(backend->copy_rows(tx, 0, dst, 4, 3), Error);
}

TEST(CpuOps, ArgmaxTakesTheFirstMaximum) {
  auto backend = make_cpu_backend(2);
  const std::vector<float> x = {1, 5, 5, 2,     // tie: first
                                -3, -2, -9, -2,  // tie among negatives
                                0, 0, 0, 0,      // all equal
                                1, 2, 3, 4};
  Tensor tx = backend->from_host_f32(x.data(), {4, 4}, DType::F32);
  EXPECT_EQ(backend->argmax(tx), (std::vector<int32_t>{1, 1, 0, 3}));
  Tensor tb = backend->from_host_f32(x.data(), {4, 4}, DType::BF16);
  EXPECT_EQ(backend->argmax(tb), (std::vector<int32_t>{1, 1, 0, 3}));
  // A long row (vocabulary-sized) with the maximum near the end.
  std::vector<float> long_row = test::random_values(152064, 9);
  long_row[150001] = 2.0f;
  Tensor tl = backend->from_host_f32(long_row.data(), {1, 152064}, DType::F32);
  EXPECT_EQ(backend->argmax(tl), (std::vector<int32_t>{150001}));
}

TEST(CpuOps, AllocIsAlignedAndUploadIsZeroCopy) {
  auto backend = make_cpu_backend(1);
  for (int64_t n : {0, 1, 3, 1000}) {
    Tensor t = backend->alloc(DType::BF16, {n, 3});
    EXPECT_EQ(reinterpret_cast<uintptr_t>(t.data()) % 64, 0u);
    EXPECT_EQ(t.shape(), (std::vector<int64_t>{n, 3}));
  }
  Tensor host = backend->alloc(DType::BF16, {4, 4});
  Tensor uploaded = backend->upload_weight(host);
  EXPECT_EQ(uploaded.data(), host.data());
  EXPECT_EQ(uploaded.dtype(), DType::BF16);
  EXPECT_EQ(backend->activation_dtype(), DType::F32);
}

TEST(CpuOps, HostRoundTripKeepsQuantisedValues) {
  auto backend = make_cpu_backend(1);
  auto values = test::random_values(101, 10, -100.0f, 100.0f);
  for (DType dtype : {DType::F32, DType::BF16, DType::F16}) {
    Tensor t = backend->from_host_f32(values.data(), {101}, dtype);
    EXPECT_EQ(backend->to_host_f32(t), test::quantise(values, dtype)) << dtype_name(dtype);
  }
  EXPECT_THROW(backend->from_host_f32(values.data(), {101}, DType::I32), Error);
}

TEST(CpuOps, SupportsAnswersMatchWhatTheOpsAccept) {
  auto backend = make_cpu_backend(1);
  for (DType dtype : {DType::F32, DType::F16, DType::BF16}) {
    EXPECT_TRUE(backend->supports(Op::MatMul, dtype));
    EXPECT_TRUE(backend->supports(Op::RmsNorm, dtype));
    EXPECT_TRUE(backend->supports(Op::Embedding, dtype));
    EXPECT_TRUE(backend->supports(Op::Argmax, dtype));
  }
  EXPECT_TRUE(backend->supports(Op::AttentionVarlen, DType::F32));
  EXPECT_FALSE(backend->supports(Op::AttentionVarlen, DType::BF16));
  EXPECT_FALSE(backend->supports(Op::AttentionCausal, DType::F16));
  EXPECT_FALSE(backend->supports(Op::Gelu, DType::BF16));
  EXPECT_FALSE(backend->supports(Op::Embedding, DType::I32));
  // An activation op handed a dtype it says it does not support refuses it.
  Tensor x = backend->alloc(DType::BF16, {2, 4});
  Tensor y = backend->alloc(DType::BF16, {2, 4});
  EXPECT_THROW(backend->gelu(x, y), Error);
}

}  // namespace
}  // namespace vlm
