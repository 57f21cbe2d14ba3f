// y[n] = w[n, :] · x (+ bias[n]) for one activation row: the decode step's matmuls (M = 1), which
// read every weight byte once and do 2 flops per byte, so their speed is the HBM bandwidth they
// reach. One warp per weight row, 16-byte loads (8 bf16) of the row and of x (x is small and stays
// in L1/L2), kUnroll loads in flight per lane before any math so each warp keeps several KB of
// requests outstanding, f32 accumulation, a shuffle reduction, bias added in f32 and one bf16
// rounding (cuBLASLt's bias epilogue does the same). Needs K % 8 == 0 and 16-byte aligned x and w
// rows; CudaBackend falls back to cuBLASLt otherwise, and measures which is faster per shape.
#include "../common.cuh"

namespace vlm::cuda {

namespace {

constexpr int kWarpsPerBlock = 8;
constexpr int kUnroll = 4;

struct alignas(16) Pack8 {  // 8 bf16 as four 32-bit words
  uint32_t word[4];
};

__device__ __forceinline__ float dot8(const Pack8& a, const Pack8& b, float acc) {
  for (int i = 0; i < 4; ++i) {
    const float a_lo = __uint_as_float(a.word[i] << 16), a_hi = __uint_as_float(a.word[i] & 0xffff0000u);
    const float b_lo = __uint_as_float(b.word[i] << 16), b_hi = __uint_as_float(b.word[i] & 0xffff0000u);
    acc = fmaf(a_lo, b_lo, acc);
    acc = fmaf(a_hi, b_hi, acc);
  }
  return acc;
}

__global__ void __launch_bounds__(kWarpsPerBlock * 32)
    gemv_kernel(const bf16_bits* __restrict__ x, const bf16_bits* __restrict__ w,
                const bf16_bits* __restrict__ bias, bf16_bits* __restrict__ y, int64_t n, int64_t k) {
  const int lane = threadIdx.x % 32;
  const int64_t row = static_cast<int64_t>(blockIdx.x) * kWarpsPerBlock + threadIdx.x / 32;
  if (row >= n) return;  // the whole warp: every lane has the same row
  const Pack8* w_row = reinterpret_cast<const Pack8*>(w + row * k);
  const Pack8* x_packs = reinterpret_cast<const Pack8*>(x);
  const int64_t packs = k / 8;
  float acc = 0.0f;
  int64_t p = lane;
  for (; p + 32 * (kUnroll - 1) < packs; p += 32 * kUnroll) {
    Pack8 wv[kUnroll], xv[kUnroll];
    for (int u = 0; u < kUnroll; ++u) {
      wv[u] = w_row[p + 32 * u];
      xv[u] = x_packs[p + 32 * u];
    }
    for (int u = 0; u < kUnroll; ++u) acc = dot8(wv[u], xv[u], acc);
  }
  for (; p < packs; p += 32) acc = dot8(w_row[p], x_packs[p], acc);
  acc = warp_sum(acc);
  if (lane == 0) {
    if (bias != nullptr) acc += bf16_to_float(bias[row]);
    y[row] = float_to_bf16(acc);
  }
}

}  // namespace

void launch_gemv(const bf16_bits* x, const bf16_bits* w, const bf16_bits* bias, bf16_bits* y,
                 int64_t n, int64_t k, Stream stream) {
  const int64_t blocks = (n + kWarpsPerBlock - 1) / kWarpsPerBlock;
  gemv_kernel<<<static_cast<unsigned int>(blocks), kWarpsPerBlock * 32, 0, stream>>>(x, w, bias, y,
                                                                                    n, k);
}

}  // namespace vlm::cuda
