// Staging of attention rows into shared memory for the two tensor-core attention kernels
// (attention_mma.cu: WMMA; attention_flash.cu: mma.sync with register-resident probabilities).
// Both stage q, k and v rows the same way — zero-padded to the kernel's head_dim tile, optionally
// rotated on load (the ViT's rope) and read with any row stride (its joined q|k|v) — so the code
// lives here once. kThreads: the block's thread count (the loops stride by it).
#pragma once

#include <type_traits>

#include "../common.cuh"

namespace vlm::cuda::attention_tiles {

// rows × kDim bf16 into shared memory (row stride ld) from global rows src_of(r) (null: a zero
// row), columns ≥ hd zero. 16-byte copies when every row start is 16-byte aligned and hd % 8 == 0.
template <int kDim, int kThreads, typename SrcOf>
__device__ __forceinline__ void load_rows(bf16_bits* dst, int ld, int rows, int hd, bool vec16,
                                          SrcOf src_of) {
  constexpr int kVecs = kDim / 8;
  for (int idx = threadIdx.x; idx < rows * kVecs; idx += kThreads) {
    const int r = idx / kVecs, d0 = (idx % kVecs) * 8;
    const bf16_bits* src = src_of(r);
    Pack8 value{{0, 0, 0, 0}};
    if (src != nullptr) {
      if (vec16 && d0 + 8 <= hd) {
        value = *reinterpret_cast<const Pack8*>(src + d0);
      } else {
#pragma unroll
        for (int i = 0; i < 4; ++i) {
          const uint32_t lo = d0 + 2 * i < hd ? src[d0 + 2 * i] : 0u;
          const uint32_t hi = d0 + 2 * i + 1 < hd ? src[d0 + 2 * i + 1] : 0u;
          value.word[i] = lo | (hi << 16);
        }
      }
    }
    *reinterpret_cast<Pack8*>(dst + r * ld + d0) = value;
  }
}

// 8 consecutive f32 table entries: two 16-byte loads where `vec` (src 16-byte aligned), else
// one by one.
__device__ __forceinline__ void load_table_chunk(const float* src, bool vec, float (&dst)[8]) {
  if (vec) {
    const Floats4 a = reinterpret_cast<const Floats4*>(src)[0];
    const Floats4 b = reinterpret_cast<const Floats4*>(src)[1];
#pragma unroll
    for (int i = 0; i < 4; ++i) {
      dst[i] = a.value[i];
      dst[4 + i] = b.value[i];
    }
  } else {
#pragma unroll
    for (int i = 0; i < 8; ++i) dst[i] = src[i];
  }
}

// load_rows of rows rotated as they are loaded (rotate-half RoPE with the f32 tables' row
// table_row_of(r): common.cuh's rope_element, so the bits equal rope() then load_rows). With
// 16-byte rows and half = hd/2 a multiple of 8, a chunk and its partner at ±half move as two
// 16-byte loads, and the chunk's cos and sin entries as two 16-byte loads each where the tables
// are 16-byte aligned (their rows then are: hd is a multiple of 16). A full-attention ViT layer
// re-reads each key's table rows once per query tile (16 times per 1024-patch frame), 4 f32 per
// bf16 of k: 16-byte loads cut those load instructions by 4. Otherwise element by element.
template <int kDim, int kThreads, typename SrcOf, typename TableRowOf>
__device__ __forceinline__ void load_rows_rotated(bf16_bits* dst, int ld, int rows, int hd, bool vec16,
                                                  const float* cos, const float* sin, SrcOf src_of,
                                                  TableRowOf table_row_of) {
  constexpr int kVecs = kDim / 8;
  const int half = hd / 2;
  const bool pairs16 = vec16 && half % 8 == 0;
  const bool tables16 = pairs16 && pack_aligned(cos) && pack_aligned(sin);
  for (int idx = threadIdx.x; idx < rows * kVecs; idx += kThreads) {
    const int r = idx / kVecs, d0 = (idx % kVecs) * 8;
    const bf16_bits* src = src_of(r);
    Pack8 value{{0, 0, 0, 0}};
    if (src != nullptr && d0 < hd) {
      const int64_t t = table_row_of(r);
      const float* c = cos + t * hd;
      const float* s = sin + t * hd;
      if (pairs16 && d0 + 8 <= hd) {
        const int partner = d0 < half ? d0 + half : d0 - half;
        const Pack8 own = *reinterpret_cast<const Pack8*>(src + d0);
        const Pack8 other = *reinterpret_cast<const Pack8*>(src + partner);
        float cv[8], sv[8];
        load_table_chunk(c + d0, tables16, cv);
        load_table_chunk(s + d0, tables16, sv);
#pragma unroll
        for (int i = 0; i < 8; ++i) {
          const float x = bf16_to_float(static_cast<bf16_bits>(own.word[i / 2] >> (16 * (i % 2))));
          const float y = bf16_to_float(static_cast<bf16_bits>(other.word[i / 2] >> (16 * (i % 2))));
          const uint32_t bits = d0 < half ? rope_new_lo(x, y, cv[i], sv[i]) : rope_new_hi(y, x, cv[i], sv[i]);
          value.word[i / 2] |= bits << (16 * (i % 2));
        }
      } else {
#pragma unroll
        for (int i = 0; i < 8; ++i) {
          const int d = d0 + i;
          const uint32_t bits = d < hd ? rope_element(src, d, half, c, s) : 0u;
          value.word[i / 2] |= bits << (16 * (i % 2));
        }
      }
    }
    *reinterpret_cast<Pack8*>(dst + r * ld + d0) = value;
  }
}

// What a tensor-core kernel's block derives from the params (blockIdx: tile, kv head, split):
// its tile of flat rows (flat row f = query·group + g → head kv_head·group + g), the row strides
// (packed, or the joined projection's), whether rows move as 16-byte vectors, n_past (read on
// the device in a recorded step) and its split's key range.
struct TileBlock {
  AttentionTile tile;
  int kv_head, split, group, hd;
  int64_t out_stride, q_stride, kv_stride, n_past;
  bool vec16;
  int key_begin = 0, key_end = 0;

