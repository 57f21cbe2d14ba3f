// CudaBackend's recorded steps (vlm/backend.h): record() captures the work the ops enqueue on the
// backend's stream into a CUDA graph, and replay() launches it: one launch for the whole decode
// step instead of ~10 per layer, with no host work per op. Shape of the pieces:
// - Capture mode is relaxed, so the pool may cudaMalloc a block an op needs; everything allocated
//   during the capture comes from a private pool set (memory_pool.h) that the recording keeps, so
//   no later tensor is handed memory a replay writes.
// - What changes per token is read on the device: write() copies host bytes into a tensor in
//   stream order (outside the graph), and embedding_at, copy_rows_at, rope_append_at (rope + KV
//   append in one kernel) and attention_causal_at take their ids / position from device I32
//   tensors. attention_causal_at is attention_causal with the position read on the device
//   (backend_cuda_ops.cpp: run_causal_attention sizes the split-K grid for the whole cache, as the
//   graph's grid is fixed; empty splits add nothing in the combine). rope_attention_at, what the
//   decode step calls, is rope_append_at + attention_causal_at in the attention kernel itself.
// - A failure during capture ends and discards it, returns the set, and throws: an op that did
//   something a graph cannot hold (a host copy, a synchronisation) is named by its own error.
// - upload_weights_concat uploads several weights into one (q/k/v, gate/up) for one GEMM each.
#include "backend_cuda_impl.h"
#include "check.h"

namespace vlm::cuda {

namespace {

class CudaRecordedSteps final : public RecordedSteps {
 public:
  CudaRecordedSteps(int device, cudaStream_t stream, cudaGraphExec_t exec,
                    std::shared_ptr<DevicePool> pool, int private_set,
                    std::shared_ptr<OpProfile> profile)
      : device_(device), stream_(stream), exec_(exec), pool_(std::move(pool)), set_(private_set),
        profile_(std::move(profile)) {}
  ~CudaRecordedSteps() override {
    if (cudaSetDevice(device_) == cudaSuccess) (void)cudaGraphExecDestroy(exec_);
    pool_->drop_private(set_);  // stream order keeps a still-running replay's blocks safe
  }
  CudaRecordedSteps(const CudaRecordedSteps&) = delete;
  CudaRecordedSteps& operator=(const CudaRecordedSteps&) = delete;

  void replay() override {
    cuda_check_not_broken();
    VLM_CUDA_CHECK(cudaSetDevice(device_));
    if (profile_) profile_->mark("recorded steps (graph replay)");
    VLM_CUDA_CHECK(cudaGraphLaunch(exec_, stream_));
  }

