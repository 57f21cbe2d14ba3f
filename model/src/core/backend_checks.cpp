// Argument checks shared by the Backend implementations (vlm/backend_checks.h). Every message
// names the op, the tensor and what it is (dtype and shape via Tensor::describe()), and the rule
// it breaks; shape errors are InvalidInput, dtypes a backend does not take are Unsupported.
#include "vlm/backend_checks.h"

#include <cstdint>

#include "vlm/error.h"

namespace vlm {

bool supports_under(const DTypePolicy& policy, Op op, DType dtype) {
  const bool float_dtype = dtype == DType::F32 || dtype == DType::F16 || dtype == DType::BF16;
  switch (op) {
    case Op::MatMul:
    case Op::RmsNorm:
      return policy.weights_in_activation_dtype ? dtype == policy.activation : float_dtype;
    case Op::Embedding:
    case Op::Argmax:
      return float_dtype;
    case Op::Rope:
    case Op::AttentionVarlen:
    case Op::AttentionCausal:
    case Op::SiluMul:
    case Op::Gelu:
    case Op::Add:
      return dtype == policy.activation;
    case Op::GatherRows:
    case Op::CopyRows:
      return true;
  }
  return false;
}

size_t check_alloc_bytes(DType dtype, const std::vector<int64_t>& shape, const char* op) {
  int64_t numel = 1;
  for (int64_t d : shape) {
    VLM_CHECK(d >= 0, InvalidInput, op << ": negative dimension in " << shape_string(shape));
    VLM_CHECK(d == 0 || numel <= INT64_MAX / d, InvalidInput,
              op << ": element count of " << shape_string(shape) << " overflows");
    numel *= d;
  }
  const size_t size = dtype_size(dtype);
  VLM_CHECK(static_cast<uint64_t>(numel) <= SIZE_MAX / size, InvalidInput,
            op << ": byte count of " << dtype_name(dtype) << shape_string(shape) << " overflows");
  return static_cast<size_t>(numel) * size;
}

void check_activation(const Tensor& t, const DTypePolicy& policy, const char* op, const char* name) {
  VLM_CHECK(t.dtype() == policy.activation, Unsupported,
            op << ": " << name << " is " << t.describe() << ", " << policy.rule);
  VLM_CHECK(!t.empty() || t.numel() == 0, InvalidInput, op << ": " << name << " is empty");
}

void check_float_tensor(const Tensor& t, const char* op, const char* name) {
  VLM_CHECK(!t.empty(), InvalidInput, op << ": " << name << " is empty");
  VLM_CHECK(t.dtype() == DType::F32 || t.dtype() == DType::F16 || t.dtype() == DType::BF16,
            Unsupported, op << ": " << name << " is " << t.describe() << ", expected F32, F16 or BF16");
}

void check_weight(const Tensor& t, const DTypePolicy& policy, const char* op, const char* name) {
  if (policy.weights_in_activation_dtype) {
    check_activation(t, policy, op, name);
  } else {
    check_float_tensor(t, op, name);
  }
}

void check_same_shape(const Tensor& a, const Tensor& b, const char* op, const char* a_name,
                      const char* b_name) {
  VLM_CHECK(a.numel() == b.numel() && a.cols() == b.cols(), InvalidInput,
            op << ": " << a_name << " " << a.describe() << " and " << b_name << " " << b.describe()
               << " must have the same shape");
}

void check_elementwise_args(const DTypePolicy& policy, const char* op,
                            std::initializer_list<NamedTensor> tensors) {
  for (const NamedTensor& t : tensors) check_activation(t.tensor, policy, op, t.name);
  if (tensors.size() < 2) return;
  const NamedTensor& first = *tensors.begin();
  for (auto it = tensors.begin() + 1; it != tensors.end(); ++it) {
    check_same_shape(first.tensor, it->tensor, op, first.name, it->name);
  }
}

void check_norm_weight(const Tensor& weight, int64_t dim, const DTypePolicy& policy, const char* op) {
  check_weight(weight, policy, op, "weight");
  VLM_CHECK(weight.numel() == dim, InvalidInput,
            op << ": weight " << weight.describe() << " must have " << dim << " elements");
}

MatmulShape check_matmul_args(const Tensor& x, const Tensor& w, const Tensor& bias, const Tensor& y,
                              const DTypePolicy& policy) {
  check_activation(x, policy, "matmul", "x");
  check_activation(y, policy, "matmul", "y");
  check_weight(w, policy, "matmul", "w");
  VLM_CHECK(w.rank() == 2, InvalidInput, "matmul: w " << w.describe() << " must be [N, K]");
  const MatmulShape shape{x.rows(), w.dim(0), x.cols()};
  VLM_CHECK(w.dim(1) == shape.k, InvalidInput,
            "matmul: x " << x.describe() << " and w " << w.describe() << " disagree on K");
  VLM_CHECK(y.rows() == shape.m && y.cols() == shape.n, InvalidInput,
            "matmul: y " << y.describe() << " must be [" << shape.m << ", " << shape.n << "]");
  VLM_CHECK(x.data() != y.data() || shape.m * shape.n == 0, InvalidInput,
            "matmul: y may not alias x");
  if (!bias.empty()) {
    check_weight(bias, policy, "matmul", "bias");
    VLM_CHECK(bias.numel() == shape.n, InvalidInput,
              "matmul: bias " << bias.describe() << " must have " << shape.n << " elements");
  }
  return shape;
}

RopeShape check_rope_args(const Tensor& x, const Tensor& cos, const Tensor& sin,
                          const DTypePolicy& policy) {
  check_activation(x, policy, "rope", "x");
  VLM_CHECK(cos.dtype() == DType::F32 && sin.dtype() == DType::F32, Unsupported,
            "rope: cos " << cos.describe() << " and sin " << sin.describe() << " must be F32 tables");
  VLM_CHECK((!cos.empty() || cos.numel() == 0) && (!sin.empty() || sin.numel() == 0), InvalidInput,
            "rope: cos " << cos.describe() << " or sin " << sin.describe() << " is empty");
  VLM_CHECK(cos.rank() == 2 && sin.rank() == 2 && cos.shape() == sin.shape(), InvalidInput,
            "rope: cos " << cos.describe() << " and sin " << sin.describe()
                         << " must both be [M, head_dim]");
  const int64_t rows = cos.dim(0), head_dim = cos.dim(1);
  VLM_CHECK(head_dim > 0 && head_dim % 2 == 0, InvalidInput,
            "rope: head_dim " << head_dim << " must be even and positive");
  VLM_CHECK(x.rank() >= 1 && x.dim(0) == rows && (rows == 0 || x.numel() % (rows * head_dim) == 0) &&
                (x.rank() < 3 || x.dim(-1) == head_dim),
            InvalidInput, "rope: x " << x.describe() << " must be [" << rows << ", heads, " << head_dim << "]");
  return {rows, rows == 0 ? 0 : x.numel() / (rows * head_dim), head_dim};
}

namespace {

// cu_seqlens runs from 0 to `rows` without decreasing.
void check_cu_seqlens(std::span<const int32_t> cu_seqlens, int64_t rows, const char* op) {
  VLM_CHECK(cu_seqlens.size() >= 2 && cu_seqlens.front() == 0 && cu_seqlens.back() == rows,
            InvalidInput, op << ": cu_seqlens must run from 0 to the " << rows << " rows of q");
  for (size_t s = 0; s + 1 < cu_seqlens.size(); ++s) {
    VLM_CHECK(cu_seqlens[s] <= cu_seqlens[s + 1], InvalidInput,
              op << ": cu_seqlens decreases at " << s << " (" << cu_seqlens[s] << " > "
                 << cu_seqlens[s + 1] << ")");
  }
}

void check_attention_tensor(const Tensor& t, const DTypePolicy& policy, const char* op,
                            const char* name) {
  check_activation(t, policy, op, name);
  VLM_CHECK(t.rank() == 3, InvalidInput,
            op << ": " << name << " " << t.describe() << " must be [rows, heads, head_dim]");
}

// q [rows, heads, head_dim] and caches [capacity, kv_heads, head_dim] alike, all activations.
void check_q_and_caches(const Tensor& q, const Tensor& k_cache, const Tensor& v_cache,
                        const DTypePolicy& policy, const char* op) {
  check_attention_tensor(q, policy, op, "q");
  check_attention_tensor(k_cache, policy, op, "k_cache");
  check_attention_tensor(v_cache, policy, op, "v_cache");
  VLM_CHECK(v_cache.shape() == k_cache.shape(), InvalidInput,
            op << ": v_cache " << v_cache.describe() << " must match k_cache " << k_cache.describe());
  VLM_CHECK(k_cache.dim(2) == q.dim(2), InvalidInput,
            op << ": k_cache " << k_cache.describe() << " and q " << q.describe() << " differ in head_dim");
}

}  // namespace

AttentionShape check_attention_varlen_args(const Tensor& q, const Tensor& k, const Tensor& v,
                                           std::span<const int32_t> cu_seqlens, const Tensor& out,
                                           const DTypePolicy& policy) {
  const char* op = "attention_varlen";
  check_attention_tensor(q, policy, op, "q");
  check_attention_tensor(k, policy, op, "k");
  check_attention_tensor(v, policy, op, "v");
  check_attention_tensor(out, policy, op, "out");
  VLM_CHECK(k.shape() == q.shape() && v.shape() == q.shape() && out.shape() == q.shape(),
            InvalidInput, op << ": q " << q.describe() << ", k " << k.describe() << ", v "
                             << v.describe() << " and out " << out.describe() << " must match");
  const AttentionShape shape{q.dim(0), q.dim(1), q.dim(2)};
  check_cu_seqlens(cu_seqlens, shape.rows, op);
  return shape;
}

AttentionShape check_rope_attention_varlen_joined_args(const Tensor& qkv, const Tensor& cos,
                                                       const Tensor& sin,
                                                       std::span<const int32_t> cu_seqlens,
                                                       const Tensor& out, const DTypePolicy& policy) {
  const char* op = "rope_attention_varlen_joined";
  check_activation(qkv, policy, op, "qkv");
  check_attention_tensor(out, policy, op, "out");
  const AttentionShape shape{out.dim(0), out.dim(1), out.dim(2)};
  const int64_t row = 3 * shape.heads * shape.head_dim;
  VLM_CHECK(qkv.rank() == 2 && qkv.rows() == shape.rows && qkv.cols() == row, InvalidInput,
            op << ": qkv " << qkv.describe() << " must be [" << shape.rows << ", " << row
               << "] (q, k and v of " << shape.heads << " heads of " << shape.head_dim
               << ") for out " << out.describe());
  VLM_CHECK(cos.rank() == 2 && cos.dim(0) == shape.rows && cos.dim(1) == shape.head_dim,
            InvalidInput,
            op << ": cos " << cos.describe() << " must be [" << shape.rows << ", " << shape.head_dim << "]");
  check_rope_args(out, cos, sin, policy);  // the tables' dtype, storage and even head_dim
  const auto* in = static_cast<const char*>(qkv.data());
  const auto* to = static_cast<const char*>(out.data());
  VLM_CHECK(out.numel() == 0 || to + out.nbytes() <= in || in + qkv.nbytes() <= to, InvalidInput,
            op << ": out may not overlap qkv");
  check_cu_seqlens(cu_seqlens, shape.rows, op);
  return shape;
}

CausalAttentionShape check_attention_causal_args(const Tensor& q, const Tensor& k_cache,
                                                 const Tensor& v_cache, int64_t n_past,
                                                 const Tensor& out, const DTypePolicy& policy) {
  const char* op = "attention_causal";
  check_q_and_caches(q, k_cache, v_cache, policy, op);
  check_attention_tensor(out, policy, op, "out");
  VLM_CHECK(out.shape() == q.shape(), InvalidInput,
            op << ": out " << out.describe() << " must match q " << q.describe());
  const CausalAttentionShape shape{q.dim(0), q.dim(1), k_cache.dim(1), q.dim(2), k_cache.dim(0)};
  VLM_CHECK(shape.kv_heads > 0 && shape.heads % shape.kv_heads == 0, InvalidInput,
            op << ": " << shape.heads << " query heads are not a multiple of " << shape.kv_heads
               << " kv heads");
  VLM_CHECK(n_past >= 0 && n_past + shape.n_new <= shape.capacity, InvalidInput,
            op << ": positions [0, " << n_past + shape.n_new << ") exceed the cache capacity "
               << shape.capacity);
  return shape;
}

RopeAppendRowsShape check_rope_append_rows_args(const Tensor& qkv, const Tensor& cos, const Tensor& sin,
                                                const Tensor& q, const Tensor& k_cache,
                                                const Tensor& v_cache, int64_t n_past,
                                                const DTypePolicy& policy) {
  const char* op = "rope_append";
  check_activation(qkv, policy, op, "qkv");
  check_q_and_caches(q, k_cache, v_cache, policy, op);
  const RopeAppendRowsShape shape{q.dim(0), q.dim(1), k_cache.dim(1), q.dim(2), k_cache.dim(0)};
  const int64_t row = (shape.heads + 2 * shape.kv_heads) * shape.head_dim;
  VLM_CHECK(qkv.rank() == 2 && qkv.rows() == shape.rows && qkv.cols() == row, InvalidInput,
            op << ": qkv " << qkv.describe() << " must be [" << shape.rows << ", " << row << "] ("
               << shape.heads << " q, " << shape.kv_heads << " k and " << shape.kv_heads
               << " v heads of " << shape.head_dim << ")");
  VLM_CHECK(cos.rank() == 2 && cos.dim(0) == shape.rows && cos.dim(1) == shape.head_dim, InvalidInput,
            op << ": cos " << cos.describe() << " must be [" << shape.rows << ", " << shape.head_dim << "]");
  check_rope_args(q, cos, sin, policy);  // the tables' dtype, storage and even head_dim
  VLM_CHECK(n_past >= 0 && n_past + shape.rows <= shape.capacity, InvalidInput,
            op << ": positions [" << n_past << ", " << n_past + shape.rows
               << ") exceed the cache capacity " << shape.capacity);
  return shape;
}

int64_t check_silu_mul_joined_args(const Tensor& gate_up, const Tensor& y, const DTypePolicy& policy) {
  const char* op = "silu_mul_joined";
  check_activation(gate_up, policy, op, "gate_up");
  check_activation(y, policy, op, "y");
  const int64_t width = y.cols();
  VLM_CHECK(gate_up.rank() == 2 && y.rank() == 2 && gate_up.rows() == y.rows() &&
                gate_up.cols() == 2 * width,
            InvalidInput, op << ": gate_up " << gate_up.describe() << " must be [" << y.rows()
                             << ", " << 2 * width << "] for y " << y.describe());
  const auto* in = static_cast<const char*>(gate_up.data());
  const auto* out = static_cast<const char*>(y.data());
  VLM_CHECK(y.numel() == 0 || out + y.nbytes() <= in || in + gate_up.nbytes() <= out, InvalidInput,
            op << ": y may not overlap gate_up");
  return width;
}

void check_embedding_args(const Tensor& table, std::span<const int32_t> ids, const Tensor& y,
                          const DTypePolicy& policy) {
  check_float_tensor(table, "embedding", "table");
  check_activation(y, policy, "embedding", "y");
  VLM_CHECK(table.rank() == 2, InvalidInput, "embedding: table " << table.describe() << " must be [V, D]");
  const int64_t vocab = table.dim(0), dim = table.dim(1);
  VLM_CHECK(y.rows() == static_cast<int64_t>(ids.size()) && y.cols() == dim, InvalidInput,
            "embedding: y " << y.describe() << " must be [" << ids.size() << ", " << dim << "]");
  for (size_t i = 0; i < ids.size(); ++i) {
    VLM_CHECK(ids[i] >= 0 && ids[i] < vocab, InvalidInput,
              "embedding: token id " << ids[i] << " at " << i << " is outside the table's "
                                     << vocab << " rows");
  }
}

void check_gather_rows_args(const Tensor& x, std::span<const int32_t> index, const Tensor& y) {
  VLM_CHECK(x.dtype() == y.dtype() && x.cols() == y.cols(), InvalidInput,
            "gather_rows: x " << x.describe() << " and y " << y.describe()
                              << " must share dtype and row length");
  VLM_CHECK(y.rows() == static_cast<int64_t>(index.size()), InvalidInput,
            "gather_rows: y " << y.describe() << " must have " << index.size() << " rows");
  VLM_CHECK(x.data() != y.data() || index.empty(), InvalidInput, "gather_rows: y may not alias x");
  const int64_t n_src = x.rows();
  for (size_t i = 0; i < index.size(); ++i) {
    VLM_CHECK(index[i] >= 0 && index[i] < n_src, InvalidInput,
              "gather_rows: index " << index[i] << " at " << i << " is outside x's " << n_src << " rows");
  }
}

void check_copy_rows_args(const Tensor& src, int64_t src_row0, const Tensor& dst, int64_t dst_row0,
                          int64_t n_rows) {
  VLM_CHECK(src.dtype() == dst.dtype() && src.cols() == dst.cols(), InvalidInput,
            "copy_rows: src " << src.describe() << " and dst " << dst.describe()
                              << " must share dtype and row length");
  VLM_CHECK(n_rows >= 0 && src_row0 >= 0 && src_row0 + n_rows <= src.rows(), InvalidInput,
            "copy_rows: source rows [" << src_row0 << ", " << src_row0 + n_rows << ") outside "
                                       << src.describe());
  VLM_CHECK(dst_row0 >= 0 && dst_row0 + n_rows <= dst.rows(), InvalidInput,
            "copy_rows: destination rows [" << dst_row0 << ", " << dst_row0 + n_rows << ") outside "
                                            << dst.describe());
}

void check_argmax_args(const Tensor& x) {
  check_float_tensor(x, "argmax", "x");
  VLM_CHECK(x.cols() > 0, InvalidInput, "argmax: x " << x.describe() << " has empty rows");
}

}  // namespace vlm
