// The backend interface: transformer-sized ops plus memory, one implementation per device.
// The CPU backend (model/src/backend_cpu*.cpp) is the numerical reference; the CUDA backend
// (cuda/) must match it op by op within a stated tolerance (tests/backend/).
//
// Conventions shared by every op:
// - Tensors are row-major and contiguous; "[M, N]" means rows() == M and cols() == N, so a
//   [M, heads, head_dim] tensor is also an [M, heads*head_dim] matrix.
// - Activations use activation_dtype() (F32 on the CPU, BF16 on CUDA). Weights keep their
//   checkpoint dtype (F32, F16 or BF16); ops accumulate in f32.
// - Outputs are passed in, already allocated, so callers can reuse buffers; an output may alias an
//   input only where the op says so.
// - Host-side index lists (token ids, segment boundaries, row permutations) are plain spans.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "vlm/preprocess.h"
#include "vlm/tensor.h"

namespace vlm {

enum class Op {
  MatMul, RmsNorm, Rope, AttentionVarlen, AttentionCausal, SiluMul, Gelu, Add,
  Embedding, GatherRows, CopyRows, Argmax,
};

// Parameters of Backend::sample: Hugging Face's logits-processor order (spec §7.7), as the CPU
// sampler (model/src/text/sampler.h) applies them.
struct SampleParams {
  bool greedy = true;
  float temperature = 1.0f;         // applied when sampling and != 1
  int top_k = 0;                    // 0 = off
  float top_p = 1.0f;               // 1 = off
  float repetition_penalty = 1.0f;  // 1 = off; once per distinct id of `history`
  std::span<const int32_t> history;  // the running sequence (prompt + generated ids)
  std::span<const int32_t> banned;   // ids set to −inf before anything else (min_new_tokens)
  double uniform = 0.0;  // the draw in [0, 1) for the weighted pick (Sampler::draw); unused if greedy
};

// Device memory figures for reports (vlm bench); `available` is false where the backend keeps
// none (the CPU backend: weights are memory-mapped, activations are ordinary heap memory).
struct BackendMemoryStats {
  bool available = false;
  int64_t weight_bytes = 0;       // live tensors made by upload_weight
  int64_t in_use_bytes = 0;       // device bytes held by live tensors (and the backend's scratch)
  int64_t peak_in_use_bytes = 0;  // the maximum of in_use_bytes so far
  int64_t cached_bytes = 0;       // freed bytes the backend keeps for reuse (still held)
};

// A recorded op sequence (Backend::record); replay() runs it again on the backend's stream.
class RecordedSteps {
 public:
  virtual ~RecordedSteps() = default;
  virtual void replay() = 0;
};

class Backend {
 public:
  virtual ~Backend() = default;

  virtual std::string name() const = 0;
  // Whether `op` is implemented for weights (or inputs) of `dtype`; like ggml's supports_op.
  virtual bool supports(Op op, DType dtype) const = 0;
  virtual DType activation_dtype() const = 0;

  // Inner widths a model owns and may choose (the vision MLP's intermediate: 3420 in every
  // Qwen2.5-VL size) are zero-padded to a multiple of this when the weights are loaded, so that
  // the backend's matmuls see aligned rows (exact: zero weight rows and bias give zero columns,
  // silu(0)·0 = 0, and zero weight columns add nothing). 1: no preference (the CPU backend).
  virtual int64_t matmul_width_multiple() const { return 1; }
  // How many rows of a row-wise run of ops (the vision MLP: gate|up GEMM, silu·mul, down GEMM, the
  // residual add + norm after it) the backend would like at once, given the bytes of intermediates
  // each row makes: a GPU may keep a block's intermediates in its last-level cache from one kernel
  // to the next instead of streaming them through memory. Results do not depend on it (every op
  // in the run is row-wise). 0: no preference, the largest blocks the caller allows.
  virtual int64_t preferred_row_block(int64_t intermediate_bytes_per_row) const {
    (void)intermediate_bytes_per_row;
    return 0;
  }

  // ---- memory ----
  // Uninitialised device tensor.
  virtual Tensor alloc(DType dtype, std::vector<int64_t> shape) = 0;
  // Makes a host tensor (e.g. a memory-mapped checkpoint view) usable as a weight by this backend.
  // The CPU backend returns it as is (zero copy); a device backend uploads it once.
  virtual Tensor upload_weight(const Tensor& host) = 0;
  // Host f32 values -> new device tensor of `dtype` (activation_dtype() typically).
  virtual Tensor from_host_f32(const float* values, std::vector<int64_t> shape, DType dtype) = 0;
  // Device tensor of F32/F16/BF16 -> host f32 values (numel() of them).
  virtual std::vector<float> to_host_f32(const Tensor& tensor) = 0;
  virtual void synchronize() = 0;

