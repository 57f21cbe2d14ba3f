// CudaBackend: vlm::Backend on one CUDA device (internal to cuda/; backend_cuda.h is the public
// face). Shape, per ARCHITECTURE.md §1.3: host C++ here, kernels behind launch.h.
// - Memory: every tensor comes from a DevicePool (caching cudaMalloc), owned by a shared_ptr whose
//   deleter returns the block, so tensors may outlive the backend object safely.
// - One non-blocking stream per backend: every op is enqueued on it; only to_host_f32, argmax and
//   synchronize() wait for it.
// - Weights are uploaded once as bf16 (F32/F16 checkpoints converted on the device chunk by
//   chunk); activations are BF16 (activation_dtype()); f32 accumulation everywhere.
// - Errors: CUDA/cuBLASLt failures throw vlm::Error (check.h); a sticky error makes every later
//   call throw at once.
// The definitions are split by concern: backend_cuda.cpp (device, memory, transfers, registry),
// backend_cuda_ops.cpp (the ops), backend_cuda_sample.cpp (token choice), backend_cuda_steps.cpp
// (recorded steps: CUDA graphs), backend_cuda_gemv.cpp (GEMV or cuBLASLt for one-row matmuls).
#pragma once

#include <cuda_runtime_api.h>

#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <span>
#include <string>
#include <vector>

#include "gemm_cublaslt.h"
#include "launch.h"
#include "memory_pool.h"
#include "op_profile.h"
#include "vlm/backend.h"
#include "vlm/backend_checks.h"

namespace vlm::cuda {

class CudaBackend final : public Backend {
 public:
  explicit CudaBackend(int device_index);
  ~CudaBackend() override;

  std::string name() const override { return name_; }
  bool supports(Op op, DType dtype) const override;
  DType activation_dtype() const override { return DType::BF16; }

  Tensor alloc(DType dtype, std::vector<int64_t> shape) override;
  Tensor upload_weight(const Tensor& host) override;
  Tensor from_host_f32(const float* values, std::vector<int64_t> shape, DType dtype) override;
  std::vector<float> to_host_f32(const Tensor& tensor) override;
  void synchronize() override;

  void matmul(const Tensor& x, const Tensor& w, const Tensor& bias, Tensor& y) override;
  void rmsnorm(const Tensor& x, const Tensor& weight, float eps, Tensor& y) override;
  void rope(Tensor& x, const Tensor& cos, const Tensor& sin) override;
  void attention_varlen(const Tensor& q, const Tensor& k, const Tensor& v,
                        std::span<const int32_t> cu_seqlens, float scale, Tensor& out) override;
  void attention_causal(const Tensor& q, const Tensor& k_cache, const Tensor& v_cache,
                        int64_t n_past, float scale, Tensor& out) override;
  void rope_attention_varlen(Tensor& q, Tensor& k, const Tensor& v, const Tensor& cos,
                             const Tensor& sin, std::span<const int32_t> cu_seqlens, float scale,
                             Tensor& out) override;
  void silu_mul(const Tensor& gate, const Tensor& up, Tensor& y) override;
  void gelu(const Tensor& x, Tensor& y) override;
  void add(const Tensor& a, const Tensor& b, Tensor& y) override;
  // The prefill's ops on joined q|k|v and gate|up rows, one kernel each (backend_cuda_ops.cpp).
  void rope_append(const Tensor& qkv, const Tensor& cos, const Tensor& sin, Tensor& q,
                   Tensor& k_cache, Tensor& v_cache, int64_t n_past) override;
  void silu_mul_joined(const Tensor& gate_up, Tensor& y) override;
  // The tensor-core kernels read q, k and v in place from the joined rows (row strides) and
  // rotate q and k as they load them; where the CUDA-core kernel is forced, the default.
  void rope_attention_varlen_joined(const Tensor& qkv, const Tensor& cos, const Tensor& sin,
                                    std::span<const int32_t> cu_seqlens, float scale,
                                    Tensor& out) override;
  void embedding(const Tensor& table, std::span<const int32_t> ids, Tensor& y) override;
  void gather_rows(const Tensor& x, std::span<const int32_t> index, Tensor& y) override;
  void copy_rows(const Tensor& src, int64_t src_row0, Tensor& dst, int64_t dst_row0,
                 int64_t n_rows) override;
  std::vector<int32_t> argmax(const Tensor& x) override;
  // The CPU sampler's choice on the device; only the id is copied (backend_cuda_sample.cpp).
  int32_t sample(const Tensor& logits, const SampleParams& params) override;

