// The Qwen2.5-VL vision encoder forward pass (spec §5), expressed only in Backend ops so the same
// code drives the CPU reference and the CUDA backend. Host work per call is index arithmetic (the
// window permutation, segment boundaries) and the rotary tables; everything sized by the number of
// patches runs in the backend. Scratch buffers grow to the largest chunk seen and are reused.
// A call is cut into chunks of whole temporal groups (windows and frame segments never cross one,
// so chunking changes nothing but memory), and the SwiGLU runs over row blocks: scratch memory is
// bounded by max_chunk_patches, not by the length of a video. Because of the shared scratch, one
// encoder runs one encode() at a time (the engine serialises requests).
//
// Data flow for N patches (U = N/4 merge units), C = hidden, I = intermediate (zero-padded to the
// backend's matmul_width_multiple at load time: exact, and aligned rows for a GPU's GEMMs):
//   pixels [N,1176] -matmul-> [N,C] -gather units by window_index-> x
//   32 × { x += proj(attn(rope(q,k), v; window or frame segments)); x += down(silu(gate)·up) }
//   (each residual add runs fused with the norm after it: add_rmsnorm, one pass instead of two;
//   where the backend joins weights, q|k|v and gate|up are one GEMM each, read in place by
//   rope_attention_varlen_joined and silu_mul_joined)
//   ln_q -> view [U,4C] -> fc1 -> GELU -> fc2 [U,out] -gather by argsort(window_index)-> output
#include <algorithm>
#include <cmath>
#include <string>
#include <vector>

#include "vision/vision_rotary.h"
#include "vision/vision_weights.h"
#include "vlm/error.h"
#include "vlm/vision_encoder.h"

namespace vlm {

namespace {

constexpr float kVisionNormEps = 1e-6f;  // hard-coded in HF's vision RMSNorms
constexpr int64_t kDefaultMaxChunkPatches = 16384;

// A reusable [capacity, cols] scratch tensor; view(n) is its first n rows.
class Scratch {
 public:
  Tensor view(Backend& backend, DType dtype, int64_t rows, int64_t cols) {
    if (rows > capacity_ || storage_.empty()) {
      storage_ = backend.alloc(dtype, {std::max<int64_t>(rows, 1), cols});
      capacity_ = std::max<int64_t>(rows, 1);
    }
    return storage_.slice_rows(0, rows);
  }

 private:
  Tensor storage_;
  int64_t capacity_ = 0;
};

}  // namespace

struct VisionEncoder::Impl {
  Impl(const ModelConfig& model_config, const Checkpoint& checkpoint, Backend& backend_ref,
       const VisionEncoderOptions& options)
      : config(model_config.vision), backend(backend_ref) {
    VLM_CHECK(model_config.family == ModelFamily::Qwen2_5VL, Unsupported,
              "vision encoder: only the Qwen2.5-VL encoder is implemented (Qwen2-VL's LayerNorm "
              "encoder needs a layernorm op the backends do not have)");
    const int64_t multiple = options.mlp_width_multiple != 0 ? options.mlp_width_multiple
                                                             : backend.matmul_width_multiple();
    weights = load_vision_weights(config, checkpoint, backend, multiple);
    act = backend.activation_dtype();
  }

  // Pixel rows from the host (f32 values, uploaded a chunk at a time) or already on the device.
  struct PixelRows {
    std::span<const float> host;
    Tensor device;
  };
  Tensor encode(const PixelRows& pixels, std::span<const GridThw> grids, const CancelToken* cancel);
  // Encodes whole temporal groups (pixels: their rows, on the device) into output rows
  // [unit_row0, unit_row0 + Σ units).
  void encode_chunk(const Tensor& pixels, std::span<const GridThw> grids, Tensor& output,
                    int64_t unit_row0, const CancelToken* cancel);
  // One block on x (normed = norm1(x) on entry); leaves next_norm(x) in normed.
  void run_block(const VisionBlockWeights& w, const Tensor& next_norm,
                 std::span<const int32_t> segments, int64_t n, const Tensor& cos, const Tensor& sin);

