// AVX2/FMA/F16C kernels with portable fallbacks (see cpu_simd.h). The AVX2 functions carry a
// target attribute instead of a global -march flag, and are only called after a CPUID check.
#include "backend_cpu/cpu_simd.h"

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstring>

#if defined(__x86_64__) || defined(__i386__)
#include <cpuid.h>
#include <immintrin.h>
#define VLM_CPU_X86 1
#define VLM_AVX2 __attribute__((target("avx2,fma,f16c")))
#endif

namespace vlm::cpu {
namespace {

// ---- portable fallbacks ----

template <DType D>
inline float load_scalar(const void* base, int64_t index) {
  if constexpr (D == DType::F32) {
    return static_cast<const float*>(base)[index];
  } else if constexpr (D == DType::BF16) {
    return bf16_to_f32(static_cast<const uint16_t*>(base)[index]);
  } else {
    return f16_to_f32(static_cast<const uint16_t*>(base)[index]);
  }
}

template <DType D>
void small_m_matmul_scalar(const float* x, int64_t M, int64_t K, const void* w, int64_t n0,
                           int64_t n_rows, float* y, int64_t ldy, float* scratch) {
  for (int64_t j = 0; j < n_rows; ++j) {
    const float* row;
    if constexpr (D == DType::F32) {
      row = static_cast<const float*>(w) + (n0 + j) * K;
    } else {
      const uint16_t* src = static_cast<const uint16_t*>(w) + (n0 + j) * K;
      for (int64_t k = 0; k < K; ++k) scratch[k] = load_scalar<D>(src, k);
      row = scratch;
    }
    for (int64_t m = 0; m < M; ++m) {
      const float* xm = x + m * K;
      float acc[8] = {0, 0, 0, 0, 0, 0, 0, 0};
      int64_t k = 0;
      for (; k + 8 <= K; k += 8) {
        for (int lane = 0; lane < 8; ++lane) acc[lane] += xm[k + lane] * row[k + lane];
      }
      float sum = ((acc[0] + acc[4]) + (acc[1] + acc[5])) + ((acc[2] + acc[6]) + (acc[3] + acc[7]));
      for (; k < K; ++k) sum += xm[k] * row[k];
      y[m * ldy + j] = sum;
    }
  }
}

float row_max_scalar(const float* values, int64_t n) {
  float best = values[0];
  for (int64_t i = 1; i < n; ++i) best = std::max(best, values[i]);
  return best;
}

float exp_shift_sum_scalar(float* values, int64_t n, float shift) {
  float sum = 0.0f;
  for (int64_t i = 0; i < n; ++i) {
    values[i] = std::exp(values[i] - shift);
    sum += values[i];
  }
  return sum;
}

#ifdef VLM_CPU_X86
// ---- AVX2 ----

bool detect_simd() {
  // avx2/fma via the compiler's builtin (which also checks OS support for the registers); f16c is
  // CPUID.1:ECX bit 29, read directly because clang's builtin does not know that name.
  __builtin_cpu_init();
  unsigned eax = 0, ebx = 0, ecx = 0, edx = 0;
  const bool f16c = __get_cpuid(1, &eax, &ebx, &ecx, &edx) && (ecx & (1u << 29)) != 0;
  return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") && f16c;
}

template <DType D>
VLM_AVX2 inline __m256 load8(const void* base, int64_t index) {
  if constexpr (D == DType::F32) {
    return _mm256_loadu_ps(static_cast<const float*>(base) + index);
  } else {
    __m128i half = _mm_loadu_si128(
        reinterpret_cast<const __m128i*>(static_cast<const uint16_t*>(base) + index));
    if constexpr (D == DType::BF16) {
      return _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_cvtepu16_epi32(half), 16));
    } else {
      return _mm256_cvtph_ps(half);
    }
  }
}

VLM_AVX2 inline float hsum(__m256 v) {
  __m128 lo = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  lo = _mm_add_ps(lo, _mm_movehl_ps(lo, lo));
  lo = _mm_add_ss(lo, _mm_movehdup_ps(lo));
  return _mm_cvtss_f32(lo);
}

