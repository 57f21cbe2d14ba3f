// Launchers of the CUDA kernels (cuda/kernels/*.cu): plain functions over raw device pointers,
// sizes and a stream, so that nvcc compiles only kernels/*.cu + this header + common.cuh, and the
// host side (backend_cuda*.cpp, compiled by the C++ compiler) never sees device code. bf16 values
// travel as uint16_t bit patterns. Launchers do not check errors; the caller checks
// cudaGetLastError() after each launch (check.h) so that errors become vlm::Error with context.
// Preconditions (sizes > 0, alignment) are checked by the host side before the call.
#pragma once

#include <cstdint>

struct CUstream_st;

namespace vlm::cuda {

using Stream = CUstream_st*;  // == cudaStream_t
using bf16_bits = uint16_t;

// Element types a kernel may read; values match nothing else on purpose (mapped by the host).
enum class ElemType : int { F32 = 0, F16 = 1, BF16 = 2 };

// dst[i] = convert(src[i]) for i < n, round to nearest even (F32/F16/BF16 in both directions).
void launch_convert(const void* src, ElemType src_type, void* dst, ElemType dst_type, int64_t n,
                    Stream stream);

// Per row of [rows, dim]: h = x (+ residual, rounded to bf16, written back to residual when
// residual is non-null), y = bf16(bf16(h · rsqrt(mean(h²) + eps)) · weight). y may alias x.
void launch_rmsnorm(const bf16_bits* x, bf16_bits* residual, const bf16_bits* weight, bf16_bits* y,
                    int64_t rows, int64_t dim, float eps, Stream stream);

// In place rotate-half RoPE on x[rows, heads, head_dim] with f32 tables cos/sin[rows, head_dim].
void launch_rope(bf16_bits* x, const float* cos, const float* sin, int64_t rows, int heads,
                 int head_dim, Stream stream);

// One token's joined q|k|v row (qkv [(heads + 2·kv_heads)·head_dim], cos/sin [head_dim]): rope on
// the q and k heads in place, then the rotated k heads and the v heads stored into k_cache /
// v_cache [capacity, kv_heads, head_dim] at row *n_past_at (read on the device; nothing stored
// outside [0, capacity)).
void launch_rope_append(bf16_bits* qkv, const float* cos, const float* sin, int heads, int kv_heads,
                        int head_dim, bf16_bits* k_cache, bf16_bits* v_cache, int64_t capacity,
                        const int32_t* n_past_at, Stream stream);

// Rows of joined q|k|v (qkv [rows, (heads + 2·kv_heads)·head_dim], read only; cos/sin
// [rows, head_dim]): rope on the q heads into q_out [rows, heads, head_dim], on the k heads into
// k_cache rows [row0, row0 + rows), the v heads copied into v_cache there (caches [capacity,
// kv_heads, head_dim]; the caller checks the rows fit).
void launch_rope_append_rows(const bf16_bits* qkv, const float* cos, const float* sin, int64_t rows,
                             int heads, int kv_heads, int head_dim, bf16_bits* q_out,
                             bf16_bits* k_cache, bf16_bits* v_cache, int64_t row0, Stream stream);

// y[n] = w[n, k] · x[k] (+ bias[n]) for one row of x (kernels/gemv.cu): bf16 in and out, f32
// accumulation, optionally with rmsnorm or silu·mul applied to x first and the product added into
// a residual instead of stored. k % 8 == 0, w 16-byte aligned, and x too without a prologue; k at
// most kGemvNormMaxK / kGemvSiluMaxK with those prologues (the caller checks).
enum class GemvPrologue { None, RmsNorm, SiluMul };
inline constexpr int64_t kGemvNormMaxK = 8192;    // hidden sizes up to 72B's (16 KB of shared memory)
inline constexpr int64_t kGemvSiluMaxK = 20480;   // intermediate sizes up to 7B's 18944 (40 KB)
struct GemvArgs {
  const bf16_bits* x = nullptr;            // [k], or [2k] = gate | up for SiluMul
  const bf16_bits* norm_weight = nullptr;  // [k] for RmsNorm
  float eps = 0.0f;
  const bf16_bits* w = nullptr;            // [n, k]
  const bf16_bits* bias = nullptr;         // [n] or null
  bf16_bits* y = nullptr;                  // [n], written when residual is null
  bf16_bits* residual = nullptr;           // [n]: residual += bf16(product) instead
  int64_t n = 0, k = 0;
  GemvPrologue prologue = GemvPrologue::None;
  // Launched with programmatic dependent launch (common.cuh: pdl_wait): the kernel starts while
  // the previous one finishes and requests its first weights before waiting for its inputs.
  bool programmatic = false;
};
void launch_gemv(const GemvArgs& args, Stream stream);

// Elementwise (bf16 in and out, f32 math, rounded like PyTorch's bf16 ops).
void launch_silu_mul(const bf16_bits* gate, const bf16_bits* up, bf16_bits* y, int64_t n,
                     Stream stream);
// gate_up [rows, 2·width] (gate | up per row) -> y [rows, width] = silu(gate)·up.
void launch_silu_mul_joined(const bf16_bits* gate_up, bf16_bits* y, int64_t rows, int64_t width,
                            Stream stream);
void launch_gelu(const bf16_bits* x, bf16_bits* y, int64_t n, Stream stream);
void launch_add(const bf16_bits* a, const bf16_bits* b, bf16_bits* y, int64_t n, Stream stream);

// y[i, :] = bf16(table[ids[i], :]) for i < n; ids on the device, already range-checked.
void launch_embedding(const void* table, ElemType table_type, const int32_t* ids, int64_t n,
                      int64_t dim, bf16_bits* y, Stream stream);
// y row i = x row index[i] (row_bytes each, any dtype); index on the device, range-checked.
void launch_gather_rows(const void* x, const int32_t* index, int64_t n, int64_t row_bytes, void* y,
                        Stream stream);

// dst rows [*row_at, *row_at + n) = src rows [0, n) (row_bytes each), the position read on the
// device when the kernel runs; not written when the rows would leave dst's dst_rows.
void launch_copy_rows_at(const void* src, int64_t n, int64_t row_bytes, void* dst,
                         int64_t dst_rows, const int32_t* row_at, Stream stream);

// out[r] = first index of the maximum of row r of x[rows, cols].
void launch_argmax(const void* x, ElemType type, int64_t rows, int64_t cols, int32_t* out,
                   Stream stream);

// ---- sampling (kernels/sample.cu) ----
// Everything Backend::sample needs for one logits row; the id goes to *out (device).
struct SampleArgs {
  const void* logits = nullptr;  // [vocab] of `type`
  ElemType type = ElemType::BF16;
  int32_t vocab = 0;
  const int32_t* banned_ids = nullptr;   // device, in range; set to −inf first
  int32_t n_banned = 0;
  const int32_t* penalty_ids = nullptr;  // device, distinct and in range
  int32_t n_penalty = 0;
  float penalty = 1.0f;
  bool greedy = true;
  bool apply_temperature = false;  // sampling with temperature != 1
  float temperature = 1.0f;
  int32_t top_k = 0;               // 0 or >= vocab: off
  bool apply_top_p = false;        // sampling with top_p < 1
  float top_p = 1.0f;
  double uniform = 0.0;            // the draw in [0, 1)
  float* work = nullptr;           // scratch [vocab] f32
  double* weights = nullptr;       // scratch [vocab] f64 (top-p)
  int32_t* out = nullptr;
};
// The CPU sampler's choice (text/sampler.h: sample_with_draw after the banned ids), one block.
void launch_sample(const SampleArgs& args, Stream stream);

// ---- preprocessing (kernels/preprocess.cu) ----
// The CPU preprocessor's integer steps on the device, bit for bit (model/src/preprocess):
// NV12 -> packed RGB8 with vlm::to_rgb8's BT.601 formula (nearest chroma).
void launch_nv12_to_rgb8(const uint8_t* luma, int64_t luma_stride, const uint8_t* chroma,
                         int64_t chroma_stride, int width, int height, uint8_t* rgb, Stream stream);
// One axis of Pillow's fixed-point bicubic (preprocess/bicubic_plan.h: detail::BicubicAxis).
struct BicubicAxisView {
  const int32_t* first = nullptr;
  const int32_t* count = nullptr;
  const int32_t* weights = nullptr;  // [out, taps_max]
  int taps_max = 0;
};
// out[y][x] (out_width × out_height, RGB8) from rows row_begin + y of in (in_width wide).
void launch_resize_horizontal(const uint8_t* in, int in_width, int row_begin, BicubicAxisView axis,
                              uint8_t* out, int out_width, int out_height, Stream stream);
// out[y][x] (width × out_height) from rows axis.first[y] … of in (width wide).
void launch_resize_vertical(const uint8_t* in, int width, BicubicAxisView axis, uint8_t* out,
                            int out_height, Stream stream);
// Patch rows [grid_t·(h/p)·(w/p), 3·temporal·p·p] in the processor's merge-window order, values
// tables[c][pixel] (rescale + normalise, f32 [3, 256]); frames [n_frames, height, width, 3];
// frame indices past the end repeat the last frame (temporal padding).
struct PatchifyArgs {
  const uint8_t* frames = nullptr;
  int64_t n_frames = 0;
  int height = 0, width = 0;
  int patch = 14, merge = 2, temporal = 2;
  int64_t grid_t = 0;
  const float* tables = nullptr;
  void* out = nullptr;
  ElemType out_type = ElemType::F32;  // F32 or BF16 (RNE of the same float)
};
void launch_patchify(const PatchifyArgs& args, Stream stream);

// ---- attention (kernels/attention.cu: CUDA cores) ----
// Flash-style attention that never materialises scores. Work is cut into tiles of "flat rows":
// flat row f = query * group + g is query `query` with head kv_head * group + g (group = n_heads /
// n_heads_kv; 1 for the ViT). A tile {f_begin, f_end, key_begin, key_end} holds flat rows of one
// segment and the key rows they attend to. Causal tiles additionally limit query q to keys
// <= n_past + q. With n_splits > 1 the key range of each tile is split across blocks which write
// unnormalised partials (part_acc [n_splits, n_queries, n_heads, head_dim], part_max/part_sum
// [n_splits, n_queries, n_heads], f32) that launch_attention_combine reduces into out.
struct AttentionTile {
  int32_t f_begin, f_end, key_begin, key_end;
};

struct AttentionParams {
  const bf16_bits* q = nullptr;  // [n_queries, n_heads, head_dim]
  const bf16_bits* k = nullptr;  // [n_keys, n_heads_kv, head_dim] (a KV cache or the ViT's k)
  const bf16_bits* v = nullptr;
  bf16_bits* out = nullptr;      // [n_queries, n_heads, head_dim]
  // Device array of n_tiles, or null for causal attention: tile t is then flat rows
  // [16t, min(16t + 16, n_queries·group)) with keys [0, n_past + last query + 1), computed in the
  // kernel, so a decode step copies nothing from the host (64 instead of 16 for
  // launch_attention_mma and launch_attention_flash).
  const AttentionTile* tiles = nullptr;
  int32_t n_tiles = 0;
  int32_t n_queries = 0;
  int32_t n_heads = 0, n_heads_kv = 0, head_dim = 0;
  bool causal = false;
  int64_t n_past = 0;  // causal: query q sits at key position n_past + q
  // When set (a recorded decode step), n_past is read from this device int when the kernel runs
  // instead of the field above.
  const int32_t* n_past_at = nullptr;
  float scale = 1.0f;  // multiplies q·k
  int32_t n_splits = 1;
  float* part_acc = nullptr;
  float* part_max = nullptr;
  float* part_sum = nullptr;
  // CUDA-core kernel with n_splits > 1: when set, one counter per (tile, kv head), all 0 when the
  // kernel starts; the last block of a tile to finish merges the partials into out (no combine
  // launch) and sets its counter back to 0.
  int32_t* split_counters = nullptr;
  // A decode step's rope and cache append fused in (CUDA-core kernel only, one query): when
  // new_row is set, the query and the new key/value come from this joined q|k|v row, not rotated
  // yet (q heads, then k heads, then v heads). The q heads are rotated with rope_cos/rope_sin
  // [head_dim] as they are loaded (q above is unused), and the block whose keys include position
  // n_past rotates the new k, takes the new v and stores both into the cache row n_past of
  // k_store/v_store (the cache k/v above, writable) if it is below cache_rows.
  const bf16_bits* new_row = nullptr;
  const float* rope_cos = nullptr;
  const float* rope_sin = nullptr;
  bf16_bits* k_store = nullptr;
  bf16_bits* v_store = nullptr;
  int64_t cache_rows = 0;
  // Tensor-core kernel, varlen (the ViT): when set, q and k are rotated (rotate-half RoPE) as
  // they are loaded, with the f32 tables' row of each token ([n_queries, head_dim]; q and k rows
  // share the token index), instead of by a rope pass before.
  const float* rope_rows_cos = nullptr;
  const float* rope_rows_sin = nullptr;
  // Tensor-core kernel: when nonzero, the distance in elements from one row of q (q_row_stride)
  // or of k and v (kv_row_stride) to the next, instead of the packed n_heads·head_dim and
  // n_heads_kv·head_dim: q, k and v read in place from the rows of a joined projection (the
  // ViT's q|k|v). out stays packed.
  int64_t q_row_stride = 0;
  int64_t kv_row_stride = 0;
};

// Flat rows per tile the kernel expects (tiles are built by the host with this size).
constexpr int kAttentionTileRows = 16;
// Key rows loaded per step; split ranges are multiples of it.
constexpr int kAttentionKeyStep = 64;
constexpr int kAttentionMaxHeadDim = 128;

void launch_attention(const AttentionParams& params, Stream stream);
void launch_attention_combine(const AttentionParams& params, Stream stream);

// ---- tensor-core attention (kernels/attention_mma.cu) ----
// The same attention (same params, masks, split-K partials for launch_attention_combine) on
// tensor cores (WMMA bf16 16x16x16, f32 accumulation), for prefill-sized work: tiles hold
// kAttentionMmaTileRows flat rows (the host builds varlen tiles with this size; causal tiles are
// computed in the kernel as above with 64 instead of 16). Any even head_dim ≤ 128 (padded to 64,
// 80 or 128 inside). Probabilities enter the P·V product as bf16 (see the kernel's header).
constexpr int kAttentionMmaTileRows = 64;
void launch_attention_mma(const AttentionParams& params, Stream stream);

// ---- tensor-core attention, probabilities in registers (kernels/attention_flash.cu) ----
// The same contract and tiles as launch_attention_mma, on mma.sync.m16n8k16 (../mma_sync.cuh)
// with the softmax kept in registers instead of WMMA's round trips through shared memory.
void launch_attention_flash(const AttentionParams& params, Stream stream);

}  // namespace vlm::cuda