 private:
  int device_;
  cudaStream_t stream_;
  cudaGraphExec_t exec_;
  std::shared_ptr<DevicePool> pool_;
  int set_;
  std::shared_ptr<OpProfile> profile_;  // VLM_CUDA_PROFILE; null when off
};

}  // namespace

std::unique_ptr<RecordedSteps> CudaBackend::record(const std::function<void()>& ops) {
  enter();
  VLM_CHECK(static_cast<bool>(ops), InvalidInput, "record: no ops");
  const int set = pool_->begin_private();
  const cudaError_t began = cudaStreamBeginCapture(stream_, cudaStreamCaptureModeRelaxed);
  if (began != cudaSuccess) {
    (void)cudaGetLastError();  // or the next launch check would report this refusal as its own
    pool_->drop_private(set);
    VLM_CUDA_CHECK(began);
  }
  try {
    ops();
  } catch (...) {
    cudaGraph_t partial = nullptr;
    (void)cudaStreamEndCapture(stream_, &partial);
    if (partial != nullptr) (void)cudaGraphDestroy(partial);
    (void)cudaGetLastError();
    pool_->drop_private(set);
    throw;
  }
  pool_->end_private();
  cudaGraph_t graph = nullptr;
  const cudaError_t ended = cudaStreamEndCapture(stream_, &graph);
  if (ended != cudaSuccess) {
    (void)cudaGetLastError();
    pool_->drop_private(set);
    VLM_THROW(Device, "record: the CUDA graph capture failed (" << cudaGetErrorName(ended) << ": "
                                                               << cudaGetErrorString(ended)
                                                               << "): an op did work a graph cannot hold");
  }
  cudaGraphExec_t exec = nullptr;
  const cudaError_t made = cudaGraphInstantiate(&exec, graph, 0);
  (void)cudaGraphDestroy(graph);
  if (made != cudaSuccess) {
    (void)cudaGetLastError();
    pool_->drop_private(set);
    VLM_CUDA_CHECK(made);
  }
  return std::make_unique<CudaRecordedSteps>(device_, stream_, exec, pool_, set, profile_);
}

void CudaBackend::write(Tensor& dst, const void* host) {
  enter("write");
  VLM_CHECK(!dst.empty(), InvalidInput, "write: destination " << dst.describe() << " has no data");
  if (dst.nbytes() == 0) return;
  VLM_CHECK(host != nullptr, InvalidInput, "write: null source for " << dst.describe());
  // A pageable source is staged before cudaMemcpyAsync returns, so `host` may be reused at once.
  VLM_CUDA_CHECK(cudaMemcpyAsync(dst.data(), host, dst.nbytes(), cudaMemcpyHostToDevice, stream_));
}

void CudaBackend::embedding_at(const Tensor& table, const Tensor& ids, Tensor& y) {
  enter("embedding_at");
  check_step_scalars(ids, ids.numel(), "embedding_at", "ids");
  VLM_CHECK(table.rank() == 2 && y.rank() == 2 && y.rows() == ids.numel() && y.cols() == table.cols() &&
                y.dtype() == DType::BF16,
            InvalidInput, "embedding_at: table " << table.describe() << ", ids " << ids.describe()
                                                 << " and y " << y.describe()
                                                 << " must be [V, D], [n] and BF16 [n, D]");
  if (ids.numel() == 0 || table.cols() == 0) return;
  launch_embedding(table.data(), elem_type(table.dtype()), ids.data_as<const int32_t>(), ids.numel(),
                   table.cols(), y.data_as<bf16_bits>(), stream_);
  check_launch("embedding_at");
}

void CudaBackend::copy_rows_at(const Tensor& src, Tensor& dst, const Tensor& dst_row) {
  enter("copy_rows_at");
  check_step_scalars(dst_row, 1, "copy_rows_at", "dst_row");
  check_copy_rows_args(src, 0, dst, 0, src.rows());  // dtype, row length, src fits in dst
  const int64_t row_bytes = src.cols() * static_cast<int64_t>(dtype_size(src.dtype()));
  if (src.rows() == 0 || row_bytes == 0) return;
  launch_copy_rows_at(src.data(), src.rows(), row_bytes, dst.data(), dst.rows(),
                      dst_row.data_as<const int32_t>(), stream_);
  check_launch("copy_rows_at");
}

namespace {

// rope_append_at's shared checks plus this kernel's: qkv BF16, the tables F32 [1, head_dim] with
// head_dim even.
RopeAppendShape check_one_row_rope_args(const Tensor& qkv, const Tensor& cos, const Tensor& sin,
                                        const Tensor& k_cache, const Tensor& v_cache,
                                        const Tensor& n_past_at, const char* op) {
  const RopeAppendShape s = check_rope_append_args(qkv, k_cache, v_cache, n_past_at);
  VLM_CHECK(qkv.dtype() == DType::BF16 && cos.dtype() == DType::F32 && sin.dtype() == DType::F32 &&
                cos.numel() == s.head_dim && sin.numel() == s.head_dim && s.head_dim % 2 == 0,
            InvalidInput, op << ": qkv " << qkv.describe() << " must be BF16 and cos " << cos.describe()
                             << " / sin " << sin.describe() << " F32 [1, " << s.head_dim
                             << "], head_dim even");
  return s;
}

}  // namespace

void CudaBackend::rope_append_at(Tensor& qkv, const Tensor& cos, const Tensor& sin, Tensor& k_cache,
                                 Tensor& v_cache, const Tensor& n_past_at) {
  enter("rope_append_at");
  const RopeAppendShape s = check_one_row_rope_args(qkv, cos, sin, k_cache, v_cache, n_past_at,
                                                    "rope_append_at");
  VLM_CHECK(s.heads + s.kv_heads <= INT32_MAX && s.head_dim <= INT32_MAX, Unsupported,
            "rope_append_at: " << s.heads << " heads exceed the CUDA kernel's int range");
  launch_rope_append(qkv.data_as<bf16_bits>(), cos.data_as<const float>(), sin.data_as<const float>(),
                     static_cast<int>(s.heads), static_cast<int>(s.kv_heads),
                     static_cast<int>(s.head_dim), k_cache.data_as<bf16_bits>(),
                     v_cache.data_as<bf16_bits>(), s.capacity, n_past_at.data_as<const int32_t>(),
                     stream_);
  check_launch("rope_append_at");
}

// The CUDA-core attention kernel with the rope and the cache append inside (launch.h:
// AttentionParams::new_row): one kernel per layer instead of rope_append_at's, the attention's
// and (unless merged in the kernel: split_counters) the split-K combine's. Where a tensor-core
// kernel is forced (VLM_CUDA_ATTENTION=mma or flash), the two ops instead.
void CudaBackend::rope_attention_at(Tensor& qkv, const Tensor& cos, const Tensor& sin, Tensor& k_cache,
                                    Tensor& v_cache, const Tensor& n_past_at, float scale, Tensor& out) {
  enter("rope_attention_at");
  const RopeAppendShape s = check_one_row_rope_args(qkv, cos, sin, k_cache, v_cache, n_past_at,
                                                    "rope_attention_at");
  const Tensor q = qkv.reshape({s.heads + 2 * s.kv_heads, s.head_dim})
                       .slice_rows(0, s.heads)
                       .reshape({1, s.heads, s.head_dim});
  const CausalAttentionShape shape =
      check_attention_causal_args(q, k_cache, v_cache, 0, out, kCudaDTypes);
  if (attention_kernel_ == AttentionKernel::Mma || attention_kernel_ == AttentionKernel::Flash) {
    Backend::rope_attention_at(qkv, cos, sin, k_cache, v_cache, n_past_at, scale, out);
    return;
  }
  const FusedDecodeRope fused{qkv.data_as<const bf16_bits>(), cos.data_as<const float>(),
                              sin.data_as<const float>()};
  run_causal_attention(q, k_cache, v_cache, shape, 0, n_past_at.data_as<const int32_t>(), scale, out,
                       "rope_attention_at", &fused);
}

void CudaBackend::attention_causal_at(const Tensor& q, const Tensor& k_cache, const Tensor& v_cache,
                                      const Tensor& n_past_at, float scale, Tensor& out) {
  enter("attention_causal_at");
  check_step_scalars(n_past_at, 1, "attention_causal_at", "n_past");
  const CausalAttentionShape shape =
      check_attention_causal_args(q, k_cache, v_cache, 0, out, kCudaDTypes);
  run_causal_attention(q, k_cache, v_cache, shape, 0, n_past_at.data_as<const int32_t>(), scale, out,
                       "attention_causal_at");
}

Tensor CudaBackend::upload_weights_concat(std::span<const Tensor> hosts) {
  enter("upload_weights_concat");
  const int64_t rows = check_concat_weights_args(hosts);
  if (!join_weights_) return {};  // VLM_CUDA_JOIN=0: the caller uploads the parts one by one
  const DType dtype = hosts[0].dtype();
  const bool is_float = dtype == DType::F32 || dtype == DType::F16 || dtype == DType::BF16;
  Tensor joined = alloc(is_float ? DType::BF16 : dtype, {rows, hosts[0].cols()});
  int64_t row0 = 0;
  for (const Tensor& host : hosts) {
    Tensor part = joined.slice_rows(row0, host.rows());
    upload_weight_into(host, part);
    row0 += host.rows();
  }
  return register_weight(joined);
}

}  // namespace vlm::cuda