  // ---- ops ----
  // y[M,N] = x[M,K] · w[N,K]ᵀ (+ bias[N]).  bias may be an empty Tensor.
  virtual void matmul(const Tensor& x, const Tensor& w, const Tensor& bias, Tensor& y) = 0;
  // y = cast(x · rsqrt(mean(x²) + eps)) · weight, per row of D = cols() (HF's RMSNorm order).
  // y may alias x.
  virtual void rmsnorm(const Tensor& x, const Tensor& weight, float eps, Tensor& y) = 0;
  // In place rotate-half RoPE on x[M, heads, head_dim] with per-row tables cos/sin[M, head_dim]
  // (F32): x'[p] = x[p]·cos[p] − x[p+h/2]·sin[p], x'[p+h/2] = x[p+h/2]·cos[p+h/2] + x[p]·sin[p+h/2].
  // Computed in f32 and cast back.
  virtual void rope(Tensor& x, const Tensor& cos, const Tensor& sin) = 0;
  // Bidirectional attention restricted to segments [cu_seqlens[i], cu_seqlens[i+1]) of rows.
  // q, k, v, out: [M, heads, head_dim]; scale multiplies q·k.
  virtual void attention_varlen(const Tensor& q, const Tensor& k, const Tensor& v,
                                std::span<const int32_t> cu_seqlens, float scale, Tensor& out) = 0;
  // Causal GQA attention of n_new query rows against a KV cache.
  // q: [n_new, n_heads, head_dim]; k_cache, v_cache: [capacity, n_heads_kv, head_dim] whose rows
  // [0, n_past + n_new) are filled (the new keys already stored at n_past…). Query i sits at cache
  // position n_past + i and sees keys 0 … n_past + i. Query head h uses kv head h / (n_heads/n_kv).
  virtual void attention_causal(const Tensor& q, const Tensor& k_cache, const Tensor& v_cache,
                                int64_t n_past, float scale, Tensor& out) = 0;
  // y = silu(gate) ⊙ up, elementwise.  y may alias gate.
  virtual void silu_mul(const Tensor& gate, const Tensor& up, Tensor& y) = 0;
  // y = exact (erf) GELU(x).  y may alias x.
  virtual void gelu(const Tensor& x, Tensor& y) = 0;
  // y = a + b, elementwise.  y may alias a or b.
  virtual void add(const Tensor& a, const Tensor& b, Tensor& y) = 0;
  // residual = residual + x, then y = rmsnorm(residual): a decoder layer's residual add and the
  // next norm in one pass where the backend fuses them (CUDA). The default is exactly add() then
  // rmsnorm(). y must not alias x or residual.
  virtual void add_rmsnorm(const Tensor& x, Tensor& residual, const Tensor& weight, float eps,
                           Tensor& y);

  // rope(q), rope(k) with the tables cos/sin [M, head_dim] (F32), then attention_varlen: the
  // ViT's attention, which a device backend may run with the rotation inside the attention kernel
  // (CUDA's tensor-core kernels: two passes over q and k fewer per block). q and k are left
  // rotated or not. The default is those three ops (backend_fused.cpp).
  virtual void rope_attention_varlen(Tensor& q, Tensor& k, const Tensor& v, const Tensor& cos,
                                     const Tensor& sin, std::span<const int32_t> cu_seqlens,
                                     float scale, Tensor& out);

  // ---- ops on joined projections (optional) ----
  // Where weights are joined (upload_weights_concat: q|k|v, gate|up), a prefill runs one GEMM per
  // joined weight and these ops split its output rows. Each is exactly the op sequence its
  // comment names, and that sequence is the default (backend_joined.cpp); a device backend runs
  // each as one kernel.
  // qkv [n, (heads + 2·n_kv)·head_dim] (each row: q heads, k heads, v heads), cos/sin [n, head_dim]
  // (F32): q [n, heads, head_dim] = rope(the q heads); k_cache / v_cache [capacity, n_kv, head_dim]
  // rows [n_past, n_past + n) = rope(the k heads) / the v heads. qkv is not changed.
  virtual void rope_append(const Tensor& qkv, const Tensor& cos, const Tensor& sin, Tensor& q,
                           Tensor& k_cache, Tensor& v_cache, int64_t n_past);
  // y [n, F] = silu(gate) ⊙ up with gate, up the halves of each row of gate_up [n, 2F].
  virtual void silu_mul_joined(const Tensor& gate_up, Tensor& y);
  // The ViT's attention on its joined projection: qkv [n, 3·heads·head_dim] (each row: q heads,
  // k heads, v heads), cos/sin [n, head_dim] (F32); out [n, heads, head_dim] =
  // rope_attention_varlen of the three parts. qkv is not changed. (CUDA's tensor-core kernels
  // read the parts where they are; the default gathers them into their own tensors first.)
  virtual void rope_attention_varlen_joined(const Tensor& qkv, const Tensor& cos, const Tensor& sin,
                                            std::span<const int32_t> cu_seqlens, float scale,
                                            Tensor& out);