template <DType D>
VLM_AVX2 void convert_avx2(const void* src, float* dst, int64_t n) {
  int64_t i = 0;
  for (; i + 8 <= n; i += 8) _mm256_storeu_ps(dst + i, load8<D>(src, i));
  for (; i < n; ++i) dst[i] = load_scalar<D>(src, i);
}

// M == 1: read each weight once, converting on the fly; 4 weight rows share one x load.
template <DType D>
VLM_AVX2 void gemv_avx2(const float* x, int64_t K, const void* w, int64_t n0, int64_t n_rows,
                        float* y) {
  auto row_ptr = [&](int64_t n) -> const void* {
    return static_cast<const char*>(w) + n * K * static_cast<int64_t>(dtype_size(D));
  };
  int64_t j = 0;
  for (; j + 4 <= n_rows; j += 4) {
    const void* r0 = row_ptr(n0 + j);
    const void* r1 = row_ptr(n0 + j + 1);
    const void* r2 = row_ptr(n0 + j + 2);
    const void* r3 = row_ptr(n0 + j + 3);
    __m256 a0 = _mm256_setzero_ps(), a1 = _mm256_setzero_ps();
    __m256 a2 = _mm256_setzero_ps(), a3 = _mm256_setzero_ps();
    int64_t k = 0;
    for (; k + 8 <= K; k += 8) {
      __m256 xv = _mm256_loadu_ps(x + k);
      a0 = _mm256_fmadd_ps(xv, load8<D>(r0, k), a0);
      a1 = _mm256_fmadd_ps(xv, load8<D>(r1, k), a1);
      a2 = _mm256_fmadd_ps(xv, load8<D>(r2, k), a2);
      a3 = _mm256_fmadd_ps(xv, load8<D>(r3, k), a3);
    }
    float s0 = hsum(a0), s1 = hsum(a1), s2 = hsum(a2), s3 = hsum(a3);
    for (; k < K; ++k) {
      s0 += x[k] * load_scalar<D>(r0, k);
      s1 += x[k] * load_scalar<D>(r1, k);
      s2 += x[k] * load_scalar<D>(r2, k);
      s3 += x[k] * load_scalar<D>(r3, k);
    }
    y[j] = s0;
    y[j + 1] = s1;
    y[j + 2] = s2;
    y[j + 3] = s3;
  }
  for (; j < n_rows; ++j) {
    const void* r = row_ptr(n0 + j);
    __m256 a0 = _mm256_setzero_ps(), a1 = _mm256_setzero_ps();
    int64_t k = 0;
    for (; k + 16 <= K; k += 16) {
      a0 = _mm256_fmadd_ps(_mm256_loadu_ps(x + k), load8<D>(r, k), a0);
      a1 = _mm256_fmadd_ps(_mm256_loadu_ps(x + k + 8), load8<D>(r, k + 8), a1);
    }
    for (; k + 8 <= K; k += 8) a0 = _mm256_fmadd_ps(_mm256_loadu_ps(x + k), load8<D>(r, k), a0);
    float s = hsum(_mm256_add_ps(a0, a1));
    for (; k < K; ++k) s += x[k] * load_scalar<D>(r, k);
    y[j] = s;
  }
}

