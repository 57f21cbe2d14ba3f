// Fake <mma.h> for the kernel emulation (emulate_kernels.sh, emulate_backend.sh): nvcuda::wmma's
// bf16 16x16x16 fragments with f32 accumulators, the subset kernels/attention_mma.cu uses
// (fragment, fill_fragment, load_matrix_sync, store_matrix_sync, mma_sync), on the fibers of
// cuda_runtime.h (which has the __syncwarp and __any_sync the kernel uses beside them).
// Warp-collective like the hardware: element e = 16·row + col of a fragment's logical matrix
// (A: m×k, B: k×n, accumulator: m×n) lives in lane e % 32 only (x[e / 32]); loads and stores touch
// only the calling lane's elements (no barrier, as on a GPU: a lane reading what another lane
// stored needs __syncwarp, and the emulation shows a missing one, since lanes run one after
// another between barriers); mma_sync exchanges the operands through a per-warp scratch between
// two warp barriers, so a lane that skips it is reported as barrier divergence. The real layout is
// opaque too, so a kernel can only rely on what WMMA guarantees. Arithmetic: products of bf16
// values are exact in f32; each output element sums c + Σ_k a·b in f32, k ascending (the tensor
// cores' internal order and rounding differ within f32 accuracy).
// Checked (a violation is thrown as EmulationError "emu: wmma ...", from the scheduler's stack
// when it happens in a fiber: it is undefined behaviour on a GPU): pointers 256-bit aligned, ldm a
// multiple of 16 bytes, whole warps (blockDim.x a multiple of 32, 1-D blocks).
#pragma once
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <type_traits>

#include "cuda_runtime.h"

namespace nvcuda::wmma {

struct matrix_a {};
struct matrix_b {};
struct accumulator {};
struct row_major {};
struct col_major {};
enum layout_t { mem_row_major, mem_col_major };

template <typename Use, int M, int N, int K, typename T, typename Layout = void>
struct fragment {
  static_assert(M == 16 && N == 16 && K == 16, "emu: only the 16x16x16 shape is emulated");
  static constexpr int num_elements = 8;  // 256 elements over 32 lanes
  T x[num_elements];
};

namespace detail {

[[noreturn]] inline void fail(const char* what) {
  char message[256];
  std::snprintf(message, sizeof message, "emu: wmma %s (block %u,%u,%u thread %u)", what,
                blockIdx.x, blockIdx.y, blockIdx.z, threadIdx.x);
  emu::emulation_failure(message);
}

inline unsigned lane() {
  if (blockDim.x % 32 != 0 || blockDim.y != 1 || blockDim.z != 1) fail("needs 1-D blocks of whole warps");
  return threadIdx.x % 32;
}

inline void check_access(const void* ptr, unsigned ldm, unsigned element_bytes) {
  if (reinterpret_cast<uintptr_t>(ptr) % 32 != 0) fail("pointer not 256-bit aligned");
  if (ldm * element_bytes % 16 != 0) fail("ldm not a multiple of 16 bytes");
  if (ldm < 16) fail("ldm smaller than the fragment's 16 columns");
}

inline float to_float(float v) { return v; }
inline float to_float(__nv_bfloat16 v) {
  const uint32_t word = static_cast<uint32_t>(v.bits) << 16;
  float f;
  std::memcpy(&f, &word, 4);
  return f;
}

template <typename L>
constexpr bool row_major_layout() {
  return std::is_same_v<L, row_major>;
}

// The per-warp operand exchange of mma_sync (one launch at a time, one block at a time).
struct MmaExchange {
  float a[256], b[256], c[256];
};
inline MmaExchange g_exchange[32];

}  // namespace detail

template <typename Use, typename T, typename L, typename V>
void fill_fragment(fragment<Use, 16, 16, 16, T, L>& f, const V& value) {
  for (auto& x : f.x) x = static_cast<T>(value);
}
template <typename Use, typename L>
void fill_fragment(fragment<Use, 16, 16, 16, __nv_bfloat16, L>& f, float value) {
  for (auto& x : f.x) x = __float2bfloat16_rn(value);
}

// A and B from memory: element (row, col) at p[row·ldm + col] (row_major) or p[col·ldm + row].
template <typename Use, typename L>
void load_matrix_sync(fragment<Use, 16, 16, 16, __nv_bfloat16, L>& f, const __nv_bfloat16* p,
                      unsigned ldm) {
  static_assert(!std::is_same_v<Use, accumulator>, "accumulators take a layout_t");
  detail::check_access(p, ldm, 2);
  const unsigned l = detail::lane();
  for (int i = 0; i < 8; ++i) {
    const unsigned e = l + 32 * i, r = e / 16, c = e % 16;
    f.x[i] = detail::row_major_layout<L>() ? p[r * ldm + c] : p[c * ldm + r];
  }
}

inline void load_matrix_sync(fragment<accumulator, 16, 16, 16, float>& f, const float* p,
                             unsigned ldm, layout_t layout) {
  detail::check_access(p, ldm, 4);
  const unsigned l = detail::lane();
  for (int i = 0; i < 8; ++i) {
    const unsigned e = l + 32 * i, r = e / 16, c = e % 16;
    f.x[i] = layout == mem_row_major ? p[r * ldm + c] : p[c * ldm + r];
  }
}

inline void store_matrix_sync(float* p, const fragment<accumulator, 16, 16, 16, float>& f,
                              unsigned ldm, layout_t layout) {
  detail::check_access(p, ldm, 4);
  const unsigned l = detail::lane();
  for (int i = 0; i < 8; ++i) {
    const unsigned e = l + 32 * i, r = e / 16, c = e % 16;
    (layout == mem_row_major ? p[r * ldm + c] : p[c * ldm + r]) = f.x[i];
  }
}

// d = a·b + c over the warp: every lane publishes its elements, then computes its own outputs.
template <typename LA, typename LB>
void mma_sync(fragment<accumulator, 16, 16, 16, float>& d,
              const fragment<matrix_a, 16, 16, 16, __nv_bfloat16, LA>& a,
              const fragment<matrix_b, 16, 16, 16, __nv_bfloat16, LB>& b,
              const fragment<accumulator, 16, 16, 16, float>& c) {
  if (emu::t_sequential) emu::sequential_violation("wmma::mma_sync");
  emu::g_used_sync = true;
  const unsigned l = detail::lane(), w = threadIdx.x / 32;
  detail::MmaExchange& x = detail::g_exchange[w];
  for (int i = 0; i < 8; ++i) {
    x.a[l + 32 * i] = detail::to_float(a.x[i]);
    x.b[l + 32 * i] = detail::to_float(b.x[i]);
    x.c[l + 32 * i] = c.x[i];
  }
  emu::warp_barrier();  // all operands published
  float out[8];
  for (int i = 0; i < 8; ++i) {
    const unsigned e = l + 32 * i, r = e / 16, col = e % 16;
    float sum = x.c[e];
    for (int k = 0; k < 16; ++k) sum += x.a[r * 16 + k] * x.b[k * 16 + col];
    out[i] = sum;
  }
  emu::warp_barrier();  // all lanes have read the exchange before the next mma_sync writes it
  for (int i = 0; i < 8; ++i) d.x[i] = out[i];
}

}  // namespace nvcuda::wmma