  VisionConfig config;
  Backend& backend;
  VisionWeights weights;
  DType act = DType::F32;
  int64_t max_chunk_patches = kDefaultMaxChunkPatches;
  // up_buf holds up, or gate|up where joined; qkv_buf only where joined, q/k/v_buf only where not.
  Scratch x_buf, normed_buf, q_buf, k_buf, v_buf, qkv_buf, attn_buf, tmp_buf, gate_buf, up_buf, fc2_buf;
};

void VisionEncoder::Impl::run_block(const VisionBlockWeights& w, const Tensor& next_norm,
                                    std::span<const int32_t> segments, int64_t n, const Tensor& cos,
                                    const Tensor& sin) {
  const int64_t c = config.hidden_size;
  const int64_t mlp_width = weights.mlp_width;  // intermediate_size, maybe zero-padded
  const int64_t heads = config.num_heads;
  const int64_t head_dim = config.head_dim();
  // Where the backend joined gate|up at load (vision_weights.h), it reads joined rows in place:
  // q|k|v as one GEMM and gate|up as one, each GEMM reading `normed` once.
  const bool joined = !w.gate_up_weight.empty();
  Tensor x = x_buf.view(backend, act, n, c);
  Tensor normed = normed_buf.view(backend, act, n, c);
  Tensor attn = attn_buf.view(backend, act, n, c);
  Tensor tmp = tmp_buf.view(backend, act, n, c);

  // Attention half on normed = norm1(x): qkv rows [0,C) = Q, [C,2C) = K, [2C,3C) = V (spec §2.1).
  Tensor attn_heads = attn.reshape({n, heads, head_dim});
  const float scale = 1.0f / std::sqrt(static_cast<float>(head_dim));
  if (joined) {
    Tensor qkv = qkv_buf.view(backend, act, n, 3 * c);
    backend.matmul(normed, w.qkv_weight, w.qkv_bias, qkv);
    backend.rope_attention_varlen_joined(qkv, cos, sin, segments, scale, attn_heads);
  } else {
    Tensor q = q_buf.view(backend, act, n, c);
    Tensor k = k_buf.view(backend, act, n, c);
    Tensor v = v_buf.view(backend, act, n, c);
    backend.matmul(normed, w.qkv_weight.slice_rows(0, c), w.qkv_bias.slice_rows(0, c), q);
    backend.matmul(normed, w.qkv_weight.slice_rows(c, c), w.qkv_bias.slice_rows(c, c), k);
    backend.matmul(normed, w.qkv_weight.slice_rows(2 * c, c), w.qkv_bias.slice_rows(2 * c, c), v);
    Tensor q_heads = q.reshape({n, heads, head_dim});
    Tensor k_heads = k.reshape({n, heads, head_dim});
    Tensor v_heads = v.reshape({n, heads, head_dim});
    backend.rope_attention_varlen(q_heads, k_heads, v_heads, cos, sin, segments, scale, attn_heads);
  }
  backend.matmul(attn, w.proj_weight, w.proj_bias, tmp);
  backend.add_rmsnorm(tmp, x, w.norm2, kVisionNormEps, normed);  // x += proj; normed = norm2(x)

  // SwiGLU half, x += down(silu(gate(h)) · up(h)) and the next norm, over row blocks: every op
  // here is row-wise, so blocks change no result. They bound the [rows, I] scratch
  // (max_chunk_patches), and the backend may ask for smaller ones whose intermediates (gate|up,
  // the product, the down projection) stay in its cache from one kernel to the next.
  const int64_t elem = static_cast<int64_t>(dtype_size(act));
  const int64_t preferred = backend.preferred_row_block(elem * (3 * mlp_width + c));
  const int64_t block_rows = std::min({n, max_chunk_patches, preferred > 0 ? preferred : n});
  for (int64_t row0 = 0; row0 < n; row0 += block_rows) {
    const int64_t rows = std::min(block_rows, n - row0);
    Tensor gate = gate_buf.view(backend, act, rows, mlp_width);
    Tensor normed_rows = normed.slice_rows(row0, rows);
    Tensor out_rows = tmp.slice_rows(row0, rows);
    if (joined) {
      Tensor gate_up = up_buf.view(backend, act, rows, 2 * mlp_width);
      backend.matmul(normed_rows, w.gate_up_weight, w.gate_up_bias, gate_up);
      backend.silu_mul_joined(gate_up, gate);
    } else {
      Tensor up = up_buf.view(backend, act, rows, mlp_width);
      backend.matmul(normed_rows, w.gate_weight, w.gate_bias, gate);
      backend.matmul(normed_rows, w.up_weight, w.up_bias, up);
      backend.silu_mul(gate, up, gate);
    }
    backend.matmul(gate, w.down_weight, w.down_bias, out_rows);
    // x += mlp; normed = the next norm (this block's normed rows are read by now)
    Tensor x_rows = x.slice_rows(row0, rows);
    backend.add_rmsnorm(out_rows, x_rows, next_norm, kVisionNormEps, normed_rows);
  }
}

Tensor VisionEncoder::Impl::encode(const PixelRows& pixels, std::span<const GridThw> grids,
                                   const CancelToken* cancel) {
  const int merge = config.spatial_merge_size;
  const int64_t patch_dim = vision_patch_dim(config);
  // Validates the grids (positive, multiples of the merge size) and counts patches.
  (void)compute_window_index(grids, config.window_merged(), merge);
  const int64_t n = full_attention_cu_seqlens(grids).back();
  if (pixels.device.empty()) {
    VLM_CHECK(static_cast<int64_t>(pixels.host.size()) == n * patch_dim, InvalidInput,
              "vision encoder: pixel_values hold " << pixels.host.size() << " values, the grids need "
                                                   << n << " patch rows of " << patch_dim << " = "
                                                   << n * patch_dim);
  } else {
    VLM_CHECK(pixels.device.rank() == 2 && pixels.device.rows() == n &&
                  pixels.device.cols() == patch_dim && pixels.device.dtype() == act,
              InvalidInput, "vision encoder: device pixel rows " << pixels.device.describe()
                                << " are not " << dtype_name(act) << "[" << n << ", " << patch_dim
                                << "] (the grids' patches, on this engine's device)");
  }
  const int64_t unit = static_cast<int64_t>(merge) * merge;
  Tensor output = backend.alloc(act, {n / unit, config.out_hidden_size});

  // Chunks of consecutive temporal groups, each group whole; a chunk of one item's groups is one
  // GridThw with a smaller t.
  std::vector<GridThw> chunk;
  int64_t chunk_patches = 0, patch_row0 = 0, unit_row0 = 0;
  auto flush = [&]() {
    if (chunk.empty()) return;
    const Tensor rows =
        pixels.device.empty()
            ? backend.from_host_f32(pixels.host.data() + patch_row0 * patch_dim,
                                    {chunk_patches, patch_dim}, act)
            : pixels.device.slice_rows(patch_row0, chunk_patches);
    encode_chunk(rows, chunk, output, unit_row0, cancel);
    patch_row0 += chunk_patches;
    unit_row0 += chunk_patches / unit;
    chunk.clear();
    chunk_patches = 0;
  };
  for (size_t item = 0; item < grids.size(); ++item) {
    const int64_t group = grids[item].h * grids[item].w;
    for (int64_t gt = 0; gt < grids[item].t; ++gt) {
      if (chunk_patches > 0 && chunk_patches + group > max_chunk_patches) flush();
      if (gt > 0 && !chunk.empty()) {
        ++chunk.back().t;  // the previous group of the same item is in this chunk
      } else {
        chunk.push_back({1, grids[item].h, grids[item].w});
      }
      chunk_patches += group;
    }
  }
  flush();
  return output;
}

void VisionEncoder::Impl::encode_chunk(const Tensor& pixels, std::span<const GridThw> grids,
                                       Tensor& output, int64_t unit_row0,
                                       const CancelToken* cancel) {
  const int merge = config.spatial_merge_size;
  const int64_t unit = static_cast<int64_t>(merge) * merge;
  const int64_t c = config.hidden_size;
  const int64_t patch_dim = vision_patch_dim(config);
  const int64_t out_dim = config.out_hidden_size;

  // Host-side indices of this chunk.
  const WindowIndex windows = compute_window_index(grids, config.window_merged(), merge);
  const std::vector<int32_t> frames = full_attention_cu_seqlens(grids);
  const int64_t n = frames.back();
  const int64_t units = n / unit;
  VLM_CHECK(pixels.rows() == n && pixels.cols() == patch_dim, Internal,
            "vision chunk of " << n << " patches got pixel rows " << pixels.describe());

  std::vector<int32_t> reverse(static_cast<size_t>(units));
  for (size_t i = 0; i < windows.window_index.size(); ++i) {
    reverse[static_cast<size_t>(windows.window_index[i])] = static_cast<int32_t>(i);
  }
  // Rotary tables in window order: the per-patch (h, w) move with their merge unit (spec §5.5).
  std::vector<float> cos_host, sin_host;
  const std::vector<PatchPosition> positions =
      reorder_units(patch_positions(grids, merge), windows.window_index, static_cast<int>(unit));
  vision_rotary_tables(positions, config.head_dim(), cos_host, sin_host);
  const Tensor cos = backend.from_host_f32(cos_host.data(), {n, config.head_dim()}, DType::F32);
  const Tensor sin = backend.from_host_f32(sin_host.data(), {n, config.head_dim()}, DType::F32);

  // Patch embedding (the Conv3d as a GEMM), then the window reorder of whole merge units.
  {
    Tensor embedded = tmp_buf.view(backend, act, n, c);
    backend.matmul(pixels, weights.patch_embed, Tensor(), embedded);
    Tensor x = x_buf.view(backend, act, n, c);
    Tensor x_units = x.reshape({units, unit * c});
    backend.gather_rows(embedded.reshape({units, unit * c}), windows.window_index, x_units);
  }

  // Each residual add is fused with the norm after it (add_rmsnorm): the next block's norm1, or
  // after the last block the merger's ln_q.
  Tensor normed = normed_buf.view(backend, act, n, c);
  backend.rmsnorm(x_buf.view(backend, act, n, c), weights.blocks.front().norm1, kVisionNormEps, normed);
  for (int block = 0; block < config.depth; ++block) {
    if (cancel != nullptr) cancel->throw_if_cancelled();
    const bool full = config.is_full_attention_block(block);
    const bool last = block + 1 == config.depth;
    run_block(weights.blocks[static_cast<size_t>(block)],
              last ? weights.merger_norm : weights.blocks[static_cast<size_t>(block) + 1].norm1,
              full ? std::span<const int32_t>(frames) : std::span<const int32_t>(windows.cu_window_seqlens),
              n, cos, sin);
  }

  // Merger on normed = ln_q(x): [U, 4C] view, fc1 + GELU + fc2, then the reverse window order
  // (hidden in the blocks' attention output buffer, free by now).
  Tensor hidden = attn_buf.view(backend, act, n, c).reshape({units, unit * c});
  backend.matmul(normed.reshape({units, unit * c}), weights.merger_fc1_weight,
                 weights.merger_fc1_bias, hidden);
  backend.gelu(hidden, hidden);
  Tensor projected = fc2_buf.view(backend, act, units, out_dim);
  backend.matmul(hidden, weights.merger_fc2_weight, weights.merger_fc2_bias, projected);
  Tensor output_rows = output.slice_rows(unit_row0, units);
  backend.gather_rows(projected, reverse, output_rows);
}

VisionEncoder::VisionEncoder(const ModelConfig& config, const Checkpoint& checkpoint,
                             Backend& backend, VisionEncoderOptions options)
    : impl_(std::make_unique<Impl>(config, checkpoint, backend, options)) {}

VisionEncoder::~VisionEncoder() = default;

Tensor VisionEncoder::encode(std::span<const float> pixel_values, std::span<const GridThw> grids,
                             const CancelToken* cancel) {
  return impl_->encode({pixel_values, Tensor()}, grids, cancel);
}

Tensor VisionEncoder::encode_device_rows(const Tensor& pixel_rows, std::span<const GridThw> grids,
                                         const CancelToken* cancel) {
  VLM_CHECK(!pixel_rows.empty(), InvalidInput, "vision encoder: no device pixel rows");
  return impl_->encode({{}, pixel_rows}, grids, cancel);
}

void VisionEncoder::set_max_chunk_patches(int64_t patches) {
  VLM_CHECK(patches >= 1, InvalidInput, "vision max_chunk_patches " << patches << " must be >= 1");
  impl_->max_chunk_patches = patches;
}

}  // namespace vlm