  // Recorded steps as CUDA graphs, the *_at ops, joined weights (backend_cuda_steps.cpp).
  bool supports_recorded_steps() const override { return true; }
  std::unique_ptr<RecordedSteps> record(const std::function<void()>& ops) override;
  void write(Tensor& dst, const void* host) override;
  void embedding_at(const Tensor& table, const Tensor& ids, Tensor& y) override;
  void copy_rows_at(const Tensor& src, Tensor& dst, const Tensor& dst_row) override;
  void rope_append_at(Tensor& qkv, const Tensor& cos, const Tensor& sin, Tensor& k_cache,
                      Tensor& v_cache, const Tensor& n_past_at) override;
  void rope_attention_at(Tensor& qkv, const Tensor& cos, const Tensor& sin, Tensor& k_cache,
                         Tensor& v_cache, const Tensor& n_past_at, float scale, Tensor& out) override;
  void attention_causal_at(const Tensor& q, const Tensor& k_cache, const Tensor& v_cache,
                           const Tensor& n_past_at, float scale, Tensor& out) override;
  Tensor upload_weights_concat(std::span<const Tensor> hosts) override;

  // GPU preprocessing of raw frames (preprocess_cuda.cpp), rows in the activation dtype for the
  // vision encoder.
  bool preprocess_video_on_device(std::span<const FrameView> frames, double sample_fps,
                                  const PreprocessorConfig& config,
                                  const VideoSamplingOptions& options, VisionInput& out) override;
  bool preprocess_image_on_device(const FrameView& image, const PreprocessorConfig& config,
                                  int64_t min_pixels, int64_t max_pixels, VisionInput& out) override;

  // Pool figures and the live bytes of uploaded weights (backend_cuda_weights.cpp).
  BackendMemoryStats memory_stats() const override;

  // 8 (16 bytes of bf16: cuBLASLt's aligned kernels) unless turned off, then 1. The ViT MLP's
  // 3420 becomes 3424 at load time (+0.1% of its weights); bench_cuda_ops' "ViT MLP K=3420" lines
  // time the GEMMs both ways. VLM_CUDA_PAD_K=0 in the environment turns it off (an A/B of
  // `vlm bench --device cuda`); set_pad_widths applies to models loaded afterwards.
  int64_t matmul_width_multiple() const override { return pad_widths_ ? 8 : 1; }
  void set_pad_widths(bool on) { pad_widths_ = on; }
  // The vision MLP's row blocks (Backend::preferred_row_block). VLM_CUDA_MLP_ROWS: "off" (the
  // default until a GPU shows otherwise: whole chunks, the GEMMs at their largest M), "l2" (as many
  // rows as keep the intermediates in half the L2: ~1024 at the 3B/7B ViT's widths on an H100/H200,
  // so silu·mul and the add + norm read what the GEMM before wrote from L2 instead of HBM; the
  // GEMMs run at smaller M) or a row count. An A/B of `vlm bench --device cuda` (device-check.sh).
  int64_t preferred_row_block(int64_t intermediate_bytes_per_row) const override;
  // 0: off; -1: from the L2 size; > 0: that many rows. For models encoded afterwards.
  void set_row_blocks(int64_t mode) { row_blocks_ = mode; }
  // Beyond the interface: whether upload_weights_concat joins weights (q|k|v and gate|up of the
  // decoder, gate|up of the ViT, so that each runs as one GEMM). On by default;
  // VLM_CUDA_JOIN=0 (an A/B of `vlm bench --device cuda`) or set_join_weights(false) makes it
  // return an empty tensor, as the CPU backend does, for models loaded afterwards: their parts are
  // then uploaded and run one by one.
  void set_join_weights(bool on) { join_weights_ = on; }
  bool join_weights() const { return join_weights_; }

