// The CPU emulation's mma.sync.m16n8k16 (bf16 operands, f32 accumulators) and ldmatrix .x4
// (plain and .trans) for cuda/mma_sync.cuh,
// on the fibers of cuda_runtime.h: the documented fragment map (see mma_sync.cuh) implemented
// independently, so a kernel that puts an element in the wrong register gets a wrong product.
// Warp-collective as on the hardware: every lane publishes its registers to a per-warp exchange
// between two warp barriers (a lane that skips the call is reported as barrier divergence), then
// computes its own four outputs: c + Σ_k a·b in f32, k ascending (the tensor cores' order and
// rounding differ within f32 accuracy; products of bf16 are exact in f32).
#pragma once
#include <cstdint>
#include <cstring>

#include "cuda_runtime.h"

namespace vlm::cuda {

namespace mma_sync_emu {

struct Exchange {
  uint32_t a[32][4];
  uint32_t b[32][2];
  const uint16_t* rows[32];  // ldmatrix: each lane's row address
};
inline Exchange g_exchange[32];  // per warp of the running block

inline float bf16_half(uint32_t reg, int high) {
  const uint32_t word = (high ? reg >> 16 : reg & 0xFFFFu) << 16;
  float f;
  std::memcpy(&f, &word, 4);
  return f;
}

// A[row][k] from the lanes' registers: lane 4·(row % 8) + (k % 8) / 2, register
// (row ≥ 8) + 2·(k ≥ 8), half k % 2.
inline float a_element(const Exchange& x, int row, int k) {
  return bf16_half(x.a[4 * (row % 8) + (k % 8) / 2][(row >= 8 ? 1 : 0) + (k >= 8 ? 2 : 0)], k % 2);
}
// B[k][n]: lane 4·n + (k % 8) / 2, register k ≥ 8, half k % 2.
inline float b_element(const Exchange& x, int k, int n) {
  return bf16_half(x.b[4 * n + (k % 8) / 2][k >= 8 ? 1 : 0], k % 2);
}

// ldmatrix .x4: every lane publishes its row address (16-byte aligned, or the emulation fails as
// the hardware faults), then reads its own elements from the rows of the lanes that own them.
inline void ldmatrix(uint32_t (&r)[4], const void* row, bool transposed) {
  if (emu::t_sequential) emu::sequential_violation("ldmatrix");
  emu::g_used_sync = true;
  if (blockDim.x % 32 != 0 || blockDim.y != 1 || blockDim.z != 1) {
    emu::emulation_failure("emu: ldmatrix needs 1-D blocks of whole warps");
  }
  if (reinterpret_cast<uintptr_t>(row) % 16 != 0) emu::emulation_failure("emu: ldmatrix row address not 16-byte aligned");
  const unsigned lane = threadIdx.x % 32, warp = threadIdx.x / 32;
  Exchange& x = g_exchange[warp];
  x.rows[lane] = static_cast<const uint16_t*>(row);
  emu::warp_barrier();  // every lane's address published
  const unsigned g = lane / 4, t = lane % 4;
  uint32_t out[4];
  for (unsigned i = 0; i < 4; ++i) {
    uint16_t lo, hi;
    if (transposed) {  // elements (2t, g) and (2t + 1, g) of matrix i
      lo = x.rows[8 * i + 2 * t][g];
      hi = x.rows[8 * i + 2 * t + 1][g];
    } else {  // elements (g, 2t) and (g, 2t + 1)
      lo = x.rows[8 * i + g][2 * t];
      hi = x.rows[8 * i + g][2 * t + 1];
    }
    out[i] = static_cast<uint32_t>(lo) | (static_cast<uint32_t>(hi) << 16);
  }
  emu::warp_barrier();  // every lane has read the addresses before the next call writes them
  for (int i = 0; i < 4; ++i) r[i] = out[i];
}

}  // namespace mma_sync_emu

inline void ldmatrix_x4(uint32_t (&r)[4], const void* row) { mma_sync_emu::ldmatrix(r, row, false); }
inline void ldmatrix_x4_trans(uint32_t (&r)[4], const void* row) { mma_sync_emu::ldmatrix(r, row, true); }

inline void mma_bf16_16x8x16(float (&d)[4], const uint32_t (&a)[4], const uint32_t (&b)[2]) {
  if (emu::t_sequential) emu::sequential_violation("mma.sync");
  emu::g_used_sync = true;
  if (blockDim.x % 32 != 0 || blockDim.y != 1 || blockDim.z != 1) {
    emu::emulation_failure("emu: mma.sync needs 1-D blocks of whole warps");
  }
  const unsigned lane = threadIdx.x % 32, warp = threadIdx.x / 32;
  mma_sync_emu::Exchange& x = mma_sync_emu::g_exchange[warp];
  for (int i = 0; i < 4; ++i) x.a[lane][i] = a[i];
  for (int i = 0; i < 2; ++i) x.b[lane][i] = b[i];
  emu::warp_barrier();  // every lane's operands published
  const int g = static_cast<int>(lane / 4), t = static_cast<int>(lane % 4);
  float out[4];
  for (int i = 0; i < 4; ++i) {
    const int row = g + (i >= 2 ? 8 : 0), col = 2 * t + (i % 2);
    float sum = d[i];
    for (int k = 0; k < 16; ++k) {
      sum += mma_sync_emu::a_element(x, row, k) * mma_sync_emu::b_element(x, k, col);
    }
    out[i] = sum;
  }
  emu::warp_barrier();  // every lane has read the exchange before the next call writes it
  for (int i = 0; i < 4; ++i) d[i] = out[i];
}

}  // namespace vlm::cuda
