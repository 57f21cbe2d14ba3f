// RMSNorm (HF Qwen2RMSNorm order: f32 statistics, cast to bf16, then times the bf16 weight), with
// an optional fused residual add (h = x + residual, written back to residual) so a decoder layer
// reads its hidden state once for "add, then norm". One block per row.
#include "../common.cuh"

namespace vlm::cuda {

namespace {

constexpr int kBlock = 256;

__global__ void rmsnorm_kernel(const bf16_bits* x, bf16_bits* residual, const bf16_bits* weight,
                               bf16_bits* y, int64_t dim, float eps) {
  __shared__ float shared[32];
  const int64_t row = blockIdx.x;
  const bf16_bits* x_row = x + row * dim;
  bf16_bits* res_row = residual != nullptr ? residual + row * dim : nullptr;
  float sum_sq = 0.0f;
  for (int64_t i = threadIdx.x; i < dim; i += blockDim.x) {
    float h = bf16_to_float(x_row[i]);
    if (res_row != nullptr) {
      h = round_bf16(h + bf16_to_float(res_row[i]));
      res_row[i] = float_to_bf16(h);
    }
    sum_sq += h * h;
  }
  const float inv_rms = rsqrtf(block_sum(sum_sq, shared) / static_cast<float>(dim) + eps);
  // Reads again (x or the updated residual): each thread reads back only what it wrote itself.
  const bf16_bits* h_row = res_row != nullptr ? res_row : x_row;
  bf16_bits* y_row = y + row * dim;
  for (int64_t i = threadIdx.x; i < dim; i += blockDim.x) {
    const float normed = round_bf16(bf16_to_float(h_row[i]) * inv_rms);
    y_row[i] = float_to_bf16(normed * bf16_to_float(weight[i]));
  }
}

}  // namespace

void launch_rmsnorm(const bf16_bits* x, bf16_bits* residual, const bf16_bits* weight, bf16_bits* y,
                    int64_t rows, int64_t dim, float eps, Stream stream) {
  rmsnorm_kernel<<<static_cast<unsigned int>(rows), kBlock, 0, stream>>>(x, residual, weight, y,
                                                                        dim, eps);
}

}  // namespace vlm::cuda
