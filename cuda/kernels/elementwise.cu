// Elementwise activations on bf16: silu(gate)·up (also from joined gate|up rows), exact (erf)
// GELU, add. Each intermediate is rounded to bf16 where PyTorch's bf16 module would round it
// (silu result, then the product), so parity with transformers in bf16 is as close as the math
// allows.
#include "../common.cuh"

namespace vlm::cuda {

namespace {

__global__ void silu_mul_kernel(const bf16_bits* gate, const bf16_bits* up, bf16_bits* y, int64_t n) {
  const int64_t stride = static_cast<int64_t>(gridDim.x) * blockDim.x;
  for (int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; i < n; i += stride) {
    y[i] = silu_mul_bf16(gate[i], up[i]);
  }
}

// gate_up [rows, 2·width]: each row's halves are gate and up; y [rows, width].
__global__ void silu_mul_joined_kernel(const bf16_bits* gate_up, bf16_bits* y, int64_t rows,
                                       int64_t width) {
  const int64_t n = rows * width;
  const int64_t stride = static_cast<int64_t>(gridDim.x) * blockDim.x;
  for (int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; i < n; i += stride) {
    const int64_t row = i / width, j = i % width;
    const bf16_bits* joined = gate_up + row * 2 * width;
    y[i] = silu_mul_bf16(joined[j], joined[width + j]);
  }
}

__global__ void gelu_kernel(const bf16_bits* x, bf16_bits* y, int64_t n) {
  const int64_t stride = static_cast<int64_t>(gridDim.x) * blockDim.x;
  for (int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; i < n; i += stride) {
    const float v = bf16_to_float(x[i]);
    y[i] = float_to_bf16(0.5f * v * (1.0f + erff(v * 0.70710678118654752f)));
  }
}

__global__ void add_kernel(const bf16_bits* a, const bf16_bits* b, bf16_bits* y, int64_t n) {
  const int64_t stride = static_cast<int64_t>(gridDim.x) * blockDim.x;
  for (int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; i < n; i += stride) {
    y[i] = float_to_bf16(bf16_to_float(a[i]) + bf16_to_float(b[i]));
  }
}

constexpr int kBlock = 256;

}  // namespace

void launch_silu_mul(const bf16_bits* gate, const bf16_bits* up, bf16_bits* y, int64_t n,
                     Stream stream) {
  silu_mul_kernel<<<grid_for(n, kBlock), kBlock, 0, stream>>>(gate, up, y, n);
}

void launch_silu_mul_joined(const bf16_bits* gate_up, bf16_bits* y, int64_t rows, int64_t width,
                            Stream stream) {
  silu_mul_joined_kernel<<<grid_for(rows * width, kBlock), kBlock, 0, stream>>>(gate_up, y, rows, width);
}

void launch_gelu(const bf16_bits* x, bf16_bits* y, int64_t n, Stream stream) {
  gelu_kernel<<<grid_for(n, kBlock), kBlock, 0, stream>>>(x, y, n);
}

void launch_add(const bf16_bits* a, const bf16_bits* b, bf16_bits* y, int64_t n, Stream stream) {
  add_kernel<<<grid_for(n, kBlock), kBlock, 0, stream>>>(a, b, y, n);
}

}  // namespace vlm::cuda
