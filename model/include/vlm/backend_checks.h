// Argument checks shared by the vlm::Backend implementations (backend.h). This header is for
// backend implementers (model/src/backend_cpu/, cuda/), not for model code: an op calls the check
// for its arguments first, then does its work, so every backend rejects the same bad calls with the
// same error code and message (op name, tensor name, shapes).
// Shaped so because the rules of backend.h (shapes, aliasing, segment bounds, index ranges) are the
// same on every device; only the dtype a backend accepts differs, so that is a parameter
// (DTypePolicy). Limits that belong to one device (e.g. CUDA's int32 grid sizes, its maximum
// head_dim) stay as small local checks in that backend.
#pragma once

#include <cstdint>
#include <initializer_list>
#include <span>
#include <vector>

#include "vlm/backend.h"
#include "vlm/tensor.h"

namespace vlm {

// The dtypes one backend accepts.
struct DTypePolicy {
  DType activation;  // every activation argument and output (backend.h: activation_dtype())
  // matmul/rmsnorm weights: true = they must be `activation` too (the backend converted them in
  // upload_weight), false = any of F32/F16/BF16 (converted inside the op).
  bool weights_in_activation_dtype;
  // Quoted when an activation (or fixed-dtype weight) has another dtype, e.g.
  // "the CPU backend's activations are F32".
  const char* rule;
};

// Backend::supports() under the policy: the dtypes the checks below accept for `op` (weights for
// matmul/rmsnorm, the table for embedding, the input for argmax, activations for the rest;
// gather_rows/copy_rows move bytes of any dtype).
bool supports_under(const DTypePolicy& policy, Op op, DType dtype);

// A tensor argument with the name its messages use.
struct NamedTensor {
  const Tensor& tensor;
  const char* name;
};

// ---- memory ----
// Byte size of a `dtype` tensor of `shape` for Backend::alloc; InvalidInput (naming `op`) for a
// negative dimension or an element or byte count that overflows.
size_t check_alloc_bytes(DType dtype, const std::vector<int64_t>& shape, const char* op);

// ---- single tensors ----
// t has the policy's activation dtype (Unsupported) and storage, unless it has no elements
// (InvalidInput).
void check_activation(const Tensor& t, const DTypePolicy& policy, const char* op, const char* name);
// t has storage and one of F32/F16/BF16: tables and inputs every backend converts itself
// (embedding tables, argmax inputs, CPU weights).
void check_float_tensor(const Tensor& t, const char* op, const char* name);
// A matmul/rmsnorm weight under the policy (see DTypePolicy::weights_in_activation_dtype).
void check_weight(const Tensor& t, const DTypePolicy& policy, const char* op, const char* name);
// a and b hold the same number of elements in rows of the same length (InvalidInput).
void check_same_shape(const Tensor& a, const Tensor& b, const char* op, const char* a_name,
                      const char* b_name);

// ---- per op (the shape rules of backend.h; dtypes under the policy) ----
// Elementwise ops: every tensor is an activation and has the shape of the first.
void check_elementwise_args(const DTypePolicy& policy, const char* op,
                            std::initializer_list<NamedTensor> tensors);
// A norm's gain: a weight of `dim` elements.
void check_norm_weight(const Tensor& weight, int64_t dim, const DTypePolicy& policy, const char* op);

struct MatmulShape {
  int64_t m, n, k;
};
// y[M,N] = x[M,K] · w[N,K]ᵀ (+ bias[N]); y may not alias x; bias may be empty.
MatmulShape check_matmul_args(const Tensor& x, const Tensor& w, const Tensor& bias, const Tensor& y,
                              const DTypePolicy& policy);

struct RopeShape {
  int64_t rows, heads, head_dim;  // heads is 0 when rows is 0
};
// x [M, heads, head_dim] activations; cos/sin F32 [M, head_dim] tables, head_dim even.
RopeShape check_rope_args(const Tensor& x, const Tensor& cos, const Tensor& sin,
                          const DTypePolicy& policy);

struct AttentionShape {
  int64_t rows, heads, head_dim;
};
// q, k, v, out [M, heads, head_dim] alike; cu_seqlens runs from 0 to M without decreasing.
AttentionShape check_attention_varlen_args(const Tensor& q, const Tensor& k, const Tensor& v,
                                           std::span<const int32_t> cu_seqlens, const Tensor& out,
                                           const DTypePolicy& policy);
// rope_attention_varlen_joined: qkv [M, 3·heads·head_dim] for out [M, heads, head_dim] (not
// overlapping qkv), cos/sin [M, head_dim] F32 tables, cu_seqlens from 0 to M without decreasing.
AttentionShape check_rope_attention_varlen_joined_args(const Tensor& qkv, const Tensor& cos,
                                                       const Tensor& sin,
                                                       std::span<const int32_t> cu_seqlens,
                                                       const Tensor& out, const DTypePolicy& policy);

struct CausalAttentionShape {
  int64_t n_new, heads, kv_heads, head_dim, capacity;
};
// q/out [n_new, heads, head_dim]; k_cache/v_cache [capacity, kv_heads, head_dim] with heads a
// multiple of kv_heads and n_past + n_new <= capacity.
CausalAttentionShape check_attention_causal_args(const Tensor& q, const Tensor& k_cache,
                                                 const Tensor& v_cache, int64_t n_past,
                                                 const Tensor& out, const DTypePolicy& policy);

// rope_append (model/src/core/backend_joined.cpp): qkv [n, (heads + 2·n_kv)·head_dim], cos/sin
// [n, head_dim] F32, q [n, heads, head_dim], caches [capacity, n_kv, head_dim] alike, all
// activations, 0 <= n_past and n_past + n <= capacity.
struct RopeAppendRowsShape {
  int64_t rows, heads, kv_heads, head_dim, capacity;
};
RopeAppendRowsShape check_rope_append_rows_args(const Tensor& qkv, const Tensor& cos, const Tensor& sin,
                                                const Tensor& q, const Tensor& k_cache,
                                                const Tensor& v_cache, int64_t n_past,
                                                const DTypePolicy& policy);
// silu_mul_joined: gate_up [n, 2F] and y [n, F] activations, y not overlapping gate_up. Returns F.
int64_t check_silu_mul_joined_args(const Tensor& gate_up, const Tensor& y, const DTypePolicy& policy);

// table [V, D] of any float dtype, y [ids.size(), D] activations, every id in [0, V).
void check_embedding_args(const Tensor& table, std::span<const int32_t> ids, const Tensor& y,
                          const DTypePolicy& policy);
// x and y share dtype and row length, y has index.size() rows and does not alias x, every index
// in [0, x.rows()).
void check_gather_rows_args(const Tensor& x, std::span<const int32_t> index, const Tensor& y);
// Same dtype and row length; both row ranges inside their tensors.
void check_copy_rows_args(const Tensor& src, int64_t src_row0, const Tensor& dst, int64_t dst_row0,
                          int64_t n_rows);
// x of any float dtype with non-empty rows.
void check_argmax_args(const Tensor& x);
// logits: one non-empty row of any float dtype; params under the CPU sampler's rules, which it
// checks only where a step applies (sampling: temperature positive and finite unless 1, top_p in
// [0, 1]; repetition_penalty positive unless 1; top_k <= 0 means off), and uniform in [0, 1).
// Returns the vocabulary size (the row length). (model/src/core/backend_sample.cpp)
int64_t check_sample_args(const Tensor& logits, const SampleParams& params);

// ---- recorded steps (model/src/core/backend_steps.cpp) ----
// A device-side scalar list of the *_at ops: I32 with exactly n elements.
void check_step_scalars(const Tensor& t, int64_t n, const char* op, const char* name);
// rope_append_at: caches [capacity, n_kv, head_dim] alike, qkv one row of (heads + 2·n_kv) heads
// of their dtype, n_past_at I32 [1].
struct RopeAppendShape {
  int64_t heads = 0, kv_heads = 0, head_dim = 0, capacity = 0;
};
RopeAppendShape check_rope_append_args(const Tensor& qkv, const Tensor& k_cache, const Tensor& v_cache,
                                       const Tensor& n_past_at);
// upload_weights_concat: at least one weight, all 2-D of one dtype and row length. Returns the rows.
int64_t check_concat_weights_args(std::span<const Tensor> weights);

}  // namespace vlm
