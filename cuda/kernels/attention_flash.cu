// Tensor-core flash attention with the probabilities kept in registers (FlashAttention-2's
// shape), the third implementation of AttentionParams (launch.h) beside attention.cu (CUDA cores)
// and attention_mma.cu (WMMA): same tiles (kAttentionMmaTileRows flat rows), masks, scale,
// n_past (or n_past_at), rope on load, row strides, fully masked rows → 0, split-K partials for
// launch_attention_combine. backend_cuda_ops.cpp chooses among them.
//
// Why a second tensor-core kernel: WMMA's accumulator layout is opaque, so attention_mma.cu
// stores every S = Q·Kᵀ chunk to shared memory for the softmax, writes P back there, reloads it
// as an A fragment, and rescales O through shared memory too. mma.sync.m16n8k16's layout is
// documented (../mma_sync.cuh): a lane's S accumulators for two adjacent 8-key tiles are exactly
// its A registers for the P·V product over those 16 keys, and O's rows are known, so the whole
// softmax (scale, masks, running max, rescale, bf16 rounding, row sums) stays in registers; the
// only shared memory is the K/V tile.
//
// Shape: one block of 4 warps takes 64 flat rows (16 per warp) of one kv head and streams the
// keys through shared memory 64 at a time (row-major, rows padded by 16 bytes, so the 8 rows of
// an ldmatrix phase hit distinct banks for head_dim 64, 80 and 128). Operands come from shared
// memory through ldmatrix .x4 (Q once; Kᵀ as key rows; V with .trans), each load feeding two
// products. Per warp and key tile: S (16 × 64) is 8 m16n8 accumulators, head_dim/16 products
// each; the rows' max over the tile (the 4 lanes of a row: two shuffles) updates the running max,
// O and the row sums are rescaled, P is rounded to bf16 and O += P·V runs in 16-key steps.
// Lane (g = lane / 4, t = lane % 4) owns rows g and g + 8 of its warp's 16, keys 2t, 2t + 1 of
// each 8-key tile, and O columns 2t, 2t + 1 of each 8-column block.
// Numerics as attention_mma.cu: P enters P·V rounded to bf16 and the row sum adds the rounded
// values (an exact convex combination of V rows, |error| ≤ 2^-9·max|v| before the output's
// rounding); exp2 in the log2 domain. The running max is the true max (no lazy threshold: a
// rescale is a few register multiplies here). Register use at head_dim 128: Q 32, O 64, S 32.
// Not done: cp.async double buffering of K/V, wgmma on sm_90.
#include "../common.cuh"
#include "../mma_sync.cuh"
#include "attention_tile_loads.cuh"

