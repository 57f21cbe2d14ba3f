// One warp-wide tensor-core product, mma.sync.m16n8k16 with bf16 operands and f32 accumulators
// (sm_80+), and ldmatrix, the warp-wide load of its operands from shared memory, for kernels that
// keep their operands in registers (kernels/attention_flash.cu).
// Unlike WMMA, whose fragment layout is opaque, this instruction's layout is documented (PTX ISA,
// "Matrix Fragments for mma.m16n8k16 with floating point type"), which is what lets a kernel turn
// a product's accumulators straight into the next product's A operand. With g = lane / 4 and
// t = lane % 4, each lane holds (two bf16 per 32-bit register, the lower index in the low half):
//   A (16 × 16, row major): a[0] = A[g][2t, 2t+1], a[1] = A[g+8][2t, 2t+1],
//                           a[2] = A[g][2t+8, 2t+9], a[3] = A[g+8][2t+8, 2t+9];
//   B (16 × 8, k × n):      b[0] = B[2t, 2t+1][g],  b[1] = B[2t+8, 2t+9][g];
//   C, D (16 × 8, f32):     c[0], c[1] = C[g][2t, 2t+1], c[2], c[3] = C[g+8][2t, 2t+1].
// ldmatrix.sync.aligned.m8n8.x4(.trans).shared.b16 loads four 8 × 8 bf16 matrices: lanes 8i … 8i + 7
// give the addresses of matrix i's rows 0 … 7 (16 bytes each, 16-byte aligned); register i of lane
// l receives matrix i's elements (l / 4, 2(l % 4)) and (l / 4, 2(l % 4) + 1), or with .trans
// (2(l % 4), l / 4) and (2(l % 4) + 1, l / 4): a row-major 8 × 8 tile arrives as the A or B
// fragment of the map above (B from rows of Bᵀ without .trans, from rows of B with it).
// The CPU emulation (cuda/tools/emu/mma_sync_emu.h) implements the same maps, so a kernel that
// misreads them computes wrong products there too.
#pragma once

#include <cstdint>

#ifdef __CUDACC__

namespace vlm::cuda {

// d += A·B over the warp (every lane of the warp must call it, converged).
__device__ __forceinline__ void mma_bf16_16x8x16(float (&d)[4], const uint32_t (&a)[4],
                                                 const uint32_t (&b)[2]) {
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 800
  asm volatile(
      "mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32 "
      "{%0, %1, %2, %3}, {%4, %5, %6, %7}, {%8, %9}, {%0, %1, %2, %3};\n"
      : "+f"(d[0]), "+f"(d[1]), "+f"(d[2]), "+f"(d[3])
      : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b[0]), "r"(b[1]));
#else
  (void)d;
  (void)a;
  (void)b;
#endif
}

// r[i] = lane's part of matrix i (see above); row: this lane's row address in shared memory.
template <bool kTransposed>
__device__ __forceinline__ void ldmatrix_x4_impl(uint32_t (&r)[4], const void* row) {
#if defined(__CUDA_ARCH__) && __CUDA_ARCH__ >= 800
  const auto address = static_cast<uint32_t>(__cvta_generic_to_shared(row));
  if constexpr (kTransposed) {
    asm volatile("ldmatrix.sync.aligned.m8n8.x4.trans.shared.b16 {%0, %1, %2, %3}, [%4];\n"
                 : "=r"(r[0]), "=r"(r[1]), "=r"(r[2]), "=r"(r[3])
                 : "r"(address));
  } else {
    asm volatile("ldmatrix.sync.aligned.m8n8.x4.shared.b16 {%0, %1, %2, %3}, [%4];\n"
                 : "=r"(r[0]), "=r"(r[1]), "=r"(r[2]), "=r"(r[3])
                 : "r"(address));
  }
#else
  (void)row;
  r[0] = r[1] = r[2] = r[3] = 0;
#endif
}
__device__ __forceinline__ void ldmatrix_x4(uint32_t (&r)[4], const void* row) {
  ldmatrix_x4_impl<false>(r, row);
}
__device__ __forceinline__ void ldmatrix_x4_trans(uint32_t (&r)[4], const void* row) {
  ldmatrix_x4_impl<true>(r, row);
}

}  // namespace vlm::cuda

#else  // the CPU emulation of the kernels (g++)
#include <mma_sync_emu.h>
#endif
