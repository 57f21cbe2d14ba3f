// Tensor-core flash attention for prefill-sized work (issue 5: "attention without materialising
// scores"): the ViT's varlen bidirectional segments (head_dim 80) and the decoder's causal GQA
// prefill (head_dim 128). Same contract as attention.cu (AttentionParams, launch.h): same tiles,
// masks, scale, n_past (or n_past_at), fully masked rows → 0, split-K partials for
// launch_attention_combine.
// Decode (a few query rows) stays on attention.cu; backend_cuda_ops.cpp chooses. The ViT's call
// may rotate q and k as they are loaded (AttentionParams::rope_rows_cos: its rope fused in,
// saving two passes over q and k per block), and read them and v in place from the rows of its
// joined q|k|v projection (AttentionParams::q_row_stride / kv_row_stride).
//
// Shape: one block of 4 warps takes a tile of 64 flat rows (16 per warp) of one kv head and
// streams the tile's keys through shared memory 64 at a time (K and V row-major, rows padded by 16
// bytes so that the fragment loads hit distinct banks). Products run on tensor cores through
// nvcuda::wmma (bf16 16x16x16 fragments, f32 accumulators; WMMA rather than raw mma.sync because
// its fragment layout is opaque, so the CPU emulation can implement it, cuda/tools/emu/mma.h):
// - each warp keeps its 16 query rows as head_dim/16 A fragments and its output as head_dim/16
//   f32 accumulator fragments for the whole key sweep (head_dim padded with zeros to 64, 80 or 128);
// - per 32-key chunk: S = Q·Kᵀ (2 accumulators) is stored to the warp's scratch, two lanes per row
//   apply the scale, the masks and the online softmax in f32 (log2 domain, exp2 as attention.cu),
//   write the probabilities P back as bf16, and O += P·V on tensor cores.
// Numerics: P enters the P·V product rounded to bf16, as FlashAttention does (the tensor cores
// take bf16 operands); everything else is f32. The row sum adds the rounded probabilities, so the
// output is an exact convex combination of V rows with weights within 2^-9 (relative) of the f32
// softmax: |error| ≤ 2^-9·max|v| per output before its final bf16 rounding, in practice far less
// (the roundings average out). tests/gpu's attention tolerance (rtol 2^-8 + 1e-3·max|ref|) and
// emu_test.cpp's check this.
// Rescaling: the accumulator fragments' element→row map is opaque, so rescaling O by a row's
// exp2(m_old − m_new) goes through the warp's scratch (store, scale per row, load). To keep that
// rare, a row keeps its reference max m until a chunk's max exceeds m + 8 (log2 units): the
// probabilities are then ≤ 2^8 (no overflow in f32 or bf16, whose exponent range is f32's) and
// the result is the same softmax, since numerator and denominator use the same m (as FA4's lazy
// rescaling). A warp rescales only when one of its rows needs it.
// Shared memory: 2·64·(D + 8) bf16 + 4·16·36 f32 = 43 KiB at D = 128 (static, ≤ 48 KiB).
// Not done (next steps once a GPU has measured this): cp.async double buffering of K/V, raw
// mma.sync with register-resident P (no scratch round trip), 128-row tiles with dynamic shared
// memory, wgmma on sm_90.
#include <mma.h>

#include "../common.cuh"
#include "attention_tile_loads.cuh"