namespace vlm::cuda {

namespace {

constexpr int kWarps = 4;
constexpr int kThreads = kWarps * 32;
constexpr int kRows = kAttentionMmaTileRows;
static_assert(kRows == kWarps * 16, "each warp owns 16 flat rows (one product's M)");
constexpr int kKeys = kAttentionKeyStep;  // keys per K/V tile and per softmax step
constexpr int kKeyBlocks = kKeys / 8;     // m16n8 accumulators of S per step
static_assert(kKeys % 16 == 0, "whole 16-key P·V steps per tile (and pairs of 8-key blocks)");

__device__ __forceinline__ uint32_t pack_pair(bf16_bits lo, bf16_bits hi) {
  return static_cast<uint32_t>(lo) | (static_cast<uint32_t>(hi) << 16);
}
// Sum over the 4 lanes that share a row (lanes 4g … 4g + 3).
__device__ __forceinline__ float quad_max(float x) {
  x = fmaxf(x, __shfl_xor_sync(0xffffffffu, x, 1));
  return fmaxf(x, __shfl_xor_sync(0xffffffffu, x, 2));
}
__device__ __forceinline__ float quad_sum(float x) {
  x += __shfl_xor_sync(0xffffffffu, x, 1);
  return x + __shfl_xor_sync(0xffffffffu, x, 2);
}

template <int kDimTiles>
__global__ void __launch_bounds__(kThreads) attention_flash_kernel(AttentionParams p) {
  constexpr int kDim = kDimTiles * 16;
  constexpr int kDimBlocks = kDim / 8;  // m16n8 accumulators of O (an even count: kDim % 16 == 0)
  constexpr int kLd = kDim + 8;         // bf16; row starts shift by 16 bytes per row
  constexpr int kTileElems = kKeys * kLd;
  static_assert(kRows <= kKeys, "the Q staging fits in the K tile");
  __shared__ __align__(128) bf16_bits kv_tiles[2 * kTileElems];
  bf16_bits* const k_tile = kv_tiles;
  bf16_bits* const v_tile = kv_tiles + kTileElems;

  const attention_tiles::TileBlock b(p, kRows);
  const int warp = static_cast<int>(threadIdx.x) / 32, lane = static_cast<int>(threadIdx.x) % 32;
  const int g = lane / 4, t = lane % 4;
  const int hd = b.hd, key_begin = b.key_begin, key_end = b.key_end;

  // The tile's queries, staged in the K tile's space, then kept as A registers by each warp.
  attention_tiles::stage_queries<kDim, kThreads>(p, b, k_tile, kLd, kRows);
  __syncthreads();
  // ldmatrix row addresses: lane l gives row l % 8 of 8 × 8 matrix l / 8 (mma_sync.cuh).
  const int matrix = lane / 8, matrix_row = lane % 8;
  uint32_t q_frag[kDimTiles][4];  // matrices: rows 0-7 / 8-15 × dims 0-7 / 8-15 of each 16
  {
    const bf16_bits* q_row = k_tile + (warp * 16 + (matrix % 2) * 8 + matrix_row) * kLd + (matrix / 2) * 8;
#pragma unroll
    for (int kk = 0; kk < kDimTiles; ++kk) ldmatrix_x4(q_frag[kk], q_row + kk * 16);
  }
  float o[kDimBlocks][4];
#pragma unroll
  for (int n = 0; n < kDimBlocks; ++n) o[n][0] = o[n][1] = o[n][2] = o[n][3] = 0.0f;

  // This lane's two rows (r = 0: row g of the warp's 16, r = 1: row g + 8).
  const int warp_f_begin = b.tile.f_begin + warp * 16;
  int f_row[2];
  bool row_valid[2];
  int64_t row_limit[2];
  float row_max[2] = {-INFINITY, -INFINITY}, row_sum[2] = {0.0f, 0.0f};  // row_sum: this lane's part
#pragma unroll
  for (int r = 0; r < 2; ++r) {
    f_row[r] = warp_f_begin + g + 8 * r;
    row_valid[r] = f_row[r] < b.tile.f_end;
    row_limit[r] = b.row_limit(p, f_row[r]);  // last key it sees
  }
  // Keys this warp may see at all (warp-uniform): key blocks at or past it are skipped.
  const int warp_key_end = b.key_end_for(p, warp_f_begin, warp_f_begin + 15);
  const float scale_log2 = p.scale * 1.4426950408889634f;

  for (int k0 = key_begin; k0 < key_end; k0 += kKeys) {
    __syncthreads();  // the previous K/V tile (first time: the Q staging) is consumed
    const int n_keys = min(kKeys, key_end - k0);
    attention_tiles::stage_keys_values<kDim, kThreads>(p, b, k_tile, v_tile, kLd, kKeys, k0, n_keys);
    __syncthreads();
    if (k0 >= warp_key_end) continue;  // warp-uniform: every key of the tile is masked for the warp
    const int blocks = min(kKeyBlocks, (warp_key_end - k0 + 7) / 8);  // 8-key blocks it may see

    // S = Q·Kᵀ: block j holds keys k0 + 8j … + 7. Kᵀ's B operand comes from key rows (ldmatrix
    // without .trans), two blocks per load: matrices keys of j / j + 1 × dims 0-7 / 8-15.
    float s[kKeyBlocks][4];
#pragma unroll
    for (int j = 0; j < kKeyBlocks; ++j) s[j][0] = s[j][1] = s[j][2] = s[j][3] = 0.0f;
    const bf16_bits* key_row = k_tile + ((matrix / 2) * 8 + matrix_row) * kLd + (matrix % 2) * 8;
#pragma unroll
    for (int j = 0; j < kKeyBlocks; j += 2) {
      if (j >= blocks) break;
#pragma unroll
      for (int kk = 0; kk < kDimTiles; ++kk) {
        uint32_t k_frag[4];
        ldmatrix_x4(k_frag, key_row + j * 8 * kLd + kk * 16);
        mma_bf16_16x8x16(s[j], q_frag[kk], {k_frag[0], k_frag[1]});
        if (j + 1 < blocks) mma_bf16_16x8x16(s[j + 1], q_frag[kk], {k_frag[2], k_frag[3]});
      }
    }

    // Scale and masks (→ −inf), then the rows' max over the tile.
    float tile_max[2] = {-INFINITY, -INFINITY};
#pragma unroll
    for (int j = 0; j < kKeyBlocks; ++j) {
#pragma unroll
      for (int e = 0; e < 4; ++e) {
        const int r = e / 2;
        const int64_t key = k0 + j * 8 + 2 * t + e % 2;
        const bool ok = j < blocks && row_valid[r] && key < key_end && key <= row_limit[r];
        s[j][e] = ok ? s[j][e] * scale_log2 : -INFINITY;
        tile_max[r] = fmaxf(tile_max[r], s[j][e]);
      }
    }
    float alpha[2];
#pragma unroll
    for (int r = 0; r < 2; ++r) {
      const float new_max = fmaxf(row_max[r], quad_max(tile_max[r]));
      // Before the first finite score O and the sum are 0: nothing to rescale.
      alpha[r] = row_max[r] == -INFINITY ? 1.0f : exp2f(row_max[r] - new_max);
      row_max[r] = new_max;
      row_sum[r] *= alpha[r];
    }
#pragma unroll
    for (int n = 0; n < kDimBlocks; ++n) {
      o[n][0] *= alpha[0];
      o[n][1] *= alpha[0];
      o[n][2] *= alpha[1];
      o[n][3] *= alpha[1];
    }

    // P (bf16) in 16-key steps: blocks 2ks and 2ks + 1 of S are the A operand's two column
    // halves; O += P·V with V's B operand (keys 2t, 2t + 1 and + 8, column g of each 8-column block).
#pragma unroll
    for (int ks = 0; ks < kKeyBlocks / 2; ++ks) {
      if (2 * ks >= blocks) break;
      uint32_t p_frag[4];
#pragma unroll
      for (int h = 0; h < 2; ++h) {
        bf16_bits prob[4];
#pragma unroll
        for (int e = 0; e < 4; ++e) {
          const float m = row_max[e / 2];
          prob[e] = m == -INFINITY ? bf16_bits{0} : float_to_bf16(exp2f(s[2 * ks + h][e] - m));
        }
        row_sum[0] += bf16_to_float(prob[0]) + bf16_to_float(prob[1]);
        row_sum[1] += bf16_to_float(prob[2]) + bf16_to_float(prob[3]);
        p_frag[2 * h] = pack_pair(prob[0], prob[1]);      // row g
        p_frag[2 * h + 1] = pack_pair(prob[2], prob[3]);  // row g + 8
      }
      // V's B operand from value rows with .trans, two 8-column blocks per load: matrices
      // keys 0-7 / 8-15 of the step × columns of n / n + 1.
      const bf16_bits* value_row = v_tile + (ks * 16 + (matrix % 2) * 8 + matrix_row) * kLd + (matrix / 2) * 8;
#pragma unroll
      for (int n = 0; n < kDimBlocks; n += 2) {
        uint32_t v_frag[4];
        ldmatrix_x4_trans(v_frag, value_row + n * 8);
        mma_bf16_16x8x16(o[n], p_frag, {v_frag[0], v_frag[1]});
        mma_bf16_16x8x16(o[n + 1], p_frag, {v_frag[2], v_frag[3]});
      }
    }
  }

  // Output: lane's rows, columns 2t, 2t + 1 of each 8-column block, as one 32-bit store where out
  // is 4-byte aligned (rows and heads start at even elements: head_dim is even).
  const bool out_pairs = (reinterpret_cast<uintptr_t>(p.out) & 3) == 0;
#pragma unroll
  for (int r = 0; r < 2; ++r) {
    const float sum = quad_sum(row_sum[r]);
    if (!row_valid[r]) continue;
    const int64_t query = b.query_of(f_row[r]);
    const int head = b.head_of(f_row[r]);
    const int64_t part = (static_cast<int64_t>(b.split) * p.n_queries + query) * p.n_heads + head;
    if (p.n_splits == 1) {
      const float inv = sum > 0.0f ? 1.0f / sum : 0.0f;
      bf16_bits* out = p.out + query * b.out_stride + static_cast<int64_t>(head) * hd;
#pragma unroll
      for (int n = 0; n < kDimBlocks; ++n) {
        const int d = n * 8 + 2 * t;  // hd is even: d < hd means d + 1 < hd
        if (d >= hd) continue;
        const bf16_bits lo = float_to_bf16(o[n][2 * r] * inv), hi = float_to_bf16(o[n][2 * r + 1] * inv);
        if (out_pairs) {
          *reinterpret_cast<uint32_t*>(out + d) = pack_pair(lo, hi);
        } else {  // out starts at an odd element (a view): element by element
          out[d] = lo;
          out[d + 1] = hi;
        }
      }
    } else {
      float* acc = p.part_acc + part * hd;
#pragma unroll
      for (int n = 0; n < kDimBlocks; ++n) {
        const int d = n * 8 + 2 * t;
        if (d < hd) {
          acc[d] = o[n][2 * r];
          acc[d + 1] = o[n][2 * r + 1];
        }
      }
      if (t == 0) {
        p.part_max[part] = row_max[r];
        p.part_sum[part] = sum;
      }
    }
  }
}

}  // namespace

void launch_attention_flash(const AttentionParams& params, Stream stream) {
  const dim3 grid = attention_tiles::tile_grid(params);
  attention_tiles::for_head_dim(params.head_dim, [&](auto dim_tiles) {
    constexpr int kDimTiles = decltype(dim_tiles)::value;
    attention_flash_kernel<kDimTiles><<<grid, kThreads, 0, stream>>>(params);
  });
}

}  // namespace vlm::cuda
