// CudaBackend ops (backend_cuda_impl.h): argument checks with the same rules and messages as the
// CPU reference, then one launcher (launch.h) or cuBLASLt call on the backend's stream. Host index
// lists (token ids, segment bounds, row permutations) are range-checked here and copied to pooled
// device buffers in stream order.
#include <algorithm>

#include "backend_cuda_impl.h"
#include "check.h"

namespace vlm::cuda {

namespace {

const bf16_bits* bf16_in(const Tensor& t) { return t.data_as<const bf16_bits>(); }
bf16_bits* bf16_out(Tensor& t) { return t.data_as<bf16_bits>(); }

void check_bf16(const Tensor& t, const char* op, const char* name) {
  VLM_CHECK(t.dtype() == DType::BF16, Unsupported,
            op << ": " << name << " is " << t.describe()
               << ", the CUDA backend's activations and weights are BF16 (upload_weight converts)");
  VLM_CHECK(!t.empty() || t.numel() == 0, InvalidInput, op << ": " << name << " is empty");
}

void check_float(const Tensor& t, const char* op, const char* name) {
  VLM_CHECK(!t.empty(), InvalidInput, op << ": " << name << " is empty");
  VLM_CHECK(t.dtype() == DType::F32 || t.dtype() == DType::F16 || t.dtype() == DType::BF16,
            Unsupported, op << ": " << name << " is " << t.describe() << ", expected F32, F16 or BF16");
}

void check_same_shape(const Tensor& a, const Tensor& b, const char* op, const char* a_name,
                      const char* b_name) {
  VLM_CHECK(a.numel() == b.numel() && a.cols() == b.cols(), InvalidInput,
            op << ": " << a_name << " " << a.describe() << " and " << b_name << " " << b.describe()
               << " must have the same shape");
}

void check_attention_tensor(const Tensor& t, const char* op, const char* name) {
  check_bf16(t, op, name);
  VLM_CHECK(t.rank() == 3, InvalidInput,
            op << ": " << name << " " << t.describe() << " must be [rows, heads, head_dim]");
}

void check_head_dim(int64_t head_dim, const char* op) {
  VLM_CHECK(head_dim > 0 && head_dim % 2 == 0 && head_dim <= kAttentionMaxHeadDim, Unsupported,
            op << ": head_dim " << head_dim << " must be even and at most " << kAttentionMaxHeadDim
               << " on CUDA");
}

void check_int32_range(int64_t value, const char* op, const char* what) {
  VLM_CHECK(value >= 0 && value <= INT32_MAX, Unsupported,
            op << ": " << what << " " << value << " exceeds the CUDA kernels' int32 range");
}

}  // namespace

void CudaBackend::matmul(const Tensor& x, const Tensor& w, const Tensor& bias, Tensor& y) {
  enter();
  check_bf16(x, "matmul", "x");
  check_bf16(w, "matmul", "w");
  check_bf16(y, "matmul", "y");
  VLM_CHECK(w.rank() == 2, InvalidInput, "matmul: w " << w.describe() << " must be [N, K]");
  const int64_t M = x.rows(), K = x.cols(), N = w.dim(0);
  VLM_CHECK(w.dim(1) == K, InvalidInput,
            "matmul: w " << w.describe() << " does not match x " << x.describe() << " (K)");
  VLM_CHECK(y.rows() == M && y.cols() == N, InvalidInput,
            "matmul: y " << y.describe() << " must be [" << M << ", " << N << "]");
  VLM_CHECK(x.data() != y.data() || M * N == 0, InvalidInput, "matmul: y may not alias x");
  if (!bias.empty()) {
    check_bf16(bias, "matmul", "bias");
    VLM_CHECK(bias.numel() == N, InvalidInput,
              "matmul: bias " << bias.describe() << " must have " << N << " values");
  }
  if (M == 0 || N == 0) return;
  VLM_CHECK(K > 0, InvalidInput, "matmul: x " << x.describe() << " has no columns");
  gemm_->run(x.data(), w.data(), bias.empty() ? nullptr : bias.data(), y.data(), M, N, K);
}

void CudaBackend::rmsnorm(const Tensor& x, const Tensor& weight, float eps, Tensor& y) {
  enter();
  check_bf16(x, "rmsnorm", "x");
  check_bf16(weight, "rmsnorm", "weight");
  check_bf16(y, "rmsnorm", "y");
  check_same_shape(x, y, "rmsnorm", "x", "y");
  const int64_t dim = x.cols();
  VLM_CHECK(weight.numel() == dim, InvalidInput,
            "rmsnorm: weight " << weight.describe() << " must have " << dim << " values");
  if (x.rows() == 0 || dim == 0) return;
  launch_rmsnorm(bf16_in(x), nullptr, bf16_in(weight), bf16_out(y), x.rows(), dim, eps, stream_);
  check_launch("rmsnorm");
}

void CudaBackend::add_rmsnorm(const Tensor& x, Tensor& residual, const Tensor& weight, float eps,
                              Tensor& y) {
  enter();
  check_bf16(x, "add_rmsnorm", "x");
  check_bf16(residual, "add_rmsnorm", "residual");
  check_bf16(weight, "add_rmsnorm", "weight");
  check_bf16(y, "add_rmsnorm", "y");
  check_same_shape(x, residual, "add_rmsnorm", "x", "residual");
  check_same_shape(x, y, "add_rmsnorm", "x", "y");
  const int64_t dim = x.cols();
  VLM_CHECK(weight.numel() == dim, InvalidInput,
            "add_rmsnorm: weight " << weight.describe() << " must have " << dim << " values");
  if (x.rows() == 0 || dim == 0) return;
  launch_rmsnorm(bf16_in(x), bf16_out(residual), bf16_in(weight), bf16_out(y), x.rows(), dim, eps,
                 stream_);
  check_launch("add_rmsnorm");
}

void CudaBackend::rope(Tensor& x, const Tensor& cos, const Tensor& sin) {
  enter();
  check_bf16(x, "rope", "x");
  VLM_CHECK(cos.dtype() == DType::F32 && sin.dtype() == DType::F32, Unsupported,
            "rope: cos " << cos.describe() << " and sin " << sin.describe() << " must be F32 tables");
  VLM_CHECK(cos.rank() == 2 && sin.rank() == 2 && cos.shape() == sin.shape(), InvalidInput,
            "rope: cos " << cos.describe() << " and sin " << sin.describe()
                         << " must both be [M, head_dim]");
  const int64_t rows = cos.dim(0), head_dim = cos.dim(1);
  VLM_CHECK(head_dim > 0 && head_dim % 2 == 0, InvalidInput,
            "rope: head_dim " << head_dim << " must be even and positive");
  VLM_CHECK(x.rank() >= 1 && x.dim(0) == rows && x.numel() % (rows * head_dim) == 0 &&
                (x.rank() < 3 || x.dim(-1) == head_dim),
            InvalidInput, "rope: x " << x.describe() << " must be [" << rows << ", heads, " << head_dim << "]");
  if (rows == 0) return;
  const int64_t heads = x.numel() / (rows * head_dim);
  check_int32_range(heads, "rope", "heads");
  launch_rope(bf16_out(x), cos.data_as<const float>(), sin.data_as<const float>(), rows,
              static_cast<int>(heads), static_cast<int>(head_dim), stream_);
  check_launch("rope");
}

void CudaBackend::run_attention(AttentionParams& params, const std::vector<AttentionTile>& tiles,
                                int64_t total_keys) {
  check_int32_range(total_keys, "attention", "key count");
  Tensor device_tiles;
  if (!params.causal) {  // causal tiles are computed in the kernel (params.n_tiles set by caller)
    if (tiles.empty()) return;
    check_int32_range(static_cast<int64_t>(tiles.size()), "attention", "tile count");
    device_tiles = alloc(DType::I32, {static_cast<int64_t>(tiles.size()) * 4});
    VLM_CUDA_CHECK(cudaMemcpyAsync(device_tiles.data(), tiles.data(),
                                   tiles.size() * sizeof(AttentionTile), cudaMemcpyHostToDevice,
                                   stream_));
    params.tiles = device_tiles.data_as<const AttentionTile>();
    params.n_tiles = static_cast<int32_t>(tiles.size());
  }
  if (params.n_tiles == 0) return;
  // Flash-decoding split when the grid would not fill the GPU: at least 128 keys per split.
  const int64_t blocks = params.n_tiles * static_cast<int64_t>(params.n_heads_kv);
  const int64_t wanted = 2 * static_cast<int64_t>(std::max(sm_count_, 1));
  int64_t splits = 1;
  if (params.causal && blocks < wanted) {
    splits = std::min<int64_t>({(wanted + blocks - 1) / blocks,
                                std::max<int64_t>(1, total_keys / (2 * kAttentionKeyStep)), 64});
  }
  params.n_splits = static_cast<int32_t>(splits);
  Tensor part_acc, part_max, part_sum;
  if (splits > 1) {
    const int64_t items = splits * params.n_queries * static_cast<int64_t>(params.n_heads);
    part_acc = alloc(DType::F32, {items * params.head_dim});
    part_max = alloc(DType::F32, {items});
    part_sum = alloc(DType::F32, {items});
    params.part_acc = part_acc.data_as<float>();
    params.part_max = part_max.data_as<float>();
    params.part_sum = part_sum.data_as<float>();
  }
  launch_attention(params, stream_);
  check_launch("attention");
  if (splits > 1) {
    launch_attention_combine(params, stream_);
    check_launch("attention_combine");
  }
}

void CudaBackend::attention_varlen(const Tensor& q, const Tensor& k, const Tensor& v,
                                   std::span<const int32_t> cu_seqlens, float scale, Tensor& out) {
  const char* op = "attention_varlen";
  enter();
  check_attention_tensor(q, op, "q");
  check_attention_tensor(k, op, "k");
  check_attention_tensor(v, op, "v");
  check_attention_tensor(out, op, "out");
  VLM_CHECK(k.shape() == q.shape() && v.shape() == q.shape() && out.shape() == q.shape(),
            InvalidInput, op << ": q " << q.describe() << ", k " << k.describe() << ", v "
                             << v.describe() << " and out " << out.describe() << " must match");
  const int64_t total = q.dim(0), heads = q.dim(1), head_dim = q.dim(2);
  VLM_CHECK(cu_seqlens.size() >= 2 && cu_seqlens.front() == 0 && cu_seqlens.back() == total,
            InvalidInput, op << ": cu_seqlens must run from 0 to the " << total << " rows of q");
  if (total == 0 || heads == 0) return;
  check_head_dim(head_dim, op);
  check_int32_range(total, op, "rows");
  check_int32_range(heads, op, "heads");
  std::vector<AttentionTile> tiles;
  for (size_t s = 0; s + 1 < cu_seqlens.size(); ++s) {
    const int32_t seg0 = cu_seqlens[s], seg1 = cu_seqlens[s + 1];
    VLM_CHECK(seg0 <= seg1, InvalidInput,
              op << ": cu_seqlens decreases at " << s << " (" << seg0 << " > " << seg1 << ")");
    for (int32_t r = seg0; r < seg1; r += kAttentionTileRows) {
      tiles.push_back({r, std::min(seg1, r + kAttentionTileRows), seg0, seg1});
    }
  }
  AttentionParams params;
  params.q = bf16_in(q);
  params.k = bf16_in(k);
  params.v = bf16_in(v);
  params.out = bf16_out(out);
  params.n_queries = static_cast<int32_t>(total);
  params.n_heads = params.n_heads_kv = static_cast<int32_t>(heads);
  params.head_dim = static_cast<int32_t>(head_dim);
  params.scale = scale;
  run_attention(params, tiles, total);
}

void CudaBackend::attention_causal(const Tensor& q, const Tensor& k_cache, const Tensor& v_cache,
                                   int64_t n_past, float scale, Tensor& out) {
  const char* op = "attention_causal";
  enter();
  check_attention_tensor(q, op, "q");
  check_attention_tensor(k_cache, op, "k_cache");
  check_attention_tensor(v_cache, op, "v_cache");
  check_attention_tensor(out, op, "out");
  VLM_CHECK(out.shape() == q.shape(), InvalidInput,
            op << ": out " << out.describe() << " must match q " << q.describe());
  VLM_CHECK(v_cache.shape() == k_cache.shape(), InvalidInput,
            op << ": v_cache " << v_cache.describe() << " must match k_cache " << k_cache.describe());
  const int64_t n_new = q.dim(0), heads = q.dim(1), head_dim = q.dim(2);
  const int64_t capacity = k_cache.dim(0), kv_heads = k_cache.dim(1);
  VLM_CHECK(k_cache.dim(2) == head_dim, InvalidInput,
            op << ": k_cache " << k_cache.describe() << " and q " << q.describe() << " differ in head_dim");
  VLM_CHECK(kv_heads > 0 && heads % kv_heads == 0, InvalidInput,
            op << ": " << heads << " query heads are not a multiple of " << kv_heads << " kv heads");
  VLM_CHECK(n_past >= 0 && n_past + n_new <= capacity, InvalidInput,
            op << ": positions [0, " << n_past + n_new << ") exceed the cache capacity " << capacity);
  if (n_new == 0) return;
  check_head_dim(head_dim, op);
  const int64_t group = heads / kv_heads;
  const int64_t flat_rows = n_new * group;
  check_int32_range(flat_rows, op, "query rows x group");
  check_int32_range(n_past + n_new, op, "positions");
  AttentionParams params;
  params.n_tiles = static_cast<int32_t>((flat_rows + kAttentionTileRows - 1) / kAttentionTileRows);
  params.q = bf16_in(q);
  params.k = bf16_in(k_cache);
  params.v = bf16_in(v_cache);
  params.out = bf16_out(out);
  params.n_queries = static_cast<int32_t>(n_new);
  params.n_heads = static_cast<int32_t>(heads);
  params.n_heads_kv = static_cast<int32_t>(kv_heads);
  params.head_dim = static_cast<int32_t>(head_dim);
  params.causal = true;
  params.n_past = n_past;
  params.scale = scale;
  run_attention(params, {}, n_past + n_new);
}

void CudaBackend::silu_mul(const Tensor& gate, const Tensor& up, Tensor& y) {
  enter();
  check_bf16(gate, "silu_mul", "gate");
  check_bf16(up, "silu_mul", "up");
  check_bf16(y, "silu_mul", "y");
  check_same_shape(gate, up, "silu_mul", "gate", "up");
  check_same_shape(gate, y, "silu_mul", "gate", "y");
  if (y.numel() == 0) return;
  launch_silu_mul(bf16_in(gate), bf16_in(up), bf16_out(y), y.numel(), stream_);
  check_launch("silu_mul");
}

void CudaBackend::gelu(const Tensor& x, Tensor& y) {
  enter();
  check_bf16(x, "gelu", "x");
  check_bf16(y, "gelu", "y");
  check_same_shape(x, y, "gelu", "x", "y");
  if (y.numel() == 0) return;
  launch_gelu(bf16_in(x), bf16_out(y), y.numel(), stream_);
  check_launch("gelu");
}

void CudaBackend::add(const Tensor& a, const Tensor& b, Tensor& y) {
  enter();
  check_bf16(a, "add", "a");
  check_bf16(b, "add", "b");
  check_bf16(y, "add", "y");
  check_same_shape(a, b, "add", "a", "b");
  check_same_shape(a, y, "add", "a", "y");
  if (y.numel() == 0) return;
  launch_add(bf16_in(a), bf16_in(b), bf16_out(y), y.numel(), stream_);
  check_launch("add");
}

void CudaBackend::embedding(const Tensor& table, std::span<const int32_t> ids, Tensor& y) {
  enter();
  check_float(table, "embedding", "table");
  check_bf16(y, "embedding", "y");
  VLM_CHECK(table.rank() == 2, InvalidInput, "embedding: table " << table.describe() << " must be [V, D]");
  const int64_t vocab = table.dim(0), dim = table.dim(1);
  VLM_CHECK(y.rows() == static_cast<int64_t>(ids.size()) && y.cols() == dim, InvalidInput,
            "embedding: y " << y.describe() << " must be [" << ids.size() << ", " << dim << "]");
  for (size_t i = 0; i < ids.size(); ++i) {
    VLM_CHECK(ids[i] >= 0 && ids[i] < vocab, InvalidInput,
              "embedding: token id " << ids[i] << " at " << i << " is outside the table's "
                                     << vocab << " rows");
  }
  if (ids.empty() || dim == 0) return;
  const Tensor device_ids = upload_indices(ids);
  launch_embedding(table.data(), elem_type(table.dtype()), device_ids.data_as<const int32_t>(),
                   static_cast<int64_t>(ids.size()), dim, bf16_out(y), stream_);
  check_launch("embedding");
}

void CudaBackend::gather_rows(const Tensor& x, std::span<const int32_t> index, Tensor& y) {
  enter();
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
  const int64_t row_bytes = x.cols() * static_cast<int64_t>(dtype_size(x.dtype()));
  if (index.empty() || row_bytes == 0) return;
  const Tensor device_index = upload_indices(index);
  launch_gather_rows(x.data(), device_index.data_as<const int32_t>(),
                     static_cast<int64_t>(index.size()), row_bytes, y.data(), stream_);
  check_launch("gather_rows");
}

void CudaBackend::copy_rows(const Tensor& src, int64_t src_row0, Tensor& dst, int64_t dst_row0,
                            int64_t n_rows) {
  enter();
  VLM_CHECK(src.dtype() == dst.dtype() && src.cols() == dst.cols(), InvalidInput,
            "copy_rows: src " << src.describe() << " and dst " << dst.describe()
                              << " must share dtype and row length");
  VLM_CHECK(n_rows >= 0 && src_row0 >= 0 && src_row0 + n_rows <= src.rows(), InvalidInput,
            "copy_rows: source rows [" << src_row0 << ", " << src_row0 + n_rows << ") outside "
                                       << src.describe());
  VLM_CHECK(dst_row0 >= 0 && dst_row0 + n_rows <= dst.rows(), InvalidInput,
            "copy_rows: destination rows [" << dst_row0 << ", " << dst_row0 + n_rows << ") outside "
                                            << dst.describe());
  if (n_rows == 0) return;
  const size_t row_bytes = static_cast<size_t>(src.cols()) * dtype_size(src.dtype());
  const size_t bytes = static_cast<size_t>(n_rows) * row_bytes;
  if (bytes == 0) return;
  const char* from = src.data_as<const char>() + static_cast<size_t>(src_row0) * row_bytes;
  char* to = dst.data_as<char>() + static_cast<size_t>(dst_row0) * row_bytes;
  if (from == to) return;
  const bool overlap = from < to + bytes && to < from + bytes;
  if (overlap) {  // memmove semantics through a staging block
    Tensor staging = alloc(DType::U8, {static_cast<int64_t>(bytes)});
    VLM_CUDA_CHECK(cudaMemcpyAsync(staging.data(), from, bytes, cudaMemcpyDeviceToDevice, stream_));
    VLM_CUDA_CHECK(cudaMemcpyAsync(to, staging.data(), bytes, cudaMemcpyDeviceToDevice, stream_));
    return;
  }
  VLM_CUDA_CHECK(cudaMemcpyAsync(to, from, bytes, cudaMemcpyDeviceToDevice, stream_));
}

std::vector<int32_t> CudaBackend::argmax(const Tensor& x) {
  enter();
  check_float(x, "argmax", "x");
  const int64_t rows = x.rows(), cols = x.cols();
  VLM_CHECK(cols > 0, InvalidInput, "argmax: x " << x.describe() << " has empty rows");
  std::vector<int32_t> result(static_cast<size_t>(rows));
  if (rows == 0) return result;
  check_int32_range(cols, "argmax", "columns");
  Tensor device_result = alloc(DType::I32, {rows});
  launch_argmax(x.data(), elem_type(x.dtype()), rows, cols, device_result.data_as<int32_t>(), stream_);
  check_launch("argmax");
  VLM_CUDA_CHECK(cudaMemcpyAsync(result.data(), device_result.data(), result.size() * sizeof(int32_t),
                                 cudaMemcpyDeviceToHost, stream_));
  VLM_CUDA_CHECK(cudaStreamSynchronize(stream_));
  return result;
}

}  // namespace vlm::cuda