  __device__ __forceinline__ TileBlock(const AttentionParams& p, int tile_rows)
      : tile(p.tiles != nullptr ? p.tiles[blockIdx.x]
                                : attention_causal_tile(p, p.n_heads / p.n_heads_kv, blockIdx.x, tile_rows)),
        kv_head(static_cast<int>(blockIdx.y)),
        split(static_cast<int>(blockIdx.z)),
        group(p.n_heads / p.n_heads_kv),
        hd(p.head_dim),
        out_stride(static_cast<int64_t>(p.n_heads) * p.head_dim),
        q_stride(p.q_row_stride != 0 ? p.q_row_stride : out_stride),
        kv_stride(p.kv_row_stride != 0 ? p.kv_row_stride
                                       : static_cast<int64_t>(p.n_heads_kv) * p.head_dim),
        n_past(attention_n_past(p)),
        vec16(hd % 8 == 0 && q_stride % 8 == 0 && kv_stride % 8 == 0 &&
              ((reinterpret_cast<uintptr_t>(p.q) | reinterpret_cast<uintptr_t>(p.k) |
                reinterpret_cast<uintptr_t>(p.v)) & 15) == 0) {
    attention_split_range(p, tile, split, key_begin, key_end);
  }

  // The last key flat row f sees (causal), or no limit.
  __device__ __forceinline__ int64_t row_limit(const AttentionParams& p, int f) const {
    return p.causal ? n_past + f / group : INT64_MAX;
  }
  // The end of the keys any of flat rows [f_first, f_last] sees (warp-uniform for a warp's rows):
  // key_begin when none of them is in the tile.
  __device__ __forceinline__ int key_end_for(const AttentionParams& p, int f_first, int f_last) const {
    if (f_first >= tile.f_end) return key_begin;
    if (!p.causal) return key_end;
    f_last = min(f_last, tile.f_end - 1);
    return static_cast<int>(min(static_cast<int64_t>(key_end), n_past + f_last / group + 1));
  }
  // Where flat row r of the tile lives in the output, or in the split-K partials.
  __device__ __forceinline__ int64_t query_of(int f) const { return f / group; }
  __device__ __forceinline__ int head_of(int f) const { return kv_head * group + f % group; }
};

// The tile's rows flat rows of q into dst (rotated on load where the params carry rope tables).
template <int kDim, int kThreads>
__device__ __forceinline__ void stage_queries(const AttentionParams& p, const TileBlock& b,
                                              bf16_bits* dst, int ld, int rows) {
  const auto q_row = [&](int r) -> const bf16_bits* {
    const int f = b.tile.f_begin + r;
    if (f >= b.tile.f_end) return nullptr;
    return p.q + b.query_of(f) * b.q_stride + static_cast<int64_t>(b.head_of(f)) * b.hd;
  };
  if (p.rope_rows_cos != nullptr) {  // q rotated on load (launch.h: rope_rows_cos)
    load_rows_rotated<kDim, kThreads>(dst, ld, rows, b.hd, b.vec16, p.rope_rows_cos, p.rope_rows_sin,
                                      q_row, [&](int r) { return b.query_of(b.tile.f_begin + r); });
  } else {
    load_rows<kDim, kThreads>(dst, ld, rows, b.hd, b.vec16, q_row);
  }
}

// keys rows of K and V from key k0 on into k_dst and v_dst (rows past n_keys zero; k rotated on
// load where the params carry rope tables).
template <int kDim, int kThreads>
__device__ __forceinline__ void stage_keys_values(const AttentionParams& p, const TileBlock& b,
                                                  bf16_bits* k_dst, bf16_bits* v_dst, int ld, int keys,
                                                  int k0, int n_keys) {
  const int64_t head_offset = static_cast<int64_t>(b.kv_head) * b.hd;
  const auto k_row = [&](int r) -> const bf16_bits* {
    return r < n_keys ? p.k + (k0 + r) * b.kv_stride + head_offset : nullptr;
  };
  if (p.rope_rows_cos != nullptr) {  // k rotated on load
    load_rows_rotated<kDim, kThreads>(k_dst, ld, keys, b.hd, b.vec16, p.rope_rows_cos, p.rope_rows_sin,
                                      k_row, [&](int r) { return static_cast<int64_t>(k0 + r); });
  } else {
    load_rows<kDim, kThreads>(k_dst, ld, keys, b.hd, b.vec16, k_row);
  }
  load_rows<kDim, kThreads>(v_dst, ld, keys, b.hd, b.vec16, [&](int r) -> const bf16_bits* {
    return r < n_keys ? p.v + (k0 + r) * b.kv_stride + head_offset : nullptr;
  });
}

// The launch both tensor-core kernels share: grid (tiles, kv heads, splits), and the kernel
// instance for the head_dim (padded to 64, 80 or 128: 4, 5 or 8 tiles of 16), which `launch`
// receives as std::integral_constant<int, tiles>.
inline dim3 tile_grid(const AttentionParams& p) {
  return dim3(static_cast<unsigned int>(p.n_tiles), static_cast<unsigned int>(p.n_heads_kv),
              static_cast<unsigned int>(p.n_splits));
}
template <typename Launch>
void for_head_dim(int head_dim, Launch&& launch) {
  if (head_dim <= 64) {
    launch(std::integral_constant<int, 4>{});
  } else if (head_dim <= 80) {
    launch(std::integral_constant<int, 5>{});
  } else {
    launch(std::integral_constant<int, 8>{});
  }
}

}  // namespace vlm::cuda::attention_tiles