  // Beyond the interface: which attention kernel runs. Three implement AttentionParams:
  // Simt (kernels/attention.cu, CUDA cores, split-K: decode), Mma (kernels/attention_mma.cu, WMMA
  // tensor cores) and Flash (kernels/attention_flash.cu, mma.sync with the softmax in registers).
  // Auto chooses per kind of call (backend_cuda_attention_choice.cpp): with attention tuning on
  // (the default), the first call of a kind outside a capture times the candidates on its own
  // operands and the fastest is kept for every later call of that kind; otherwise, or until then,
  // the reasoned default, Flash. Causal calls with fewer than kMmaMinFlatRows query rows × group
  // per kv head (decode) are not measured: they run Simt, as the recorded decode step does.
  // Simt / Mma / Flash force one kernel for every call. The environment's VLM_CUDA_ATTENTION=auto|simt|mma|flash and
  // VLM_CUDA_ATTENTION_TUNE=1|0 set them when the backend is created.
  enum class AttentionKernel { Auto, Simt, Mma, Flash };
  static constexpr int64_t kMmaMinFlatRows = kAttentionMmaTileRows;
  static const char* attention_kernel_name(AttentionKernel kernel);
  void set_attention_tuning(bool on) { attention_tuning_ = on; }
  bool attention_tuning() const { return attention_tuning_; }
  // One measurement of Auto's choice: the kind of call, each candidate's time (ms per call, best
  // of the rounds), the reasoned default and the kernel kept.
  struct AttentionChoiceRecord {
    std::string call;
    std::vector<AttentionKernel> candidates;
    std::vector<float> candidate_ms;
    AttentionKernel reasoned = AttentionKernel::Auto;
    AttentionKernel chosen = AttentionKernel::Auto;
  };
  const std::vector<AttentionChoiceRecord>& attention_choice_records() const {
    return attention_choice_records_;
  }
  // Split-K attention on CUDA cores merges its partials in the kernel (the tile's last block,
  // AttentionParams::split_counters) unless set to false (VLM_CUDA_SPLIT_COMBINE=kernel): then
  // the separate combine kernel runs, as the tensor-core path always does.
  void set_split_combine_inline(bool on) { split_combine_inline_ = on; }
  void set_attention_kernel(AttentionKernel kernel) { attention_kernel_ = kernel; }
  AttentionKernel attention_kernel() const { return attention_kernel_; }

  // Beyond the interface: which kernel runs a matmul with one activation row (decode). Auto: the
  // faster of our GEMV (kernels/gemv.cu) and cuBLASLt, measured once per weight shape when the
  // weight is uploaded (backend_cuda_gemv.cpp); Ours / CublasLt force one. The environment's
  // VLM_CUDA_GEMV=auto|ours|cublaslt sets it when the backend is created. Our kernel needs
  // K % 8 == 0 and 16-byte aligned x and w; other calls always take cuBLASLt.
  enum class GemvKernel { Auto, Ours, CublasLt };
  void set_gemv_kernel(GemvKernel kernel) { gemv_kernel_ = kernel; }
  GemvKernel gemv_kernel() const { return gemv_kernel_; }
  struct GemvChoice {
    float ours_ms = 0.0f, cublaslt_ms = 0.0f;  // per call, best of the rounds
    bool ours_faster() const { return ours_ms < cublaslt_ms; }
  };
  // The measurements so far, by (N, K).
  const std::map<std::pair<int64_t, int64_t>, GemvChoice>& gemv_choices() const { return gemv_choices_; }
  // Beyond the interface: how each new GEMM shape's cuBLASLt algorithm is chosen (gemm_cublaslt.h):
  // by default the fastest of the heuristic's candidates, timed on the shape's first call outside a
  // capture (large enough problems only); with measure = false the heuristic's first, as cuBLASLt
  // ranks them. VLM_CUDA_GEMM_TUNE=1|0 sets it when the backend is created (an A/B of vlm bench);
  // the setter drops the plans made so far. The records say what each measurement found.
  void set_gemm_tuning(const GemmTuning& tuning) { gemm_->set_tuning(tuning); }
  const GemmTuning& gemm_tuning() const { return gemm_->tuning(); }
  const std::vector<GemmTuneRecord>& gemm_tune_records() const { return gemm_->tune_records(); }
  // Beyond the interface: our GEMV launched for programmatic dependent launch (kernels/gemv.cu),
  // so that each decode matmul requests its first weights while the previous kernel finishes.
  // Off by default until a GPU shows it pays (vlm bench's decode A/B in scripts/device-check.sh);
  // VLM_CUDA_PDL=1 turns it on. Only sm_90 and newer have it: elsewhere it stays off.
  void set_programmatic_launch(bool on) { programmatic_launch_ = on && supports_programmatic_launch_; }
  bool programmatic_launch() const { return programmatic_launch_; }