// Dot products of up to 4 f32 weight rows with 2 x rows at a time (8 independent FMA chains).
VLM_AVX2 void dots_f32_avx2(const float* x, int64_t M, int64_t K, const float* const* rows,
                            int n_w, float* y, int64_t ldy) {
  int64_t m = 0;
  for (; m + 2 <= M; m += 2) {
    const float* x0 = x + m * K;
    const float* x1 = x0 + K;
    __m256 acc[2][4];
    for (int r = 0; r < 4; ++r) acc[0][r] = acc[1][r] = _mm256_setzero_ps();
    int64_t k = 0;
    for (; k + 8 <= K; k += 8) {
      __m256 xv0 = _mm256_loadu_ps(x0 + k);
      __m256 xv1 = _mm256_loadu_ps(x1 + k);
      for (int r = 0; r < 4; ++r) {
        if (r < n_w) {
          __m256 wv = _mm256_loadu_ps(rows[r] + k);
          acc[0][r] = _mm256_fmadd_ps(xv0, wv, acc[0][r]);
          acc[1][r] = _mm256_fmadd_ps(xv1, wv, acc[1][r]);
        }
      }
    }
    for (int r = 0; r < n_w; ++r) {
      float s0 = hsum(acc[0][r]), s1 = hsum(acc[1][r]);
      for (int64_t kk = k; kk < K; ++kk) {
        s0 += x0[kk] * rows[r][kk];
        s1 += x1[kk] * rows[r][kk];
      }
      y[m * ldy + r] = s0;
      y[(m + 1) * ldy + r] = s1;
    }
  }
  for (; m < M; ++m) {
    const float* x0 = x + m * K;
    __m256 acc[4];
    for (int r = 0; r < 4; ++r) acc[r] = _mm256_setzero_ps();
    int64_t k = 0;
    for (; k + 8 <= K; k += 8) {
      __m256 xv0 = _mm256_loadu_ps(x0 + k);
      for (int r = 0; r < 4; ++r) {
        if (r < n_w) acc[r] = _mm256_fmadd_ps(xv0, _mm256_loadu_ps(rows[r] + k), acc[r]);
      }
    }
    for (int r = 0; r < n_w; ++r) {
      float s0 = hsum(acc[r]);
      for (int64_t kk = k; kk < K; ++kk) s0 += x0[kk] * rows[r][kk];
      y[m * ldy + r] = s0;
    }
  }
}

// 1 < M: convert 4 weight rows once into scratch, then reuse them for every x row.
template <DType D>
VLM_AVX2 void small_m_avx2(const float* x, int64_t M, int64_t K, const void* w, int64_t n0,
                           int64_t n_rows, float* y, int64_t ldy, float* scratch) {
  for (int64_t j = 0; j < n_rows; j += 4) {
    int n_w = static_cast<int>(std::min<int64_t>(4, n_rows - j));
    const float* rows[4] = {nullptr, nullptr, nullptr, nullptr};
    for (int r = 0; r < n_w; ++r) {
      if constexpr (D == DType::F32) {
        rows[r] = static_cast<const float*>(w) + (n0 + j + r) * K;
      } else {
        convert_avx2<D>(static_cast<const uint16_t*>(w) + (n0 + j + r) * K, scratch + r * K, K);
        rows[r] = scratch + r * K;
      }
    }
    dots_f32_avx2(x, M, K, rows, n_w, y + j, ldy);
  }
}

VLM_AVX2 float row_max_avx2(const float* values, int64_t n) {
  int64_t i = 0;
  float best = values[0];
  if (n >= 8) {
    __m256 vmax = _mm256_loadu_ps(values);
    for (i = 8; i + 8 <= n; i += 8) vmax = _mm256_max_ps(vmax, _mm256_loadu_ps(values + i));
    float lanes[8];
    _mm256_storeu_ps(lanes, vmax);
    for (float lane : lanes) best = std::max(best, lane);
  }
  for (; i < n; ++i) best = std::max(best, values[i]);
  return best;
}

// exp(x) for x <= ~88 (Cephes polynomial, relative error ~1e-7); very negative x (and -inf) -> 0.
VLM_AVX2 inline __m256 exp8(__m256 x) {
  x = _mm256_min_ps(x, _mm256_set1_ps(88.3762626647949f));
  x = _mm256_max_ps(x, _mm256_set1_ps(-87.0f));
  __m256 fx = _mm256_fmadd_ps(x, _mm256_set1_ps(1.44269504088896341f), _mm256_set1_ps(0.5f));
  fx = _mm256_floor_ps(fx);
  x = _mm256_fnmadd_ps(fx, _mm256_set1_ps(0.693359375f), x);
  x = _mm256_fnmadd_ps(fx, _mm256_set1_ps(-2.12194440e-4f), x);
  __m256 z = _mm256_mul_ps(x, x);
  __m256 p = _mm256_set1_ps(1.9875691500e-4f);
  p = _mm256_fmadd_ps(p, x, _mm256_set1_ps(1.3981999507e-3f));
  p = _mm256_fmadd_ps(p, x, _mm256_set1_ps(8.3334519073e-3f));
  p = _mm256_fmadd_ps(p, x, _mm256_set1_ps(4.1665795894e-2f));
  p = _mm256_fmadd_ps(p, x, _mm256_set1_ps(1.6666665459e-1f));
  p = _mm256_fmadd_ps(p, x, _mm256_set1_ps(5.0000001201e-1f));
  p = _mm256_fmadd_ps(p, z, x);
  p = _mm256_add_ps(p, _mm256_set1_ps(1.0f));
  __m256i n = _mm256_cvttps_epi32(fx);
  n = _mm256_slli_epi32(_mm256_add_epi32(n, _mm256_set1_epi32(127)), 23);
  return _mm256_mul_ps(p, _mm256_castsi256_ps(n));
}

