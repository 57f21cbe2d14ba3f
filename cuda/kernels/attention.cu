// Flash-style attention for both uses of the model, never materialising the score matrix:
// - varlen bidirectional (the ViT's window and full segments, head_dim 80, n_heads_kv == n_heads),
// - causal GQA against a KV cache (the decoder's prefill and decode, head_dim 128).
// One block (4 warps) takes a tile of 16 "flat rows" (query × head of one kv head's group, see
// launch.h) and streams the tile's keys through shared memory 64 at a time with an online softmax
// (running max and sum in the log2 domain, f32 accumulators). Each warp owns 4 rows; for scores a
// lane owns keys lane and lane + 32, for the output a lane owns dims lane + 32·i. GQA groups share
// one K/V tile, so a decode step reads each cached key once per kv head. Long key ranges can be
// split across blocks (flash-decoding) whose partials attention_combine merges, or, with split
// counters (launch.h), the tile's last block to finish.
// This is CUDA-core code: decode (few query rows, split-K) runs here; prefill-sized work goes to
// whichever kernel measures fastest (this one or the tensor-core attention_mma.cu and
// attention_flash.cu: backend_cuda_attention_choice.cpp) unless VLM_CUDA_ATTENTION forces one.
// A recorded decode step runs it with the rope and the cache append fused in (AttentionParams::
// new_row): q is rotated as it is loaded and the new key/value enter the tile from the joined row,
// saving the separate rope_append_at kernel per layer.
#include "../common.cuh"