  // The fused one-row decode ops (vlm/backend.h) as one GEMV kernel each where gemv_chosen(w),
  // else the base class's sequence (backend_cuda_gemv.cpp).
  void rmsnorm_matmul(const Tensor& x, const Tensor& norm_weight, float eps, const Tensor& w,
                      const Tensor& bias, Tensor& y) override;
  void matmul_add(const Tensor& x, const Tensor& w, Tensor& residual) override;
  void silu_mul_matmul_add(const Tensor& gate_up, const Tensor& w, Tensor& residual) override;

  // residual += x, then y = rmsnorm(residual), in one kernel pass (vlm/backend.h).
  void add_rmsnorm(const Tensor& x, Tensor& residual, const Tensor& weight, float eps,
                   Tensor& y) override;
  int device_index() const { return device_; }
  // The backend's stream (for device work beside the ops, e.g. preprocess_cuda.cpp); callers
  // make the device current through a backend call first (alloc does).
  cudaStream_t stream() const { return stream_; }
  const DevicePool& pool() const { return *pool_; }

 private:
  // Every op starts here: fails fast after a sticky device error, makes the device current for
  // this thread, and with VLM_CUDA_PROFILE marks the op (named `op`; nullptr: not an op of its own).
  void enter(const char* op = nullptr) const;
  // Names the latest profile mark after the op's shape is known ("matmul 8192x3424x1280").
  void label_matmul(const char* op, const MatmulShape& shape) const;
  // cudaStreamSynchronize; with VLM_CUDA_PROFILE the time until the next op is the host's.
  void wait_for_stream() const;
  // Appends the profile's table to VLM_CUDA_PROFILE's file (destructor; never throws).
  void write_profile() noexcept;
  // Throws when the last launch failed (names the op).
  void check_launch(const char* op) const;
  // Copies a host int32 list to a pooled device tensor (stream-ordered).
  Tensor upload_indices(std::span<const int32_t> values);
  // Converts n elements on the device (same stream).
  void convert(const void* src, DType src_type, void* dst, DType dst_type, int64_t n);
  // Auto's choice of attention kernel (backend_cuda_attention_choice.cpp). A kind of call: varlen
  // or causal, heads, kv heads, head_dim, the bit widths of its flat rows (query rows × group)
  // and of its longest key range (a varlen segment; the causal cache), whether q and k are rotated
  // on load and whether rows are read in place from a joined projection.
  struct AttentionCallKind {
    bool causal = false;
    int64_t heads = 0, kv_heads = 0, head_dim = 0;
    int rows_bits = 0, keys_bits = 0;
    bool rope_on_load = false, strided = false;
    auto operator<=>(const AttentionCallKind&) const = default;
    std::string describe() const;
  };
  // The kernel for a call of this kind: the forced one; Auto's measured choice; else the reasoned
  // default, after measuring `candidates` by running the whole call through `launch` when tuning is
  // on, may_measure (out overlaps no input: the call can run more than once) and the stream is not
  // being captured. Every candidate's launch writes the call's output; the caller then launches the
  // returned kernel, so the output ends with its result.
  AttentionKernel attention_kernel_for(const AttentionCallKind& kind,
                                       std::span<const AttentionKernel> candidates,
                                       AttentionKernel reasoned, bool may_measure, const char* op,
                                       const std::function<void(AttentionKernel)>& launch);
  AttentionKernel measure_attention(const AttentionCallKind& kind,
                                    std::span<const AttentionKernel> candidates,
                                    AttentionKernel reasoned,
                                    const std::function<void(AttentionKernel)>& launch);
  // attention_varlen after the checks, on q, k, v rows `row_stride` elements apart (0: packed
  // [rows, heads, head_dim]); with rope tables (rope_attention_varlen*), q and k are rotated by
  // a tensor-core kernel as it loads them. Both need a tensor-core kernel (the caller made sure
  // one runs: Auto's candidates are then the two tensor-core kernels).
  struct VarlenInputs {
    const bf16_bits* q;
    const bf16_bits* k;
    const bf16_bits* v;
    int64_t row_stride = 0;
    const float* rope_cos = nullptr;
    const float* rope_sin = nullptr;
  };
  void run_varlen_attention(const VarlenInputs& in, const AttentionShape& shape,
                            std::span<const int32_t> cu_seqlens, float scale, Tensor& out);
  // A decode step's rope and cache append done inside the CUDA-core attention kernel
  // (AttentionParams::new_row and the fields after it).
  struct FusedDecodeRope {
    const bf16_bits* row;  // the joined q|k|v row, not rotated
    const float* cos;
    const float* sin;
  };
  // attention_causal with n_past on the host, or (n_past_at non-null) read on the device; with
  // `fused`, q is the joined row's q heads and the CUDA-core kernel rotates and appends.
  void run_causal_attention(const Tensor& q, const Tensor& k_cache, const Tensor& v_cache,
                            const CausalAttentionShape& shape, int64_t n_past,
                            const int32_t* n_past_at, float scale, Tensor& out, const char* op,
                            const FusedDecodeRope* fused = nullptr);
  // One launch of `kernel` (never Auto): varlen tiles from the host, or (causal) tiles computed in
  // the kernel from params.n_tiles; split-K partials and their merge when the grid is small.
  void run_attention(AttentionParams& params, const std::vector<AttentionTile>& tiles,
                     int64_t total_keys, AttentionKernel kernel);
  // upload_weight = register_weight(upload_weight_data(host)).
  Tensor upload_weight_data(const Tensor& host);
  // host's values into `device` (same element count; BF16 for float hosts, else host's dtype).
  void upload_weight_into(const Tensor& host, Tensor& device);
  // Counts the weight's bytes while it lives (and measures the GEMV for its shape).
  Tensor register_weight(Tensor device);
  // Whether one-row matmuls with w run on our GEMV: it fits w (bf16, K % 8 == 0, 16-byte aligned)
  // and is forced or measured faster (measuring w's shape now when Auto has not, unless capturing).
  bool gemv_chosen(const Tensor& w);
  // launch_gemv on this stream, then check_launch(op).
  void run_gemv(const GemvArgs& args, const char* op);
  // Whether the stream is being captured into a graph (nothing may be timed or synchronised).
  bool capturing() const;
  // Our GEMV for an M = 1 matmul when it fits and is chosen; false (nothing done) otherwise.
  bool matmul_gemv(const Tensor& x, const Tensor& w, const Tensor& bias, Tensor& y,
                   const MatmulShape& shape);
  // Measures our GEMV against cuBLASLt at M = 1 for w's shape, once per shape (Auto mode, not
  // while capturing).
  void tune_gemv(const Tensor& w);

