// Rotate-half RoPE in place on x[rows, heads, head_dim] with per-row f32 cos/sin tables (the
// tables already hold 2D vision or MRoPE angles, built on the host). One thread per rotated pair.
#include "../common.cuh"

namespace vlm::cuda {

namespace {

__global__ void rope_kernel(bf16_bits* x, const float* cos, const float* sin, int64_t rows,
                            int heads, int head_dim) {
  const int half = head_dim / 2;
  const int64_t pairs = rows * heads * half;
  const int64_t stride = static_cast<int64_t>(gridDim.x) * blockDim.x;
  for (int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; i < pairs;
       i += stride) {
    const int p = static_cast<int>(i % half);
    const int64_t row_head = i / half;
    const int64_t row = row_head / heads;
    bf16_bits* vec = x + row_head * head_dim;
    const float* c = cos + row * head_dim;
    const float* s = sin + row * head_dim;
    const float lo = bf16_to_float(vec[p]);
    const float hi = bf16_to_float(vec[p + half]);
    vec[p] = float_to_bf16(lo * c[p] - hi * s[p]);
    vec[p + half] = float_to_bf16(hi * c[p + half] + lo * s[p + half]);
  }
}

}  // namespace

void launch_rope(bf16_bits* x, const float* cos, const float* sin, int64_t rows, int heads,
                 int head_dim, Stream stream) {
  constexpr int kBlock = 256;
  const int64_t pairs = rows * heads * (head_dim / 2);
  rope_kernel<<<grid_for(pairs, kBlock), kBlock, 0, stream>>>(x, cos, sin, rows, heads, head_dim);
}

}  // namespace vlm::cuda