  // ---- fused one-row ops of the decode step (optional) ----
  // Each is exactly the sequence of ops its comment names, rounded the same way, and that
  // sequence is the default (backend_fused.cpp; it allocates its intermediates). CUDA runs each as
  // one GEMV kernel when its GEMV is chosen for w's shape, which takes the norm, silu·mul and
  // residual add kernels out of the recorded decode step (x of one row; other calls take the
  // default). w is [N, K]; y and residual are [rows, N].
  // y = matmul(rmsnorm(x, norm_weight, eps), w, bias).
  virtual void rmsnorm_matmul(const Tensor& x, const Tensor& norm_weight, float eps, const Tensor& w,
                              const Tensor& bias, Tensor& y);
  // residual = residual + matmul(x, w): the product rounded to the activation dtype first, then
  // the sum (as matmul into a tensor, then add()).
  virtual void matmul_add(const Tensor& x, const Tensor& w, Tensor& residual);
  // residual = residual + matmul(silu(gate)·up, w), gate and up the halves of gate_up [1, 2K]
  // (silu_mul, matmul, add).
  virtual void silu_mul_matmul_add(const Tensor& gate_up, const Tensor& w, Tensor& residual);

  // y[i] = table[ids[i]]; table [V, D] in any weight dtype, y [n, D] activations.
  virtual void embedding(const Tensor& table, std::span<const int32_t> ids, Tensor& y) = 0;
  // y[i] = x[index[i]] for whole rows (rows() of x and y may differ).
  virtual void gather_rows(const Tensor& x, std::span<const int32_t> index, Tensor& y) = 0;
  // dst rows [dst_row0, dst_row0 + n) = src rows [src_row0, src_row0 + n); same dtype and cols().
  virtual void copy_rows(const Tensor& src, int64_t src_row0, Tensor& dst, int64_t dst_row0,
                         int64_t n_rows) = 0;
  // Index of the maximum of each row of x[M, N] (first on ties).
  virtual std::vector<int32_t> argmax(const Tensor& x) = 0;
  // The next token id from logits[1, V]: exactly vlm::sample_with_draw (model/src/text/sampler.h)
  // on the row after `banned` ids are set to −inf, for the same params.uniform. The default
  // (model/src/core/backend_sample.cpp) uses argmax() when nothing but the maximum matters, and
  // otherwise copies the row to the host and runs the CPU sampler; a device backend may override
  // it so that only the id crosses to the host (the CUDA backend does).
  virtual int32_t sample(const Tensor& logits, const SampleParams& params);