  // Live weight bytes, shared with the weights' owners (tensors may outlive the backend).
  struct WeightRegistry {
    std::mutex mutex;
    int64_t live_bytes = 0;
  };

  int device_ = 0;
  std::string name_;
  int sm_count_ = 0;
  cudaStream_t stream_ = nullptr;
  std::shared_ptr<DevicePool> pool_;
  std::unique_ptr<GemmRunner> gemm_;
  // VLM_CUDA_PROFILE=FILE: per-op GPU time, appended to FILE when the backend is destroyed.
  std::shared_ptr<OpProfile> profile_;
  std::string profile_path_;
  bool pad_widths_ = true;
  bool join_weights_ = true;
  int64_t row_blocks_ = 0;  // set_row_blocks
  int64_t l2_bytes_ = 0;
  // VLM_CUDA_POISON=1: every tensor alloc() hands out is first filled with 0xFF bytes on the stream
  // (NaN as bf16/f32, −1 as int32), so an op that reads memory nothing wrote (a reused pool block's
  // old contents) gives NaN instead of plausible values. A debugging aid: one memset per alloc.
  bool poison_allocations_ = false;
  AttentionKernel attention_kernel_ = AttentionKernel::Auto;
  bool attention_tuning_ = true;
  std::map<AttentionCallKind, AttentionKernel> attention_choices_;
  std::vector<AttentionChoiceRecord> attention_choice_records_;
  bool split_combine_inline_ = true;
  // The split-K counters (zeroed once here; every kernel that uses them leaves them zero).
  static constexpr int64_t kSplitCounters = 4096;
  Tensor split_counters_;
  GemvKernel gemv_kernel_ = GemvKernel::Auto;
  bool supports_programmatic_launch_ = false;  // compute capability 9.0 or newer
  bool programmatic_launch_ = false;
  std::map<std::pair<int64_t, int64_t>, GemvChoice> gemv_choices_;
  std::shared_ptr<WeightRegistry> weights_ = std::make_shared<WeightRegistry>();
};

ElemType elem_type(DType dtype);  // F32/F16/BF16, Unsupported otherwise

// The CUDA backend's dtypes for the shared argument checks (vlm/backend_checks.h) and supports():
// BF16 activations, and BF16 weights (upload_weight converted them).
inline constexpr DTypePolicy kCudaDTypes{
    DType::BF16, true,
    "the CUDA backend's activations and weights are BF16 (upload_weight converts)"};

}  // namespace vlm::cuda
