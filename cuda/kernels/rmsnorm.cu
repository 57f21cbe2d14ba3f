// RMSNorm (HF Qwen2RMSNorm order: f32 statistics, cast to bf16, then times the bf16 weight), with
// an optional fused residual add (h = x + residual, written back to residual) so a decoder layer
// reads its hidden state once for "add, then norm". One block per row.
// Sum order (common.cuh: rms_owns_packs): where dim % 8 == 0 thread t takes the 8-element packs
// t, t + blockDim, … (elements in order), else the elements t, t + blockDim, …; gemv.cu's rmsnorm
// prologue sums in the same order, so the fused one-row op gives this kernel's bits. Packs move as
// one 16-byte access where every pointer is 16-byte aligned (the ViT's rows are pure memory
// streams: ~84 MB per add + norm for a 16-frame 448×448 clip), else element by element.
#include "../common.cuh"

namespace vlm::cuda {

namespace {

constexpr int kBlock = 256;

// One pack of a row: h = x (+ residual, rounded, written back), its squares added to sum_sq in
// element order; h stays in `h` for the second pass.
__device__ __forceinline__ void load_pack(const bf16_bits* x, bf16_bits* residual, int64_t at,
                                          bool vec, Pack8& h, float& sum_sq) {
  Pack8 xs{}, rs{};
  if (vec) {
    xs = *reinterpret_cast<const Pack8*>(x + at);
    if (residual != nullptr) rs = *reinterpret_cast<const Pack8*>(residual + at);
  } else {
#pragma unroll
    for (int e = 0; e < 8; ++e) {
      pack_set(xs, e, x[at + e]);
      if (residual != nullptr) pack_set(rs, e, residual[at + e]);
    }
  }
#pragma unroll
  for (int e = 0; e < 8; ++e) {
    float value = bf16_to_float(pack_get(xs, e));
    if (residual != nullptr) value = round_bf16(value + bf16_to_float(pack_get(rs, e)));
    pack_set(h, e, float_to_bf16(value));
    sum_sq += value * value;
  }
  if (residual == nullptr) return;
  if (vec) {
    *reinterpret_cast<Pack8*>(residual + at) = h;
  } else {
#pragma unroll
    for (int e = 0; e < 8; ++e) residual[at + e] = pack_get(h, e);
  }
}

__global__ void rmsnorm_kernel(const bf16_bits* x, bf16_bits* residual, const bf16_bits* weight,
                               bf16_bits* y, int64_t dim, float eps) {
  __shared__ float shared[32];
  const int64_t row = blockIdx.x;
  const bf16_bits* x_row = x + row * dim;
  bf16_bits* res_row = residual != nullptr ? residual + row * dim : nullptr;
  bf16_bits* y_row = y + row * dim;
  float sum_sq = 0.0f;
  if (rms_owns_packs(dim)) {
    const bool vec = pack_aligned(x_row) && pack_aligned(res_row) && pack_aligned(weight) &&
                     pack_aligned(y_row);
    const int64_t packs = dim / 8;
    // At most one pack per thread is kept in registers between the passes (dim ≤ 8·blockDim);
    // beyond that the second pass reads h back (each thread only what it wrote itself).
    Pack8 first{};
    for (int64_t p = threadIdx.x; p < packs; p += blockDim.x) {
      Pack8 h{};
      load_pack(x_row, res_row, p * 8, vec, h, sum_sq);
      if (p == threadIdx.x) first = h;
    }
    const float inv_rms = rsqrtf(block_sum(sum_sq, shared) / static_cast<float>(dim) + eps);
    const bf16_bits* h_row = res_row != nullptr ? res_row : x_row;
    for (int64_t p = threadIdx.x; p < packs; p += blockDim.x) {
      Pack8 h = first, w{}, out{};
      if (p != threadIdx.x) {
        for (int e = 0; e < 8; ++e) pack_set(h, e, h_row[p * 8 + e]);
      }
      if (vec) {
        w = *reinterpret_cast<const Pack8*>(weight + p * 8);
      } else {
#pragma unroll
        for (int e = 0; e < 8; ++e) pack_set(w, e, weight[p * 8 + e]);
      }
#pragma unroll
      for (int e = 0; e < 8; ++e) {
        const float normed = round_bf16(bf16_to_float(pack_get(h, e)) * inv_rms);
        pack_set(out, e, float_to_bf16(normed * bf16_to_float(pack_get(w, e))));
      }
      if (vec) {
        *reinterpret_cast<Pack8*>(y_row + p * 8) = out;
      } else {
#pragma unroll
        for (int e = 0; e < 8; ++e) y_row[p * 8 + e] = pack_get(out, e);
      }
    }
    return;
  }
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
