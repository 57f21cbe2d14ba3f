// The default ops on joined projections (vlm/backend.h: rope_append, silu_mul_joined,
// rope_attention_varlen_joined): the op sequences they stand for, with the parts of each joined
// row gathered into their own tensors first (gather_rows over the row viewed as heads, halves or
// thirds). A backend that joins weights (CUDA) runs each as one kernel that reads the joined rows
// in place and must give these values; the CPU keeps its weights apart and never calls them,
// except in tests that join on purpose.
#include <vector>

#include "vlm/backend.h"
#include "vlm/backend_checks.h"
#include "vlm/error.h"

namespace vlm {

namespace {

// Row indices of `count` consecutive sub-rows starting at `first` in each of `rows` joined rows
// of `per_row` sub-rows.
std::vector<int32_t> sub_rows(int64_t rows, int64_t per_row, int64_t first, int64_t count) {
  VLM_CHECK(rows * per_row <= INT32_MAX, InvalidInput,
            "joined rows: " << rows << " x " << per_row << " sub-rows exceed the int32 row index");
  std::vector<int32_t> index;
  index.reserve(static_cast<size_t>(rows * count));
  for (int64_t r = 0; r < rows; ++r) {
    for (int64_t j = 0; j < count; ++j) index.push_back(static_cast<int32_t>(r * per_row + first + j));
  }
  return index;
}

}  // namespace

void Backend::rope_append(const Tensor& qkv, const Tensor& cos, const Tensor& sin, Tensor& q,
                          Tensor& k_cache, Tensor& v_cache, int64_t n_past) {
  const DTypePolicy policy{activation_dtype(), false, "the backend's activation dtype"};
  const RopeAppendRowsShape s =
      check_rope_append_rows_args(qkv, cos, sin, q, k_cache, v_cache, n_past, policy);
  if (s.rows == 0) return;
  const int64_t per_row = s.heads + 2 * s.kv_heads;
  const Tensor heads = qkv.reshape({s.rows * per_row, s.head_dim});
  Tensor q_heads = q.reshape({s.rows * s.heads, s.head_dim});
  gather_rows(heads, sub_rows(s.rows, per_row, 0, s.heads), q_heads);
  rope(q, cos, sin);
  Tensor k = alloc(qkv.dtype(), {s.rows, s.kv_heads, s.head_dim});
  Tensor v = alloc(qkv.dtype(), {s.rows, s.kv_heads, s.head_dim});
  Tensor k_heads = k.reshape({s.rows * s.kv_heads, s.head_dim});
  Tensor v_heads = v.reshape({s.rows * s.kv_heads, s.head_dim});
  gather_rows(heads, sub_rows(s.rows, per_row, s.heads, s.kv_heads), k_heads);
  gather_rows(heads, sub_rows(s.rows, per_row, s.heads + s.kv_heads, s.kv_heads), v_heads);
  rope(k, cos, sin);
  const int64_t kv_row = s.kv_heads * s.head_dim;
  Tensor k_rows = k_cache.reshape({s.capacity, kv_row});
  Tensor v_rows = v_cache.reshape({s.capacity, kv_row});
  copy_rows(k.reshape({s.rows, kv_row}), 0, k_rows, n_past, s.rows);
  copy_rows(v.reshape({s.rows, kv_row}), 0, v_rows, n_past, s.rows);
}

void Backend::silu_mul_joined(const Tensor& gate_up, Tensor& y) {
  const DTypePolicy policy{activation_dtype(), false, "the backend's activation dtype"};
  const int64_t width = check_silu_mul_joined_args(gate_up, y, policy);
  const int64_t rows = y.rows();
  if (rows == 0 || width == 0) return;
  const Tensor halves = gate_up.reshape({2 * rows, width});
  Tensor gate = alloc(gate_up.dtype(), {rows, width});
  Tensor up = alloc(gate_up.dtype(), {rows, width});
  gather_rows(halves, sub_rows(rows, 2, 0, 1), gate);
  gather_rows(halves, sub_rows(rows, 2, 1, 1), up);
  silu_mul(gate, up, y);
}

void Backend::rope_attention_varlen_joined(const Tensor& qkv, const Tensor& cos, const Tensor& sin,
                                           std::span<const int32_t> cu_seqlens, float scale,
                                           Tensor& out) {
  const DTypePolicy policy{activation_dtype(), false, "the backend's activation dtype"};
  const AttentionShape s = check_rope_attention_varlen_joined_args(qkv, cos, sin, cu_seqlens, out, policy);
  if (s.rows == 0 || s.heads == 0) return;
  const int64_t width = s.heads * s.head_dim;
  const Tensor thirds = qkv.reshape({3 * s.rows, width});
  Tensor q = alloc(qkv.dtype(), {s.rows, s.heads, s.head_dim});
  Tensor k = alloc(qkv.dtype(), {s.rows, s.heads, s.head_dim});
  Tensor v = alloc(qkv.dtype(), {s.rows, s.heads, s.head_dim});
  Tensor q_rows = q.reshape({s.rows, width}), k_rows = k.reshape({s.rows, width});
  Tensor v_rows = v.reshape({s.rows, width});
  gather_rows(thirds, sub_rows(s.rows, 3, 0, 1), q_rows);
  gather_rows(thirds, sub_rows(s.rows, 3, 1, 1), k_rows);
  gather_rows(thirds, sub_rows(s.rows, 3, 2, 1), v_rows);
  rope_attention_varlen(q, k, v, cos, sin, cu_seqlens, scale, out);
}

}  // namespace vlm