namespace vlm::cuda {

namespace {

constexpr int kWarps = 4;
constexpr int kThreads = kWarps * 32;
constexpr int kRowsPerWarp = kAttentionTileRows / kWarps;
constexpr int kKeys = kAttentionKeyStep;
static_assert(kKeys == 64, "a lane owns keys lane and lane + 32");

__device__ void combine_item(const AttentionParams& p, int64_t item, int lane);

template <int kDimsPerLane>
__global__ void __launch_bounds__(kThreads) attention_kernel(AttentionParams p) {
  constexpr int kMaxDim = kDimsPerLane * 32;
  constexpr int kKeyStride = kMaxDim + 2;  // bf16 elements; an odd word count avoids bank conflicts
  __shared__ __align__(16) bf16_bits k_tile[kKeys * kKeyStride];
  __shared__ __align__(16) bf16_bits v_tile[kKeys * kMaxDim];
  __shared__ __align__(16) float q_tile[kAttentionTileRows * kMaxDim];

  const int group = p.n_heads / p.n_heads_kv;
  const AttentionTile tile =
      p.tiles != nullptr ? p.tiles[blockIdx.x]
                         : attention_causal_tile(p, group, blockIdx.x, kAttentionTileRows);
  const int kv_head = static_cast<int>(blockIdx.y);
  const int split = static_cast<int>(blockIdx.z);
  const int hd = p.head_dim, half_hd = hd / 2;
  const int warp = static_cast<int>(threadIdx.x) / 32, lane = static_cast<int>(threadIdx.x) % 32;
  const int64_t q_stride = static_cast<int64_t>(p.n_heads) * hd;
  const int64_t kv_stride = static_cast<int64_t>(p.n_heads_kv) * hd;

  int key_begin = 0, key_end = 0;
  attention_split_range(p, tile, split, key_begin, key_end);
  const int64_t new_key = p.new_row != nullptr ? attention_n_past(p) : -1;  // fused decode (launch.h)

  // Queries of the tile, pre-scaled by scale·log2(e) so the softmax uses exp2.
  const float scale_log2 = p.scale * 1.4426950408889634f;
  for (int idx = threadIdx.x; idx < kAttentionTileRows * hd; idx += kThreads) {
    const int r = idx / hd, d = idx % hd;
    const int f = tile.f_begin + r;
    float value = 0.0f;
    if (f < tile.f_end) {
      const int64_t query = f / group;
      const int head = kv_head * group + f % group;
      const bf16_bits q_bits =
          p.new_row != nullptr
              ? rope_element(p.new_row + static_cast<int64_t>(head) * hd, d, half_hd, p.rope_cos, p.rope_sin)
              : p.q[query * q_stride + static_cast<int64_t>(head) * hd + d];
      value = bf16_to_float(q_bits) * scale_log2;
    }
    q_tile[r * kMaxDim + d] = value;
  }

  bool row_valid[kRowsPerWarp];
  int64_t row_limit[kRowsPerWarp];  // last key position the row may see
  float row_max[kRowsPerWarp], row_sum[kRowsPerWarp], acc[kRowsPerWarp][kDimsPerLane];
#pragma unroll
  for (int rr = 0; rr < kRowsPerWarp; ++rr) {
    const int f = tile.f_begin + warp * kRowsPerWarp + rr;
    row_valid[rr] = f < tile.f_end;
    row_limit[rr] = p.causal ? attention_n_past(p) + f / group : INT64_MAX;
    row_max[rr] = -INFINITY;
    row_sum[rr] = 0.0f;
#pragma unroll
    for (int i = 0; i < kDimsPerLane; ++i) acc[rr][i] = 0.0f;
  }

  for (int k0 = key_begin; k0 < key_end; k0 += kKeys) {
    __syncthreads();  // the previous K/V tile is consumed (and, first time, q_tile is written)
    for (int idx = threadIdx.x; idx < kKeys * half_hd; idx += kThreads) {
      const int row = idx / half_hd, c2 = idx % half_hd;
      const int64_t key = k0 + row;
      uint32_t k_word = 0, v_word = 0;
      if (key < key_end) {
        const int64_t offset = key * kv_stride + static_cast<int64_t>(kv_head) * hd;
        if (p.new_row != nullptr && key == new_key) {
          // The new token's key (rotated here) and value, from the joined row into the cache.
          const bf16_bits* k_head = p.new_row + static_cast<int64_t>(p.n_heads + kv_head) * hd;
          const bf16_bits* v_head = p.new_row + static_cast<int64_t>(p.n_heads + p.n_heads_kv + kv_head) * hd;
          const int d = 2 * c2;
          k_word = static_cast<uint32_t>(rope_element(k_head, d, half_hd, p.rope_cos, p.rope_sin)) |
                   static_cast<uint32_t>(rope_element(k_head, d + 1, half_hd, p.rope_cos, p.rope_sin)) << 16;
          v_word = static_cast<uint32_t>(v_head[d]) | static_cast<uint32_t>(v_head[d + 1]) << 16;
          if (key < p.cache_rows) {
            reinterpret_cast<uint32_t*>(p.k_store + offset)[c2] = k_word;
            reinterpret_cast<uint32_t*>(p.v_store + offset)[c2] = v_word;
          }
        } else {
          k_word = reinterpret_cast<const uint32_t*>(p.k + offset)[c2];
          v_word = reinterpret_cast<const uint32_t*>(p.v + offset)[c2];
        }
      }
      reinterpret_cast<uint32_t*>(k_tile + row * kKeyStride)[c2] = k_word;
      reinterpret_cast<uint32_t*>(v_tile + row * kMaxDim)[c2] = v_word;
    }
    __syncthreads();

    // Scores of the warp's rows for keys lane (s[rr][0]) and lane + 32 (s[rr][1]).
    float s[kRowsPerWarp][2];
#pragma unroll
    for (int rr = 0; rr < kRowsPerWarp; ++rr) s[rr][0] = s[rr][1] = 0.0f;
    const uint32_t* k_lo = reinterpret_cast<const uint32_t*>(k_tile + lane * kKeyStride);
    const uint32_t* k_hi = reinterpret_cast<const uint32_t*>(k_tile + (lane + 32) * kKeyStride);
    const float* q_rows = q_tile + warp * kRowsPerWarp * kMaxDim;
    for (int c2 = 0; c2 < half_hd; ++c2) {
      const uint32_t w_lo = k_lo[c2], w_hi = k_hi[c2];
      const float k_lo0 = __uint_as_float(w_lo << 16), k_lo1 = __uint_as_float(w_lo & 0xffff0000u);
      const float k_hi0 = __uint_as_float(w_hi << 16), k_hi1 = __uint_as_float(w_hi & 0xffff0000u);
#pragma unroll
      for (int rr = 0; rr < kRowsPerWarp; ++rr) {
        const float2 qv = reinterpret_cast<const float2*>(q_rows + rr * kMaxDim)[c2];
        s[rr][0] += qv.x * k_lo0 + qv.y * k_lo1;
        s[rr][1] += qv.x * k_hi0 + qv.y * k_hi1;
      }
    }

    // Online softmax update per row (all branches below are warp-uniform).
    float prob[kRowsPerWarp][2];
#pragma unroll
    for (int rr = 0; rr < kRowsPerWarp; ++rr) {
      const int64_t key_lo = k0 + lane, key_hi = k0 + lane + 32;
      const bool ok_lo = row_valid[rr] && key_lo < key_end && key_lo <= row_limit[rr];
      const bool ok_hi = row_valid[rr] && key_hi < key_end && key_hi <= row_limit[rr];
      const float s_lo = ok_lo ? s[rr][0] : -INFINITY, s_hi = ok_hi ? s[rr][1] : -INFINITY;
      const float new_max = fmaxf(row_max[rr], warp_max(fmaxf(s_lo, s_hi)));
      if (new_max == -INFINITY) {
        prob[rr][0] = prob[rr][1] = 0.0f;
        continue;
      }
      const float alpha = exp2f(row_max[rr] - new_max);
      prob[rr][0] = exp2f(s_lo - new_max);
      prob[rr][1] = exp2f(s_hi - new_max);
      row_sum[rr] = row_sum[rr] * alpha + warp_sum(prob[rr][0] + prob[rr][1]);
      row_max[rr] = new_max;
#pragma unroll
      for (int i = 0; i < kDimsPerLane; ++i) acc[rr][i] *= alpha;
    }

    // acc += P · V: key j's probability comes from lane j by shuffle; V rows are read once for
    // the warp's 4 rows.
    for (int j = 0; j < 32; ++j) {
      float v_lo[kDimsPerLane], v_hi[kDimsPerLane];
#pragma unroll
      for (int i = 0; i < kDimsPerLane; ++i) {
        const int d = lane + 32 * i;
        v_lo[i] = d < hd ? bf16_to_float(v_tile[j * kMaxDim + d]) : 0.0f;
        v_hi[i] = d < hd ? bf16_to_float(v_tile[(j + 32) * kMaxDim + d]) : 0.0f;
      }
#pragma unroll
      for (int rr = 0; rr < kRowsPerWarp; ++rr) {
        const float p_lo = __shfl_sync(0xffffffffu, prob[rr][0], j);
        const float p_hi = __shfl_sync(0xffffffffu, prob[rr][1], j);
#pragma unroll
        for (int i = 0; i < kDimsPerLane; ++i) acc[rr][i] += p_lo * v_lo[i] + p_hi * v_hi[i];
      }
    }
  }

#pragma unroll
  for (int rr = 0; rr < kRowsPerWarp; ++rr) {
    if (!row_valid[rr]) continue;
    const int f = tile.f_begin + warp * kRowsPerWarp + rr;
    const int64_t query = f / group;
    const int head = kv_head * group + f % group;
    if (p.n_splits == 1) {
      const float inv = row_sum[rr] > 0.0f ? 1.0f / row_sum[rr] : 0.0f;
      bf16_bits* out = p.out + query * q_stride + static_cast<int64_t>(head) * hd;
#pragma unroll
      for (int i = 0; i < kDimsPerLane; ++i) {
        const int d = lane + 32 * i;
        if (d < hd) out[d] = float_to_bf16(acc[rr][i] * inv);
      }
    } else {
      const int64_t part = (static_cast<int64_t>(split) * p.n_queries + query) * p.n_heads + head;
#pragma unroll
      for (int i = 0; i < kDimsPerLane; ++i) {
        const int d = lane + 32 * i;
        if (d < hd) p.part_acc[part * hd + d] = acc[rr][i];
      }
      if (lane == 0) {
        p.part_max[part] = row_max[rr];
        p.part_sum[part] = row_sum[rr];
      }
    }
  }

  // Split-K merged in place (launch.h: split_counters): the tile's last block to finish counts
  // n_splits − 1 blocks before it and merges everyone's partials, as the combine kernel would.
  if (p.n_splits > 1 && p.split_counters != nullptr) {
    __shared__ int is_last;
    __threadfence();  // this block's partials reach L2 before it is counted
    __syncthreads();
    const int64_t counter = static_cast<int64_t>(blockIdx.x) * p.n_heads_kv + kv_head;
    if (threadIdx.x == 0) is_last = atomicAdd(&p.split_counters[counter], 1) == p.n_splits - 1;
    __syncthreads();
    if (is_last) {
      __threadfence();  // the other blocks' partials are read after their counts
#pragma unroll
      for (int rr = 0; rr < kRowsPerWarp; ++rr) {
        if (!row_valid[rr]) continue;
        const int f = tile.f_begin + warp * kRowsPerWarp + rr;
        combine_item(p, static_cast<int64_t>(f / group) * p.n_heads + kv_head * group + f % group, lane);
      }
      if (threadIdx.x == 0) p.split_counters[counter] = 0;  // zero again for the next launch
    }
  }
}

// Merges the n_splits partials of one (query, head) item into the bf16 output: one warp, lanes
// over the dims. The combine kernel and the last block of a split tile (attention_kernel) both
// call it. Partials are read through L2 (__ldcg): in the second case other blocks of the same
// kernel wrote them, and this SM's L1 may hold an older launch's values.
__device__ void combine_item(const AttentionParams& p, int64_t item, int lane) {
  const int64_t n_items = static_cast<int64_t>(p.n_queries) * p.n_heads;
  const int hd = p.head_dim;
  float global_max = -INFINITY;
  for (int s = 0; s < p.n_splits; ++s) global_max = fmaxf(global_max, __ldcg(&p.part_max[s * n_items + item]));
  bf16_bits* out = p.out + item * hd;  // [query, head] rows are contiguous in out
  if (global_max == -INFINITY) {
    for (int d = lane; d < hd; d += 32) out[d] = 0;
    return;
  }
  float total = 0.0f;
  for (int s = 0; s < p.n_splits; ++s) {
    total += exp2f(__ldcg(&p.part_max[s * n_items + item]) - global_max) * __ldcg(&p.part_sum[s * n_items + item]);
  }
  const float inv = total > 0.0f ? 1.0f / total : 0.0f;
  for (int d = lane; d < hd; d += 32) {
    float value = 0.0f;
    for (int s = 0; s < p.n_splits; ++s) {
      const int64_t part = s * n_items + item;
      value += exp2f(__ldcg(&p.part_max[part]) - global_max) * __ldcg(&p.part_acc[part * hd + d]);
    }
    out[d] = float_to_bf16(value * inv);
  }
}

// One warp per (query, head): merges the n_splits partials into the bf16 output.
__global__ void attention_combine_kernel(AttentionParams p) {
  const int64_t item = (static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x) / 32;
  const int lane = static_cast<int>(threadIdx.x) % 32;
  if (item >= static_cast<int64_t>(p.n_queries) * p.n_heads) return;
  combine_item(p, item, lane);
}

}  // namespace

void launch_attention(const AttentionParams& params, Stream stream) {
  const dim3 grid(static_cast<unsigned int>(params.n_tiles),
                  static_cast<unsigned int>(params.n_heads_kv),
                  static_cast<unsigned int>(params.n_splits));
  if (params.head_dim <= 64) {
    attention_kernel<2><<<grid, kThreads, 0, stream>>>(params);
  } else if (params.head_dim <= 96) {
    attention_kernel<3><<<grid, kThreads, 0, stream>>>(params);
  } else {
    attention_kernel<4><<<grid, kThreads, 0, stream>>>(params);
  }
}

void launch_attention_combine(const AttentionParams& params, Stream stream) {
  const int64_t warps = static_cast<int64_t>(params.n_queries) * params.n_heads;
  const unsigned int blocks = static_cast<unsigned int>((warps * 32 + 127) / 128);
  attention_combine_kernel<<<blocks, 128, 0, stream>>>(params);
}

}  // namespace vlm::cuda