  // ---- recorded steps (optional; CUDA graphs) ----
  // A decode step is the same op sequence for every token: only the token id, the cache position
  // and the rope tables change. A backend that can record such a sequence once and replay it
  // cheaply (a CUDA graph: no per-op host work or launch gaps) says so here; the ops below then
  // read what changes from small I32 tensors that write() refreshes before each replay. The text
  // decoder uses them for single-token steps (text/text_decode_step.cpp). The base class answers
  // false and throws Unsupported from the rest.
  virtual bool supports_recorded_steps() const { return false; }
  // Records the backend ops `ops` calls, without running them, for RecordedSteps::replay. Every
  // tensor the ops touch must outlive the recording; scratch the ops allocate for themselves is
  // kept by the recording. Scalars baked into the calls (n_past, row offsets) are fixed at
  // recording: what must change goes through the *_at ops.
  virtual std::unique_ptr<RecordedSteps> record(const std::function<void()>& ops);
  // dst's bytes = the first dst.nbytes() bytes at `host`, ordered with the ops (after work already
  // enqueued, before work enqueued later); `host` may be reused as soon as it returns.
  virtual void write(Tensor& dst, const void* host);
  // embedding() with the ids in an I32 tensor [n] (range-checked by the caller before write()).
  virtual void embedding_at(const Tensor& table, const Tensor& ids, Tensor& y);
  // copy_rows(src, 0, dst, row, src.rows()) with row = dst_row[0] (I32 [1]) read when the op runs;
  // rows that would fall outside dst are not written.
  virtual void copy_rows_at(const Tensor& src, Tensor& dst, const Tensor& dst_row);
  // One token's joined q|k|v row, qkv [1, (n_heads + 2·n_kv)·head_dim] with k_cache/v_cache
  // [capacity, n_kv, head_dim]: rope() on its q and k heads in place, then its k and v heads
  // stored at cache row n_past_at[0] (I32 [1], read when the op runs; not stored outside the
  // cache). The default is rope() + two copy_rows_at(); a device backend does it in one kernel.
  virtual void rope_append_at(Tensor& qkv, const Tensor& cos, const Tensor& sin, Tensor& k_cache,
                              Tensor& v_cache, const Tensor& n_past_at);
  // rope_append_at(qkv, …), then attention_causal_at() of qkv's q heads against the cache: a
  // recorded decode step's rope, cache append and attention, which a device backend runs as one
  // kernel (CUDA). qkv's q and k heads are left rotated or not. The default is those two ops.
  virtual void rope_attention_at(Tensor& qkv, const Tensor& cos, const Tensor& sin, Tensor& k_cache,
                                 Tensor& v_cache, const Tensor& n_past_at, float scale, Tensor& out);
  // attention_causal() with n_past = n_past_at[0] (I32 [1]) read when the op runs; at most
  // k_cache.rows() − q.rows() (the caller checks before write()).
  virtual void attention_causal_at(const Tensor& q, const Tensor& k_cache, const Tensor& v_cache,
                                   const Tensor& n_past_at, float scale, Tensor& out);
  // upload_weight() of several host tensors (2-D, one dtype and row length) into ONE weight holding
  // their rows in order, so that a single matmul can replace several (q/k/v, gate/up); views of
  // it (slice_rows) serve as the parts. The default returns an empty tensor: the CPU backend keeps
  // its zero-copy checkpoint views, which a concatenation would copy.
  virtual Tensor upload_weights_concat(std::span<const Tensor> hosts);
  // upload_weights_concat of 2-D weights, or of 1-D biases (each seen as [n, 1]; the result is
  // then 1-D too): the parts in order as one tensor, or an empty one where weights stay apart.
  Tensor upload_joined(std::span<const Tensor> hosts);

  // ---- preprocessing on the device (optional) ----
  // preprocess_video / preprocess_image (vlm/preprocess.h) of to_rgb8(frames) done on this
  // backend, from the frames as they came (CUDA uploads RGB and NV12 as they are and converts other
  // formats on the host first): `out` gets the grid, second_per_grid_t and device_pixel_values
  // [patches, 1176] in activation_dtype(), equal to from_host_f32 of the host path's pixel_values,
  // and true is returned. The default returns false and leaves `out` alone: the host path is then
  // used (the CPU backend's own path). Errors are the host path's (same size functions).
  virtual bool preprocess_video_on_device(std::span<const FrameView> frames, double sample_fps,
                                          const PreprocessorConfig& config,
                                          const VideoSamplingOptions& options, VisionInput& out);
  virtual bool preprocess_image_on_device(const FrameView& image, const PreprocessorConfig& config,
                                          int64_t min_pixels, int64_t max_pixels, VisionInput& out);

  // ---- reports ----
  virtual BackendMemoryStats memory_stats() const { return {}; }
};

// Number of worker threads for the CPU backend; 0 = hardware concurrency.
std::unique_ptr<Backend> make_cpu_backend(int n_threads = 0);

// ---- backend registry (model/src/core/backend_registry.cpp) ----
// Device backends living in other libraries (the CUDA backend in cuda/, libvlm-cuda) register a
// factory for a device-name prefix, so libvlm itself never includes their headers. A factory gets
// the whole device name ("cuda" or "cuda:1") and throws vlm::Error for a device it cannot open.
using BackendFactory = std::function<std::unique_ptr<Backend>(const std::string& device)>;
// Registers (or replaces) the factory for devices named `prefix` or `prefix:N`. Thread-safe.
void register_backend_factory(std::string prefix, BackendFactory factory);
// "cpu" -> make_cpu_backend(n_threads); "<prefix>" / "<prefix>:N" -> the registered factory.
// Throws Unsupported for "cuda"/"cuda:N" when no CUDA backend is linked, InvalidInput for any
// other name.
std::unique_ptr<Backend> make_backend(const std::string& device, int n_threads = 0);
// Whether make_backend knows the device name's prefix (without opening the device).
bool backend_registered(const std::string& device);

}  // namespace vlm