VLM_AVX2 float exp_shift_sum_avx2(float* values, int64_t n, float shift) {
  const __m256 vshift = _mm256_set1_ps(shift);
  __m256 vsum = _mm256_setzero_ps();
  int64_t i = 0;
  for (; i + 8 <= n; i += 8) {
    __m256 e = exp8(_mm256_sub_ps(_mm256_loadu_ps(values + i), vshift));
    _mm256_storeu_ps(values + i, e);
    vsum = _mm256_add_ps(vsum, e);
  }
  float sum = hsum(vsum);
  for (; i < n; ++i) {
    values[i] = std::exp(values[i] - shift);
    sum += values[i];
  }
  return sum;
}
#else
bool detect_simd() { return false; }
#endif

const bool kSimdSupported = detect_simd();
std::atomic<bool> g_simd{kSimdSupported};

}  // namespace

bool simd_enabled() { return g_simd.load(std::memory_order_relaxed); }

void set_simd_enabled(bool enabled) { g_simd.store(enabled && kSimdSupported); }

void convert_to_f32_fast(const void* src, DType dtype, float* dst, int64_t n) {
#ifdef VLM_CPU_X86
  if (simd_enabled()) {
    if (dtype == DType::BF16) return convert_avx2<DType::BF16>(src, dst, n);
    if (dtype == DType::F16) return convert_avx2<DType::F16>(src, dst, n);
  }
#endif
  convert_to_f32(src, dtype, dst, static_cast<size_t>(n));
}

void small_m_matmul(const float* x, int64_t M, int64_t K, const void* w, DType w_dtype,
                    int64_t n0, int64_t n_rows, float* y, int64_t ldy, float* scratch) {
#ifdef VLM_CPU_X86
  if (simd_enabled()) {
    if (M == 1) {
      switch (w_dtype) {
        case DType::F32: return gemv_avx2<DType::F32>(x, K, w, n0, n_rows, y);
        case DType::BF16: return gemv_avx2<DType::BF16>(x, K, w, n0, n_rows, y);
        case DType::F16: return gemv_avx2<DType::F16>(x, K, w, n0, n_rows, y);
        default: break;
      }
    } else {
      switch (w_dtype) {
        case DType::F32: return small_m_avx2<DType::F32>(x, M, K, w, n0, n_rows, y, ldy, scratch);
        case DType::BF16: return small_m_avx2<DType::BF16>(x, M, K, w, n0, n_rows, y, ldy, scratch);
        case DType::F16: return small_m_avx2<DType::F16>(x, M, K, w, n0, n_rows, y, ldy, scratch);
        default: break;
      }
    }
  }
#endif
  switch (w_dtype) {
    case DType::F32:
      return small_m_matmul_scalar<DType::F32>(x, M, K, w, n0, n_rows, y, ldy, scratch);
    case DType::BF16:
      return small_m_matmul_scalar<DType::BF16>(x, M, K, w, n0, n_rows, y, ldy, scratch);
    case DType::F16:
      return small_m_matmul_scalar<DType::F16>(x, M, K, w, n0, n_rows, y, ldy, scratch);
    default:
      break;
  }
}

float row_max(const float* values, int64_t n) {
#ifdef VLM_CPU_X86
  if (simd_enabled()) return row_max_avx2(values, n);
#endif
  return row_max_scalar(values, n);
}

float exp_shift_sum(float* values, int64_t n, float shift) {
#ifdef VLM_CPU_X86
  if (simd_enabled()) return exp_shift_sum_avx2(values, n, shift);
#endif
  return exp_shift_sum_scalar(values, n, shift);
}

}  // namespace vlm::cpu
