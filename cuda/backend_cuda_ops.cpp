// CudaBackend ops (backend_cuda_impl.h): the argument checks shared with the CPU reference
// (vlm/backend_checks.h, under kCudaDTypes) plus the CUDA kernels' own limits (int32 sizes,
// head_dim), then one launcher (launch.h) or cuBLASLt call on the backend's stream. Host index
// lists (token ids, segment bounds, row permutations) are range-checked by the shared checks and
// copied to pooled device buffers in stream order.
#include <algorithm>

#include "backend_cuda_impl.h"
#include "check.h"

namespace vlm::cuda {

namespace {

const bf16_bits* bf16_in(const Tensor& t) { return t.data_as<const bf16_bits>(); }
bf16_bits* bf16_out(Tensor& t) { return t.data_as<bf16_bits>(); }

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
  enter("matmul");
  const MatmulShape shape = check_matmul_args(x, w, bias, y, kCudaDTypes);
  label_matmul("matmul", shape);
  const int64_t M = shape.m, N = shape.n, K = shape.k;
  if (M == 0 || N == 0) return;
  VLM_CHECK(K > 0, InvalidInput, "matmul: x " << x.describe() << " has no columns");
  if (matmul_gemv(x, w, bias, y, shape)) return;  // one row (decode), where our kernel is faster
  const void* bias_data = bias.empty() ? nullptr : bias.data();
  // A shape's first call may time cuBLASLt's candidates (gemm_cublaslt.h): then a profile row of
  // its own, so that the one-off choice does not inflate the shape's steady-state row.
  if (profile_ && gemm_->would_measure(x.data(), w.data(), bias_data, y.data(), M, N, K)) {
    label_matmul("matmul (first call: algorithm choice)", shape);
  }
  gemm_->run(x.data(), w.data(), bias_data, y.data(), M, N, K);
}

void CudaBackend::rmsnorm(const Tensor& x, const Tensor& weight, float eps, Tensor& y) {
  enter("rmsnorm");
  check_elementwise_args(kCudaDTypes, "rmsnorm", {{x, "x"}, {y, "y"}});
  const int64_t dim = x.cols();
  check_norm_weight(weight, dim, kCudaDTypes, "rmsnorm");
  if (x.rows() == 0 || dim == 0) return;
  launch_rmsnorm(bf16_in(x), nullptr, bf16_in(weight), bf16_out(y), x.rows(), dim, eps, stream_);
  check_launch("rmsnorm");
}

void CudaBackend::add_rmsnorm(const Tensor& x, Tensor& residual, const Tensor& weight, float eps,
                              Tensor& y) {
  enter("add_rmsnorm");
  check_elementwise_args(kCudaDTypes, "add_rmsnorm", {{x, "x"}, {residual, "residual"}, {y, "y"}});
  const int64_t dim = x.cols();
  check_norm_weight(weight, dim, kCudaDTypes, "add_rmsnorm");
  if (x.rows() == 0 || dim == 0) return;
  launch_rmsnorm(bf16_in(x), bf16_out(residual), bf16_in(weight), bf16_out(y), x.rows(), dim, eps,
                 stream_);
  check_launch("add_rmsnorm");
}

void CudaBackend::rope(Tensor& x, const Tensor& cos, const Tensor& sin) {
  enter("rope");
  const RopeShape shape = check_rope_args(x, cos, sin, kCudaDTypes);
  const int64_t rows = shape.rows, heads = shape.heads, head_dim = shape.head_dim;
  if (rows == 0) return;
  check_int32_range(heads, "rope", "heads");
  launch_rope(bf16_out(x), cos.data_as<const float>(), sin.data_as<const float>(), rows,
              static_cast<int>(heads), static_cast<int>(head_dim), stream_);
  check_launch("rope");
}

namespace {

using AttentionKernel = CudaBackend::AttentionKernel;

// Flat rows per tile each kernel expects.
int64_t tile_rows_of(AttentionKernel kernel) {
  return kernel == AttentionKernel::Simt ? kAttentionTileRows : kAttentionMmaTileRows;
}

// Bits needed to write n (0 for 0): the size class of a call for Auto's choice.
int bit_width_of(int64_t n) {
  int bits = 0;
  for (; n > 0; n >>= 1) ++bits;
  return bits;
}

// Whether [a, a + a_bytes) and [b, b + b_bytes) share a byte.
bool overlaps(const void* a, size_t a_bytes, const void* b, size_t b_bytes) {
  const auto* pa = static_cast<const char*>(a);
  const auto* pb = static_cast<const char*>(b);
  return pa < pb + b_bytes && pb < pa + a_bytes;
}

// Auto's candidates. Rotation on load and rows read in place exist only in the tensor-core
// kernels; a plain varlen or causal call can take any of the three.
constexpr AttentionKernel kTensorCoreKernels[] = {AttentionKernel::Mma, AttentionKernel::Flash};
constexpr AttentionKernel kAllKernels[] = {AttentionKernel::Simt, AttentionKernel::Mma,
                                           AttentionKernel::Flash};

}  // namespace

void CudaBackend::run_attention(AttentionParams& params, const std::vector<AttentionTile>& tiles,
                                int64_t total_keys, AttentionKernel kernel) {
  VLM_CHECK(kernel != AttentionKernel::Auto, Internal, "attention: no kernel chosen");
  const bool simt = kernel == AttentionKernel::Simt;
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
  // CUDA cores merge the splits in the kernel when the counters cover its (tile, kv head) pairs.
  const bool inline_combine = splits > 1 && simt && split_combine_inline_ && blocks <= kSplitCounters;
  params.split_counters = inline_combine ? split_counters_.data_as<int32_t>() : nullptr;
  if (kernel == AttentionKernel::Mma) {
    launch_attention_mma(params, stream_);
    check_launch("attention (tensor cores, WMMA)");
  } else if (kernel == AttentionKernel::Flash) {
    launch_attention_flash(params, stream_);
    check_launch("attention (tensor cores, registers)");
  } else {
    launch_attention(params, stream_);
    check_launch("attention");
  }
  if (splits > 1 && !inline_combine) {
    launch_attention_combine(params, stream_);
    check_launch("attention_combine");
  }
}

void CudaBackend::attention_varlen(const Tensor& q, const Tensor& k, const Tensor& v,
                                   std::span<const int32_t> cu_seqlens, float scale, Tensor& out) {
  enter("attention_varlen");
  const AttentionShape shape = check_attention_varlen_args(q, k, v, cu_seqlens, out, kCudaDTypes);
  run_varlen_attention({.q = bf16_in(q), .k = bf16_in(k), .v = bf16_in(v)}, shape, cu_seqlens, scale,
                       out);
}

// The tensor-core kernels rotate q and k as they load them (AttentionParams::rope_rows_cos); where
// the CUDA-core kernel is forced (VLM_CUDA_ATTENTION=simt), the three ops.
void CudaBackend::rope_attention_varlen(Tensor& q, Tensor& k, const Tensor& v, const Tensor& cos,
                                        const Tensor& sin, std::span<const int32_t> cu_seqlens,
                                        float scale, Tensor& out) {
  enter("rope_attention_varlen");
  const AttentionShape shape = check_attention_varlen_args(q, k, v, cu_seqlens, out, kCudaDTypes);
  check_rope_args(q, cos, sin, kCudaDTypes);
  if (shape.rows == 0 || shape.heads == 0 || attention_kernel_ == AttentionKernel::Simt) {
    Backend::rope_attention_varlen(q, k, v, cos, sin, cu_seqlens, scale, out);
    return;
  }
  run_varlen_attention({.q = bf16_in(q), .k = bf16_in(k), .v = bf16_in(v),
                        .rope_cos = cos.data_as<const float>(), .rope_sin = sin.data_as<const float>()},
                       shape, cu_seqlens, scale, out);
}

// q, k and v read in place from the joined rows (AttentionParams::q_row_stride/kv_row_stride),
// rotated on load: no copies of the parts. Where the CUDA-core kernel is forced, the default.
void CudaBackend::rope_attention_varlen_joined(const Tensor& qkv, const Tensor& cos,
                                               const Tensor& sin,
                                               std::span<const int32_t> cu_seqlens, float scale,
                                               Tensor& out) {
  enter("rope_attention_varlen_joined");
  const AttentionShape shape =
      check_rope_attention_varlen_joined_args(qkv, cos, sin, cu_seqlens, out, kCudaDTypes);
  if (shape.rows == 0 || shape.heads == 0 || attention_kernel_ == AttentionKernel::Simt) {
    Backend::rope_attention_varlen_joined(qkv, cos, sin, cu_seqlens, scale, out);
    return;
  }
  const bf16_bits* rows = bf16_in(qkv);
  const int64_t width = shape.heads * shape.head_dim;
  run_varlen_attention({.q = rows, .k = rows + width, .v = rows + 2 * width, .row_stride = 3 * width,
                        .rope_cos = cos.data_as<const float>(), .rope_sin = sin.data_as<const float>()},
                       shape, cu_seqlens, scale, out);
}

void CudaBackend::run_varlen_attention(const VarlenInputs& in, const AttentionShape& shape,
                                       std::span<const int32_t> cu_seqlens, float scale,
                                       Tensor& out) {
  const char* op = in.row_stride != 0 ? "rope_attention_varlen_joined"
                   : in.rope_cos != nullptr ? "rope_attention_varlen"
                                            : "attention_varlen";
  const int64_t total = shape.rows, heads = shape.heads, head_dim = shape.head_dim;
  if (total == 0 || heads == 0) return;
  check_head_dim(head_dim, op);
  check_int32_range(total, op, "rows");
  check_int32_range(heads, op, "heads");
  const bool tensor_cores_only = in.rope_cos != nullptr || in.row_stride != 0;
  AttentionParams base;
  base.q = in.q;
  base.k = in.k;
  base.v = in.v;
  base.q_row_stride = base.kv_row_stride = in.row_stride;
  base.out = bf16_out(out);
  base.n_queries = static_cast<int32_t>(total);
  base.n_heads = base.n_heads_kv = static_cast<int32_t>(heads);
  base.head_dim = static_cast<int32_t>(head_dim);
  base.scale = scale;
  base.rope_rows_cos = in.rope_cos;
  base.rope_rows_sin = in.rope_sin;
  const auto launch = [&](AttentionKernel kernel) {
    VLM_CHECK(kernel != AttentionKernel::Simt || !tensor_cores_only, Internal,
              op << ": the rotation on load and strided rows need a tensor-core kernel");
    const int64_t tile_rows = tile_rows_of(kernel);
    std::vector<AttentionTile> tiles;
    for (size_t s = 0; s + 1 < cu_seqlens.size(); ++s) {
      const int32_t seg0 = cu_seqlens[s], seg1 = cu_seqlens[s + 1];
      for (int64_t r = seg0; r < seg1; r += tile_rows) {
        tiles.push_back({static_cast<int32_t>(r), static_cast<int32_t>(std::min<int64_t>(seg1, r + tile_rows)),
                         seg0, seg1});
      }
    }
    AttentionParams params = base;
    run_attention(params, tiles, total, kernel);
  };
  int64_t longest = 0;
  for (size_t s = 0; s + 1 < cu_seqlens.size(); ++s) {
    longest = std::max<int64_t>(longest, cu_seqlens[s + 1] - cu_seqlens[s]);
  }
  const AttentionCallKind kind{.heads = heads, .kv_heads = heads, .head_dim = head_dim,
                               .rows_bits = bit_width_of(total), .keys_bits = bit_width_of(longest),
                               .rope_on_load = in.rope_cos != nullptr, .strided = in.row_stride != 0};
  // The call may run more than once (Auto's measurement) only when out overlaps none of q, k, v:
  // each spans total rows of heads·head_dim elements, row_stride apart.
  const int64_t width = heads * head_dim;
  const size_t in_bytes =
      static_cast<size_t>((total - 1) * (in.row_stride != 0 ? in.row_stride : width) + width) * 2;
  const bool may_measure = !overlaps(out.data(), out.nbytes(), in.q, in_bytes) &&
                           !overlaps(out.data(), out.nbytes(), in.k, in_bytes) &&
                           !overlaps(out.data(), out.nbytes(), in.v, in_bytes);
  const std::span<const AttentionKernel> candidates =
      tensor_cores_only ? std::span<const AttentionKernel>(kTensorCoreKernels)
                        : std::span<const AttentionKernel>(kAllKernels);
  launch(attention_kernel_for(kind, candidates, AttentionKernel::Flash, may_measure, op, launch));
}

void CudaBackend::attention_causal(const Tensor& q, const Tensor& k_cache, const Tensor& v_cache,
                                   int64_t n_past, float scale, Tensor& out) {
  enter("attention_causal");
  const CausalAttentionShape shape =
      check_attention_causal_args(q, k_cache, v_cache, n_past, out, kCudaDTypes);
  run_causal_attention(q, k_cache, v_cache, shape, n_past, nullptr, scale, out, "attention_causal");
}

void CudaBackend::run_causal_attention(const Tensor& q, const Tensor& k_cache, const Tensor& v_cache,
                                       const CausalAttentionShape& shape, int64_t n_past,
                                       const int32_t* n_past_at, float scale, Tensor& out,
                                       const char* op, const FusedDecodeRope* fused) {
  const int64_t n_new = shape.n_new, heads = shape.heads, kv_heads = shape.kv_heads,
                head_dim = shape.head_dim;
  if (n_new == 0) return;
  check_head_dim(head_dim, op);
  const int64_t group = heads / kv_heads;
  const int64_t flat_rows = n_new * group;
  check_int32_range(flat_rows, op, "query rows x group");
  // A position read on the device can be anything up to the cache's end: the grid (split-K) is
  // sized for the whole cache, and each split takes its share of the keys present when it runs.
  const int64_t keys = n_past_at != nullptr ? shape.capacity : n_past + n_new;
  check_int32_range(keys, op, "positions");
  AttentionParams base;
  base.q = bf16_in(q);
  base.k = bf16_in(k_cache);
  base.v = bf16_in(v_cache);
  base.out = bf16_out(out);
  base.n_queries = static_cast<int32_t>(n_new);
  base.n_heads = static_cast<int32_t>(heads);
  base.n_heads_kv = static_cast<int32_t>(kv_heads);
  base.head_dim = static_cast<int32_t>(head_dim);
  base.causal = true;
  base.n_past = n_past;
  base.n_past_at = n_past_at;
  base.scale = scale;
  if (fused != nullptr) {
    base.new_row = fused->row;
    base.rope_cos = fused->cos;
    base.rope_sin = fused->sin;
    base.k_store = k_cache.data_as<bf16_bits>();
    base.v_store = v_cache.data_as<bf16_bits>();
    base.cache_rows = shape.capacity;
  }
  const auto launch = [&](AttentionKernel kernel) {
    const int64_t tile_rows = tile_rows_of(kernel);
    AttentionParams params = base;
    params.n_tiles = static_cast<int32_t>((flat_rows + tile_rows - 1) / tile_rows);
    run_attention(params, {}, keys, kernel);
  };
  if (fused != nullptr) {  // the rope and cache append exist only in the CUDA-core kernel
    launch(AttentionKernel::Simt);
    return;
  }
  // Below one tensor-core tile per kv head (decode, a few tokens) the call is a KV-cache read that
  // the CUDA-core kernel's split-K spreads over the GPU: it is not measured, so an eager decode
  // runs the kernel its recorded step runs (rope_attention_at: the CUDA-core kernel with the rope
  // and append inside) and the two give the same bits.
  if (flat_rows < kMmaMinFlatRows) {
    launch(attention_kernel_ == AttentionKernel::Auto ? AttentionKernel::Simt : attention_kernel_);
    return;
  }
  const AttentionCallKind kind{.causal = true, .heads = heads, .kv_heads = kv_heads, .head_dim = head_dim,
                               .rows_bits = bit_width_of(flat_rows), .keys_bits = bit_width_of(keys)};
  // The call may run more than once (Auto's measurement) only when out overlaps no input.
  const bool may_measure = !overlaps(out.data(), out.nbytes(), q.data(), q.nbytes()) &&
                           !overlaps(out.data(), out.nbytes(), k_cache.data(), k_cache.nbytes()) &&
                           !overlaps(out.data(), out.nbytes(), v_cache.data(), v_cache.nbytes());
  launch(attention_kernel_for(kind, kAllKernels, AttentionKernel::Flash, may_measure, op, launch));
}

void CudaBackend::silu_mul(const Tensor& gate, const Tensor& up, Tensor& y) {
  enter("silu_mul");
  check_elementwise_args(kCudaDTypes, "silu_mul", {{gate, "gate"}, {up, "up"}, {y, "y"}});
  if (y.numel() == 0) return;
  launch_silu_mul(bf16_in(gate), bf16_in(up), bf16_out(y), y.numel(), stream_);
  check_launch("silu_mul");
}

void CudaBackend::rope_append(const Tensor& qkv, const Tensor& cos, const Tensor& sin, Tensor& q,
                              Tensor& k_cache, Tensor& v_cache, int64_t n_past) {
  enter("rope_append");
  const RopeAppendRowsShape s =
      check_rope_append_rows_args(qkv, cos, sin, q, k_cache, v_cache, n_past, kCudaDTypes);
  if (s.rows == 0) return;
  check_int32_range(s.heads + 2 * s.kv_heads, "rope_append", "heads");
  launch_rope_append_rows(bf16_in(qkv), cos.data_as<const float>(), sin.data_as<const float>(),
                          s.rows, static_cast<int>(s.heads), static_cast<int>(s.kv_heads),
                          static_cast<int>(s.head_dim), bf16_out(q), bf16_out(k_cache),
                          bf16_out(v_cache), n_past, stream_);
  check_launch("rope_append");
}

void CudaBackend::silu_mul_joined(const Tensor& gate_up, Tensor& y) {
  enter("silu_mul_joined");
  const int64_t width = check_silu_mul_joined_args(gate_up, y, kCudaDTypes);
  if (y.numel() == 0) return;
  launch_silu_mul_joined(bf16_in(gate_up), bf16_out(y), y.rows(), width, stream_);
  check_launch("silu_mul_joined");
}

void CudaBackend::gelu(const Tensor& x, Tensor& y) {
  enter("gelu");
  check_elementwise_args(kCudaDTypes, "gelu", {{x, "x"}, {y, "y"}});
  if (y.numel() == 0) return;
  launch_gelu(bf16_in(x), bf16_out(y), y.numel(), stream_);
  check_launch("gelu");
}

void CudaBackend::add(const Tensor& a, const Tensor& b, Tensor& y) {
  enter("add");
  check_elementwise_args(kCudaDTypes, "add", {{a, "a"}, {b, "b"}, {y, "y"}});
  if (y.numel() == 0) return;
  launch_add(bf16_in(a), bf16_in(b), bf16_out(y), y.numel(), stream_);
  check_launch("add");
}

void CudaBackend::embedding(const Tensor& table, std::span<const int32_t> ids, Tensor& y) {
  enter("embedding");
  check_embedding_args(table, ids, y, kCudaDTypes);
  const int64_t dim = table.dim(1);
  if (ids.empty() || dim == 0) return;
  const Tensor device_ids = upload_indices(ids);
  launch_embedding(table.data(), elem_type(table.dtype()), device_ids.data_as<const int32_t>(),
                   static_cast<int64_t>(ids.size()), dim, bf16_out(y), stream_);
  check_launch("embedding");
}

void CudaBackend::gather_rows(const Tensor& x, std::span<const int32_t> index, Tensor& y) {
  enter("gather_rows");
  check_gather_rows_args(x, index, y);
  const int64_t row_bytes = x.cols() * static_cast<int64_t>(dtype_size(x.dtype()));
  if (index.empty() || row_bytes == 0) return;
  const Tensor device_index = upload_indices(index);
  launch_gather_rows(x.data(), device_index.data_as<const int32_t>(),
                     static_cast<int64_t>(index.size()), row_bytes, y.data(), stream_);
  check_launch("gather_rows");
}

void CudaBackend::copy_rows(const Tensor& src, int64_t src_row0, Tensor& dst, int64_t dst_row0,
                            int64_t n_rows) {
  enter("copy_rows");
  check_copy_rows_args(src, src_row0, dst, dst_row0, n_rows);
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
  enter("argmax");
  check_argmax_args(x);
  const int64_t rows = x.rows(), cols = x.cols();
  std::vector<int32_t> result(static_cast<size_t>(rows));
  if (rows == 0) return result;
  check_int32_range(cols, "argmax", "columns");
  Tensor device_result = alloc(DType::I32, {rows});
  launch_argmax(x.data(), elem_type(x.dtype()), rows, cols, device_result.data_as<int32_t>(), stream_);
  check_launch("argmax");
  VLM_CUDA_CHECK(cudaMemcpyAsync(result.data(), device_result.data(), result.size() * sizeof(int32_t),
                                 cudaMemcpyDeviceToHost, stream_));
  wait_for_stream();
  return result;
}

}  // namespace vlm::cuda
