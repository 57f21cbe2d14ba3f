// The ops on joined projections (vlm/backend.h: rope_append, silu_mul_joined,
// rope_attention_varlen_joined) as the base class defines them (backend_joined.cpp, run here on
// the CPU backend) against naive double-precision loops over the joined rows or the op sequence on
// parts copied out on the host, and the shared argument checks (tests/gpu holds the CUDA kernels
// to the same sequences). Tolerance 1e-6 of the largest magnitude; moved values exactly.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <string>

#include "naive_ops.h"
#include "vlm/error.h"

namespace vlm {
namespace {

constexpr double kTolerance = 1e-6;

struct RopeAppendCase {
  int64_t rows, heads, kv_heads, head_dim, capacity, n_past;
};

TEST(JoinedOps, RopeAppendRotatesQAndKAndStoresKAndVAtTheirCacheRows) {
  auto backend = make_cpu_backend(2);
  for (const RopeAppendCase& c : {RopeAppendCase{19, 4, 2, 128, 40, 5}, RopeAppendCase{1, 3, 1, 80, 8, 7},
                                  RopeAppendCase{6, 2, 2, 16, 6, 0}}) {
    SCOPED_TRACE(std::to_string(c.rows) + " rows, head_dim " + std::to_string(c.head_dim));
    const int64_t per_row = (c.heads + 2 * c.kv_heads) * c.head_dim, half = c.head_dim / 2;
    const int64_t kv_row = c.kv_heads * c.head_dim;
    auto qkv = test::random_values(static_cast<size_t>(c.rows * per_row), 11);
    auto cos = test::random_values(static_cast<size_t>(c.rows * c.head_dim), 12);
    auto sin = test::random_values(static_cast<size_t>(c.rows * c.head_dim), 13);
    auto cache_before = test::random_values(static_cast<size_t>(c.capacity * kv_row), 14);
    std::vector<double> want_q(static_cast<size_t>(c.rows * c.heads * c.head_dim));
    std::vector<double> want_k = test::to_double(cache_before), want_v = want_k;
    const auto rotate = [&](int64_t r, const float* in, double* out) {
      const float* cr = &cos[static_cast<size_t>(r * c.head_dim)];
      const float* sr = &sin[static_cast<size_t>(r * c.head_dim)];
      for (int64_t p = 0; p < half; ++p) {
        out[p] = static_cast<double>(in[p]) * cr[p] - static_cast<double>(in[p + half]) * sr[p];
        out[p + half] = static_cast<double>(in[p + half]) * cr[p + half] + static_cast<double>(in[p]) * sr[p + half];
      }
    };
    for (int64_t r = 0; r < c.rows; ++r) {
      const float* row = &qkv[static_cast<size_t>(r * per_row)];
      for (int64_t h = 0; h < c.heads; ++h) {
        rotate(r, row + h * c.head_dim, &want_q[static_cast<size_t>((r * c.heads + h) * c.head_dim)]);
      }
      for (int64_t h = 0; h < c.kv_heads; ++h) {
        const size_t at = static_cast<size_t>((c.n_past + r) * kv_row + h * c.head_dim);
        rotate(r, row + (c.heads + h) * c.head_dim, &want_k[at]);
        for (int64_t e = 0; e < c.head_dim; ++e) {
          want_v[at + static_cast<size_t>(e)] = row[(c.heads + c.kv_heads + h) * c.head_dim + e];
        }
      }
    }
    Tensor t_qkv = backend->from_host_f32(qkv.data(), {c.rows, per_row}, DType::F32);
    Tensor t_cos = backend->from_host_f32(cos.data(), {c.rows, c.head_dim}, DType::F32);
    Tensor t_sin = backend->from_host_f32(sin.data(), {c.rows, c.head_dim}, DType::F32);
    Tensor q = backend->alloc(DType::F32, {c.rows, c.heads, c.head_dim});
    Tensor k_cache = backend->from_host_f32(cache_before.data(), {c.capacity, c.kv_heads, c.head_dim}, DType::F32);
    Tensor v_cache = backend->from_host_f32(cache_before.data(), {c.capacity, c.kv_heads, c.head_dim}, DType::F32);
    backend->rope_append(t_qkv, t_cos, t_sin, q, k_cache, v_cache, c.n_past);
    EXPECT_LE(test::relative_error(backend->to_host_f32(q), want_q), kTolerance);
    EXPECT_LE(test::relative_error(backend->to_host_f32(k_cache), want_k), kTolerance);  // other rows kept
    EXPECT_EQ(test::relative_error(backend->to_host_f32(v_cache), want_v), 0.0);
    EXPECT_EQ(test::relative_error(backend->to_host_f32(t_qkv), test::to_double(qkv)), 0.0);  // unchanged
  }
}

TEST(JoinedOps, SiluMulJoinedTakesEachRowsHalvesAsGateAndUp) {
  auto backend = make_cpu_backend(2);
  const int64_t rows = 7, width = 1031;
  auto gate_up = test::random_values(static_cast<size_t>(rows * 2 * width), 15, -8.0f, 8.0f);
  std::vector<double> want(static_cast<size_t>(rows * width));
  for (int64_t r = 0; r < rows; ++r) {
    for (int64_t j = 0; j < width; ++j) {
      const double g = gate_up[static_cast<size_t>(r * 2 * width + j)];
      const double u = gate_up[static_cast<size_t>(r * 2 * width + width + j)];
      want[static_cast<size_t>(r * width + j)] = g / (1.0 + std::exp(-g)) * u;
    }
  }
  Tensor t = backend->from_host_f32(gate_up.data(), {rows, 2 * width}, DType::F32);
  Tensor y = backend->alloc(DType::F32, {rows, width});
  backend->silu_mul_joined(t, y);
  EXPECT_LE(test::relative_error(backend->to_host_f32(y), want), kTolerance);
}

TEST(JoinedOps, RopeAttentionVarlenJoinedIsTheSequenceOnTheThirdsOfEachRow) {
  // The ViT's joined q|k|v rows: the same values as rope_attention_varlen on the three parts
  // copied out on the host (bit for bit: the same ops on the same values); qkv is left as it was.
  auto backend = make_cpu_backend(2);
  const int64_t rows = 37, heads = 3, head_dim = 16, width = heads * head_dim;
  const std::vector<int32_t> segments = {0, 16, 16, 30, 37};
  auto qkv = test::random_values(static_cast<size_t>(rows * 3 * width), 16);
  auto cos = test::random_values(static_cast<size_t>(rows * head_dim), 17);
  auto sin = test::random_values(static_cast<size_t>(rows * head_dim), 18);
  std::vector<float> parts[3];
  for (int part = 0; part < 3; ++part) {
    for (int64_t r = 0; r < rows; ++r) {
      const float* row = &qkv[static_cast<size_t>(r * 3 * width + part * width)];
      parts[part].insert(parts[part].end(), row, row + width);
    }
  }
  Tensor t_cos = backend->from_host_f32(cos.data(), {rows, head_dim}, DType::F32);
  Tensor t_sin = backend->from_host_f32(sin.data(), {rows, head_dim}, DType::F32);
  Tensor q = backend->from_host_f32(parts[0].data(), {rows, heads, head_dim}, DType::F32);
  Tensor k = backend->from_host_f32(parts[1].data(), {rows, heads, head_dim}, DType::F32);
  Tensor v = backend->from_host_f32(parts[2].data(), {rows, heads, head_dim}, DType::F32);
  Tensor want = backend->alloc(DType::F32, {rows, heads, head_dim});
  backend->rope_attention_varlen(q, k, v, t_cos, t_sin, segments, 0.25f, want);
  Tensor t_qkv = backend->from_host_f32(qkv.data(), {rows, 3 * width}, DType::F32);
  Tensor got = backend->alloc(DType::F32, {rows, heads, head_dim});
  backend->rope_attention_varlen_joined(t_qkv, t_cos, t_sin, segments, 0.25f, got);
  EXPECT_EQ(backend->to_host_f32(got), backend->to_host_f32(want));
  EXPECT_EQ(backend->to_host_f32(t_qkv), qkv);
}

// Expects InvalidInput with `words` in the message.
template <typename Call>
void expect_invalid(Call call, const std::string& words) {
  try {
    call();
    FAIL() << "no error; expected one naming \"" << words << "\"";
  } catch (const Error& error) {
    EXPECT_EQ(error.code(), ErrorCode::InvalidInput) << error.what();
    EXPECT_NE(std::string(error.what()).find(words), std::string::npos) << error.what();
  }
}

TEST(JoinedOps, RejectCacheOverflowWrongWidthsAndOverlap) {
  auto backend = make_cpu_backend(1);
  Tensor qkv = backend->alloc(DType::F32, {3, (4 + 2 * 2) * 8});
  Tensor table = backend->alloc(DType::F32, {3, 8});
  Tensor q = backend->alloc(DType::F32, {3, 4, 8});
  Tensor k_cache = backend->alloc(DType::F32, {10, 2, 8});
  Tensor v_cache = backend->alloc(DType::F32, {10, 2, 8});
  expect_invalid([&] { backend->rope_append(qkv, table, table, q, k_cache, v_cache, 8); },
                 "positions [8, 11) exceed the cache capacity 10");
  Tensor narrow = backend->alloc(DType::F32, {3, (4 + 2) * 8});
  expect_invalid([&] { backend->rope_append(narrow, table, table, q, k_cache, v_cache, 0); },
                 "must be [3, 64]");
  Tensor gate_up = backend->alloc(DType::F32, {4, 20});
  Tensor wrong_y = backend->alloc(DType::F32, {4, 9});
  expect_invalid([&] { backend->silu_mul_joined(gate_up, wrong_y); }, "must be [4, 18]");
  Tensor inside = gate_up.reshape({8, 10}).slice_rows(4, 4);  // y over gate_up's last rows
  expect_invalid([&] { backend->silu_mul_joined(gate_up, inside); }, "may not overlap");
  // rope_attention_varlen_joined: qkv not three parts of out's heads, tables of another height,
  // segments not ending at the rows, out inside qkv.
  Tensor rows_qkv = backend->alloc(DType::F32, {6, 3 * 2 * 8});
  Tensor out = backend->alloc(DType::F32, {6, 2, 8});
  Tensor tables = backend->alloc(DType::F32, {6, 8});
  const std::vector<int32_t> segments = {0, 6};
  Tensor two_thirds = backend->alloc(DType::F32, {6, 2 * 2 * 8});
  expect_invalid([&] { backend->rope_attention_varlen_joined(two_thirds, tables, tables, segments, 1.0f, out); },
                 "must be [6, 48]");
  expect_invalid([&] { backend->rope_attention_varlen_joined(rows_qkv, table, table, segments, 1.0f, out); },
                 "cos ");
  const std::vector<int32_t> short_segments = {0, 5};
  expect_invalid([&] { backend->rope_attention_varlen_joined(rows_qkv, tables, tables, short_segments, 1.0f, out); },
                 "cu_seqlens must run from 0 to the 6 rows");
  Tensor out_inside = rows_qkv.reshape({18, 2, 8}).slice_rows(0, 6);
  expect_invalid([&] { backend->rope_attention_varlen_joined(rows_qkv, tables, tables, segments, 1.0f, out_inside); },
                 "may not overlap");
}

}  // namespace
}  // namespace vlm