namespace vlm::cuda {

namespace {

namespace wmma = nvcuda::wmma;

constexpr int kWarps = 4;
constexpr int kThreads = kWarps * 32;
constexpr int kRows = kAttentionMmaTileRows;
static_assert(kRows == kWarps * 16, "each warp owns 16 flat rows (one fragment's M)");
constexpr int kKeys = kAttentionKeyStep;  // keys per K/V tile in shared memory
constexpr int kChunk = 32;                // keys per softmax step (two S fragments)
static_assert(kKeys % kChunk == 0, "whole chunks per K/V tile");
constexpr int kScratchLd = kChunk + 4;    // f32; also P as bf16 with ld 2·kScratchLd
constexpr float kRescaleThreshold = 8.0f;  // log2 units: probabilities stay ≤ 2^8

using FragA = wmma::fragment<wmma::matrix_a, 16, 16, 16, __nv_bfloat16, wmma::row_major>;
using FragBRow = wmma::fragment<wmma::matrix_b, 16, 16, 16, __nv_bfloat16, wmma::row_major>;
using FragBCol = wmma::fragment<wmma::matrix_b, 16, 16, 16, __nv_bfloat16, wmma::col_major>;
using FragAcc = wmma::fragment<wmma::accumulator, 16, 16, 16, float>;

__device__ __forceinline__ const __nv_bfloat16* as_bf16(const bf16_bits* p) {
  return reinterpret_cast<const __nv_bfloat16*>(p);
}

template <int kDimTiles>
__global__ void __launch_bounds__(kThreads) attention_mma_kernel(AttentionParams p) {
  constexpr int kDim = kDimTiles * 16;
  constexpr int kLd = kDim + 8;  // bf16; row starts shift by 16 bytes per row
  constexpr int kTileElems = kKeys * kLd;
  static_assert(kRows * kLd <= 2 * kTileElems, "the Q staging fits in the K/V tiles");
  __shared__ __align__(128) bf16_bits kv_tiles[2 * kTileElems];
  __shared__ __align__(128) float scratch_all[kWarps * 16 * kScratchLd];
  bf16_bits* const k_tile = kv_tiles;
  bf16_bits* const v_tile = kv_tiles + kTileElems;

  const attention_tiles::TileBlock b(p, kRows);
  const int warp = static_cast<int>(threadIdx.x) / 32, lane = static_cast<int>(threadIdx.x) % 32;
  const int hd = b.hd, key_begin = b.key_begin, key_end = b.key_end;

  // The tile's queries, staged in the K tile's space, then kept as A fragments by each warp.
  attention_tiles::stage_queries<kDim, kThreads>(p, b, k_tile, kLd, kRows);
  __syncthreads();
  FragA q_frag[kDimTiles];
#pragma unroll
  for (int t = 0; t < kDimTiles; ++t) {
    wmma::load_matrix_sync(q_frag[t], as_bf16(k_tile + warp * 16 * kLd + t * 16), kLd);
  }
  FragAcc o_frag[kDimTiles];
#pragma unroll
  for (int t = 0; t < kDimTiles; ++t) wmma::fill_fragment(o_frag[t], 0.0f);

  // Softmax ownership: lane → row lane / 2 of the warp's 16, columns half·16 … +15 of a chunk.
  float* const scratch = scratch_all + warp * 16 * kScratchLd;
  bf16_bits* const p_tile = reinterpret_cast<bf16_bits*>(scratch);  // P over S, ld 2·kScratchLd
  const int row = lane / 2, half = lane % 2;
  const int f_row = b.tile.f_begin + warp * 16 + row;
  const bool row_valid = f_row < b.tile.f_end;
  const int64_t row_limit = b.row_limit(p, f_row);  // last key it sees
  float row_max = -INFINITY, row_sum = 0.0f;
  // Keys this warp may see at all (warp-uniform): chunks at or past it are skipped.
  const int warp_key_end = b.key_end_for(p, b.tile.f_begin + warp * 16, b.tile.f_begin + warp * 16 + 15);
  const float scale_log2 = p.scale * 1.4426950408889634f;

  for (int k0 = key_begin; k0 < key_end; k0 += kKeys) {
    __syncthreads();  // the previous K/V tile (first time: the Q staging) is consumed
    const int n_keys = min(kKeys, key_end - k0);
    attention_tiles::stage_keys_values<kDim, kThreads>(p, b, k_tile, v_tile, kLd, kKeys, k0, n_keys);
    __syncthreads();

    for (int c = 0; c < kKeys / kChunk; ++c) {
      const int c0 = k0 + c * kChunk;
      if (c0 >= warp_key_end) break;  // warp-uniform: every key from here is masked for the warp
      // S = Q·Kᵀ for the chunk's 32 keys.
      FragAcc s_frag[2];
#pragma unroll
      for (int n = 0; n < 2; ++n) {
        wmma::fill_fragment(s_frag[n], 0.0f);
#pragma unroll
        for (int t = 0; t < kDimTiles; ++t) {
          FragBCol k_frag;  // Kᵀ: element (d, key) at k_tile[key·kLd + d]
          wmma::load_matrix_sync(k_frag, as_bf16(k_tile + (c * kChunk + n * 16) * kLd + t * 16), kLd);
          wmma::mma_sync(s_frag[n], q_frag[t], k_frag, s_frag[n]);
        }
      }
      __syncwarp();  // every lane has read the previous chunk's P
#pragma unroll
      for (int n = 0; n < 2; ++n) {
        wmma::store_matrix_sync(scratch + n * 16, s_frag[n], kScratchLd, wmma::mem_row_major);
      }
      __syncwarp();

      // Online softmax of this lane's 16 scores (masked → −inf).
      float s[16];
      float chunk_max = -INFINITY;
#pragma unroll
      for (int j = 0; j < 16; ++j) {
        const int64_t key = c0 + half * 16 + j;
        const bool ok = row_valid && key < key_end && key <= row_limit;
        s[j] = ok ? scratch[row * kScratchLd + half * 16 + j] * scale_log2 : -INFINITY;
        chunk_max = fmaxf(chunk_max, s[j]);
      }
      chunk_max = fmaxf(chunk_max, __shfl_xor_sync(0xffffffffu, chunk_max, 1));
      float alpha = 1.0f;
      bool rescale = false;
      if (chunk_max > row_max + kRescaleThreshold) {  // also the first finite max (−inf + 8)
        rescale = row_max != -INFINITY;               // O and the sum are 0 before that
        alpha = exp2f(row_max - chunk_max);
        row_sum *= alpha;
        row_max = chunk_max;
      }
      float prob_sum = 0.0f;
      bf16_bits prob[16];
#pragma unroll
      for (int j = 0; j < 16; ++j) {
        prob[j] = row_max == -INFINITY ? bf16_bits{0} : float_to_bf16(exp2f(s[j] - row_max));
        prob_sum += bf16_to_float(prob[j]);
      }
      row_sum += prob_sum + __shfl_xor_sync(0xffffffffu, prob_sum, 1);
      __syncwarp();  // every lane has read its scores before P overwrites them

      if (__any_sync(0xffffffffu, rescale)) {  // O[row] *= alpha through the scratch, 2 fragments at a time
        for (int t0 = 0; t0 < kDimTiles; t0 += 2) {
          const int count = min(2, kDimTiles - t0);
          for (int n = 0; n < count; ++n) {
            wmma::store_matrix_sync(scratch + n * 16, o_frag[t0 + n], kScratchLd, wmma::mem_row_major);
          }
          __syncwarp();
#pragma unroll
          for (int j = 0; j < 16; ++j) scratch[row * kScratchLd + half * 16 + j] *= alpha;
          __syncwarp();
          for (int n = 0; n < count; ++n) {
            wmma::load_matrix_sync(o_frag[t0 + n], scratch + n * 16, kScratchLd, wmma::mem_row_major);
          }
          __syncwarp();
        }
      }

      // P (bf16) over the scratch, then O += P·V on tensor cores.
#pragma unroll
      for (int j = 0; j < 16; j += 2) {
        *reinterpret_cast<uint32_t*>(p_tile + row * 2 * kScratchLd + half * 16 + j) =
            prob[j] | (uint32_t{prob[j + 1]} << 16);
      }
      __syncwarp();
      FragA p_frag[2];
#pragma unroll
      for (int kk = 0; kk < 2; ++kk) {
        wmma::load_matrix_sync(p_frag[kk], as_bf16(p_tile + kk * 16), 2 * kScratchLd);
      }
#pragma unroll
      for (int t = 0; t < kDimTiles; ++t) {
#pragma unroll
        for (int kk = 0; kk < 2; ++kk) {
          FragBRow v_frag;  // V: element (key, d) at v_tile[key·kLd + d]
          wmma::load_matrix_sync(v_frag, as_bf16(v_tile + (c * kChunk + kk * 16) * kLd + t * 16), kLd);
          wmma::mma_sync(o_frag[t], p_frag[kk], v_frag, o_frag[t]);
        }
      }
    }
  }

  // Output: each fragment pair through the scratch; lane (row, half) writes fragment t0 + half.
  const int64_t query = b.query_of(f_row);
  const int head = b.head_of(f_row);
  const int64_t part = (static_cast<int64_t>(b.split) * p.n_queries + query) * p.n_heads + head;
  const float inv = row_sum > 0.0f ? 1.0f / row_sum : 0.0f;
  for (int t0 = 0; t0 < kDimTiles; t0 += 2) {
    const int count = min(2, kDimTiles - t0);
    __syncwarp();
    for (int n = 0; n < count; ++n) {
      wmma::store_matrix_sync(scratch + n * 16, o_frag[t0 + n], kScratchLd, wmma::mem_row_major);
    }
    __syncwarp();
    if (!row_valid || half >= count) continue;
    const float* values = scratch + row * kScratchLd + half * 16;
    const int d0 = (t0 + half) * 16;
    if (p.n_splits == 1) {
      bf16_bits* out = p.out + query * b.out_stride + static_cast<int64_t>(head) * hd;
#pragma unroll
      for (int j = 0; j < 16; ++j) {
        if (d0 + j < hd) out[d0 + j] = float_to_bf16(values[j] * inv);
      }
    } else {
#pragma unroll
      for (int j = 0; j < 16; ++j) {
        if (d0 + j < hd) p.part_acc[part * hd + d0 + j] = values[j];
      }
    }
  }
  if (p.n_splits > 1 && row_valid && half == 0) {
    p.part_max[part] = row_max;
    p.part_sum[part] = row_sum;
  }
}

}  // namespace

void launch_attention_mma(const AttentionParams& params, Stream stream) {
  const dim3 grid = attention_tiles::tile_grid(params);
  attention_tiles::for_head_dim(params.head_dim, [&](auto dim_tiles) {
    constexpr int kDimTiles = decltype(dim_tiles)::value;
    attention_mma_kernel<kDimTiles><<<grid, kThreads, 0, stream>>>(params);
  });
}

}  // namespace vlm::cuda
