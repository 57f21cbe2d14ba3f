// Device helpers shared by cuda/kernels/*.cu: bf16 bit-pattern <-> float, reads of any float
// element type, warp reductions, the attention kernels' tiling and the grid size rule. Included
// only by .cu files.
#pragma once

#include <cuda_bf16.h>
#include <cuda_fp16.h>
#include <cuda_runtime.h>

#include <cstdint>

#include "launch.h"

namespace vlm::cuda {

__device__ __forceinline__ float bf16_to_float(bf16_bits bits) {
  return __uint_as_float(static_cast<uint32_t>(bits) << 16);
}

// Round to nearest even (as PyTorch's .to(bfloat16) and vlm::f32_to_bf16).
__device__ __forceinline__ bf16_bits float_to_bf16(float value) {
  return __bfloat16_as_ushort(__float2bfloat16_rn(value));
}

// value rounded through bf16 (one PyTorch bf16 op's result).
__device__ __forceinline__ float round_bf16(float value) {
  return bf16_to_float(float_to_bf16(value));
}

// 8 bf16 moved as one 16-byte access (four 32-bit words, element 2i in word i's low half).
struct alignas(16) Pack8 {
  uint32_t word[4];
};
__device__ __forceinline__ bf16_bits pack_get(const Pack8& p, int e) {
  return static_cast<bf16_bits>(p.word[e / 2] >> (16 * (e % 2)));
}
__device__ __forceinline__ void pack_set(Pack8& p, int e, bf16_bits value) {
  const int shift = 16 * (e % 2);
  p.word[e / 2] = (p.word[e / 2] & ~(0xffffu << shift)) | (static_cast<uint32_t>(value) << shift);
}
// 4 f32 moved as one 16-byte access (the rope tables' entries, read by the attention kernels).
struct alignas(16) Floats4 {
  float value[4];
};
// Whether every pointer may be read or written as Pack8 (16-byte aligned; null counts as aligned).
__host__ __device__ __forceinline__ bool pack_aligned(const void* p) {
  return (reinterpret_cast<uintptr_t>(p) & 15) == 0;
}

// The order every RMSNorm here sums its squares in (rmsnorm.cu, gemv.cu's prologue), so that they
// agree bit for bit: with dim % 8 == 0 thread t of the block adds the 8-element packs t,
// t + blockDim, … (each pack's elements in order), else the elements t, t + blockDim, …; then
// block_sum.
__host__ __device__ __forceinline__ bool rms_owns_packs(int64_t dim) { return dim % 8 == 0; }

// silu(gate)·up as PyTorch's bf16 MLP rounds it: the silu result, then the product. Every kernel
// that computes it (elementwise.cu, gemv.cu's prologue) calls this one, so they agree bit for bit.
__device__ __forceinline__ bf16_bits silu_mul_bf16(bf16_bits gate, bf16_bits up) {
  const float g = bf16_to_float(gate);
  const float silu = round_bf16(g / (1.0f + expf(-g)));
  return float_to_bf16(silu * bf16_to_float(up));
}

// Rotate-half RoPE of one pair (lo = x[p], hi = x[p + h/2]) with the tables' entries at p (for
// the new lo) or p + h/2 (for the new hi), rounded to bf16. Every kernel that rotates (rope.cu,
// the fused decode attention) calls these, so they agree bit for bit. The products and the sum
// are rounded one by one (no FMA contraction), as the CPU reference computes them.
__device__ __forceinline__ bf16_bits rope_new_lo(float lo, float hi, float cos_lo, float sin_lo) {
  return float_to_bf16(__fsub_rn(__fmul_rn(lo, cos_lo), __fmul_rn(hi, sin_lo)));
}
__device__ __forceinline__ bf16_bits rope_new_hi(float lo, float hi, float cos_hi, float sin_hi) {
  return float_to_bf16(__fadd_rn(__fmul_rn(hi, cos_hi), __fmul_rn(lo, sin_hi)));
}
__device__ __forceinline__ void rotate_pair(float lo, float hi, float cos_lo, float sin_lo,
                                            float cos_hi, float sin_hi, bf16_bits& new_lo,
                                            bf16_bits& new_hi) {
  new_lo = rope_new_lo(lo, hi, cos_lo, sin_lo);
  new_hi = rope_new_hi(lo, hi, cos_hi, sin_hi);
}
// Element d of the rotated head `vec` [head_dim] (cos/sin [head_dim]).
__device__ __forceinline__ bf16_bits rope_element(const bf16_bits* vec, int d, int half,
                                                  const float* cos, const float* sin) {
  if (d < half) return rope_new_lo(bf16_to_float(vec[d]), bf16_to_float(vec[d + half]), cos[d], sin[d]);
  return rope_new_hi(bf16_to_float(vec[d - half]), bf16_to_float(vec[d]), cos[d], sin[d]);
}

__device__ __forceinline__ float load_as_float(const void* base, ElemType type, int64_t i) {
  switch (type) {
    case ElemType::F32:
      return static_cast<const float*>(base)[i];
    case ElemType::F16:
      return __half2float(static_cast<const __half*>(base)[i]);
    case ElemType::BF16:
    default:
      return bf16_to_float(static_cast<const bf16_bits*>(base)[i]);
  }
}

__device__ __forceinline__ float warp_sum(float value) {
  for (int offset = 16; offset > 0; offset >>= 1) value += __shfl_xor_sync(0xffffffffu, value, offset);
  return value;
}

__device__ __forceinline__ float warp_max(float value) {
  for (int offset = 16; offset > 0; offset >>= 1) {
    value = fmaxf(value, __shfl_xor_sync(0xffffffffu, value, offset));
  }
  return value;
}

// The sum of every thread's value over the block (blockDim.x a multiple of 32, at most 1024), in
// every thread; `shared` holds 32 floats. rmsnorm.cu and gemv.cu's fused norm use it with the same
// block size, so their sums agree bit for bit.
__device__ __forceinline__ float block_sum(float value, float* shared) {
  value = warp_sum(value);
  const int warp = threadIdx.x / 32, lane = threadIdx.x % 32;
  if (lane == 0) shared[warp] = value;
  __syncthreads();
  float total = 0.0f;
  if (threadIdx.x < 32) {
    total = threadIdx.x < blockDim.x / 32 ? shared[threadIdx.x] : 0.0f;
    total = warp_sum(total);
    if (threadIdx.x == 0) shared[0] = total;
  }
  __syncthreads();
  total = shared[0];
  return total;
}

// (value, index) order of an argmax, as the CPU backend and torch.argmax: the larger value, then
// the smaller index (first index wins ties); NaN never beats a number.
__device__ __forceinline__ bool argmax_better(float value, int32_t index, float best_value,
                                              int32_t best_index) {
  if (value > best_value) return true;
  return value == best_value && index < best_index;
}

// Combines each thread's (best_value, best_index) candidate over the block: warp shuffles, then
// thread 0 scans the warps' winners kept in warp_value/warp_index (blockDim.x / 32 slots of shared
// memory). The block's winner is valid in thread 0 only; every thread must call this.
__device__ __forceinline__ void block_argmax_to_thread0(float& best_value, int32_t& best_index,
                                                        float* warp_value, int32_t* warp_index) {
  for (int offset = 16; offset > 0; offset >>= 1) {
    const float other_value = __shfl_xor_sync(0xffffffffu, best_value, offset);
    const int32_t other_index = __shfl_xor_sync(0xffffffffu, best_index, offset);
    if (argmax_better(other_value, other_index, best_value, best_index)) {
      best_value = other_value;
      best_index = other_index;
    }
  }
  const int warp = threadIdx.x / 32, lane = threadIdx.x % 32;
  if (lane == 0) {
    warp_value[warp] = best_value;
    warp_index[warp] = best_index;
  }
  __syncthreads();
  if (threadIdx.x == 0) {
    for (int w = 1; w < static_cast<int>(blockDim.x / 32); ++w) {
      if (argmax_better(warp_value[w], warp_index[w], best_value, best_index)) {
        best_value = warp_value[w];
        best_index = warp_index[w];
      }
    }
  }
}

// The causal n_past: read on the device in a recorded decode step (launch.h: n_past_at).
__device__ __forceinline__ int64_t attention_n_past(const AttentionParams& p) {
  return p.n_past_at != nullptr ? static_cast<int64_t>(*p.n_past_at) : p.n_past;
}

// Tile `index` of causal attention (launch.h) for a kernel whose tiles hold `rows` flat rows:
// flat rows [rows·index, min(rows·index + rows, n_queries·group)) and the keys the last of them sees.
__device__ __forceinline__ AttentionTile attention_causal_tile(const AttentionParams& p, int group,
                                                               unsigned int index, int rows) {
  const int32_t flat_rows = p.n_queries * group;
  const int32_t f_begin = static_cast<int32_t>(index) * rows;
  const int32_t f_end = min(flat_rows, f_begin + rows);
  const int32_t last_query = (f_end - 1) / group;
  return {f_begin, f_end, 0, static_cast<int32_t>(attention_n_past(p) + last_query + 1)};
}

// The keys [key_begin, key_end) block `split` of n_splits takes from its tile's range: equal
// chunks rounded up to kAttentionKeyStep (the combine step does not care where the cuts are).
__device__ __forceinline__ void attention_split_range(const AttentionParams& p, const AttentionTile& tile,
                                                      int split, int& key_begin, int& key_end) {
  key_begin = tile.key_begin;
  key_end = tile.key_end;
  if (p.n_splits > 1) {
    int chunk = (key_end - key_begin + p.n_splits - 1) / p.n_splits;
    chunk = (chunk + kAttentionKeyStep - 1) / kAttentionKeyStep * kAttentionKeyStep;
    key_begin = min(key_end, tile.key_begin + split * chunk);
    key_end = min(key_end, key_begin + chunk);
  }
}

// Programmatic dependent launch (sm_90+; a no-op on older GPUs and in the CPU emulation). A
// kernel launched with it (launch.h: GemvArgs::programmatic) may start while the previous kernel
// in the stream is still running, once every block of that kernel has called
// pdl_launch_dependents() or exited; pdl_wait() then blocks until the previous kernel has finished
// and its writes are visible. So: read nothing an earlier kernel writes, and write nothing, before
// pdl_wait(); every thread that does either must call it (an exit without it is fine). Waiting
// for the previous kernel is transitive: it waited for its own predecessor before finishing.
// Weights may be read before pdl_wait: uploads synchronise (backend_cuda_weights.cpp).
__device__ __forceinline__ void pdl_wait() {
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 900
  asm volatile("griddepcontrol.wait;" ::: "memory");
#endif
}
__device__ __forceinline__ void pdl_launch_dependents() {
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 900
  asm volatile("griddepcontrol.launch_dependents;" :::);
#endif
}

// Blocks for a grid-stride loop over n items: enough to fill any current GPU, never more than
// needed.
inline unsigned int grid_for(int64_t n, int block) {
  int64_t blocks = (n + block - 1) / block;
  if (blocks > 8192) blocks = 8192;
  if (blocks < 1) blocks = 1;
  return static_cast<unsigned int>(blocks);
}

}  // namespace vlm::cuda
