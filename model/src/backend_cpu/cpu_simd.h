// Vector kernels of the CPU backend that the compiler will not produce from plain loops:
// bf16/f16 -> f32 conversion, the small-M matmul kernel that converts weights on the fly (decode is
// memory bound, so reading bf16 halves the bytes), and exp/max for softmax rows.
// Each has an AVX2+FMA+F16C version chosen at run time (the build stays portable, no -march) and a
// plain C++ fallback; both compute in f32.
#pragma once

#include <cstdint>

#include "vlm/dtype.h"

namespace vlm::cpu {

// Whether the AVX2/FMA/F16C kernels are in use on this machine.
bool simd_enabled();
// Turns the AVX2 kernels off (or back on where supported); tests use it to check the fallbacks.
void set_simd_enabled(bool enabled);

// dst[i] = f32(src[i]) for n elements of dtype F32, F16 or BF16.
void convert_to_f32_fast(const void* src, DType dtype, float* dst, int64_t n);

// y[m * ldy + j] = dot(x[m * K ...], w_row(n0 + j)) for m in [0, M), j in [0, n_rows), where
// w is [N, K] of dtype F32/F16/BF16 (row-major). scratch holds at least 4 * K floats.
void small_m_matmul(const float* x, int64_t M, int64_t K, const void* w, DType w_dtype,
                    int64_t n0, int64_t n_rows, float* y, int64_t ldy, float* scratch);

// Largest of n >= 1 values.
float row_max(const float* values, int64_t n);
// values[i] = exp(values[i] - shift); returns their sum (accumulated in f32).
float exp_shift_sum(float* values, int64_t n, float shift);

}  // namespace vlm::cpu
