// Elementwise activations on bf16: silu(gate)·up (also from joined gate|up rows), exact (erf)
// GELU, add. Each intermediate is rounded to bf16 where PyTorch's bf16 module would round it
// (silu result, then the product), so parity with transformers in bf16 is as close as the math
// allows.
// These are pure memory streams (the ViT's gate|up rows alone are ~112 MB per block for a
// 16-frame 448×448 clip), so where every pointer is 16-byte aligned and the lengths are multiples
// of 8, each thread moves 8 elements per access (Pack8), which keeps far more bytes in flight
// than 2-byte accesses; otherwise element by element. Both paths compute each element the same
// way: the results are identical.
#include "../common.cuh"

namespace vlm::cuda {

namespace {

constexpr int kBlock = 256;

struct SiluMul {
  __device__ bf16_bits operator()(bf16_bits gate, bf16_bits up) const { return silu_mul_bf16(gate, up); }
};
struct Add {
  __device__ bf16_bits operator()(bf16_bits a, bf16_bits b) const {
    return float_to_bf16(bf16_to_float(a) + bf16_to_float(b));
  }
};
struct Gelu {  // unary: the second operand is the first again
  __device__ bf16_bits operator()(bf16_bits x, bf16_bits) const {
    const float v = bf16_to_float(x);
    return float_to_bf16(0.5f * v * (1.0f + erff(v * 0.70710678118654752f)));
  }
};

__device__ __forceinline__ int64_t first_index() {
  return static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
}
__device__ __forceinline__ int64_t grid_stride() {
  return static_cast<int64_t>(gridDim.x) * blockDim.x;
}

template <typename Op>
__device__ __forceinline__ Pack8 apply(const Pack8& a, const Pack8& b, Op op) {
  Pack8 out;
#pragma unroll
  for (int e = 0; e < 8; ++e) pack_set(out, e, op(pack_get(a, e), pack_get(b, e)));
  return out;
}

// y[i] = op(a[i], b[i]), i < n.
template <typename Op>
__global__ void binary_kernel(const bf16_bits* a, const bf16_bits* b, bf16_bits* y, int64_t n, Op op) {
  for (int64_t i = first_index(); i < n; i += grid_stride()) y[i] = op(a[i], b[i]);
}
template <typename Op>
__global__ void binary_packs_kernel(const Pack8* a, const Pack8* b, Pack8* y, int64_t packs, Op op) {
  for (int64_t q = first_index(); q < packs; q += grid_stride()) y[q] = apply(a[q], b[q], op);
}

// gate_up [rows, 2·width]: each row's halves are gate and up; y [rows, width].
__global__ void silu_mul_joined_kernel(const bf16_bits* gate_up, bf16_bits* y, int64_t rows,
                                       int64_t width) {
  const int64_t n = rows * width;
  for (int64_t i = first_index(); i < n; i += grid_stride()) {
    const int64_t row = i / width, j = i % width;
    const bf16_bits* joined = gate_up + row * 2 * width;
    y[i] = silu_mul_bf16(joined[j], joined[width + j]);
  }
}
// The same in packs: width_packs = width / 8 per row.
__global__ void silu_mul_joined_packs_kernel(const Pack8* gate_up, Pack8* y, int64_t rows,
                                             int64_t width_packs) {
  const int64_t packs = rows * width_packs;
  for (int64_t q = first_index(); q < packs; q += grid_stride()) {
    const int64_t row = q / width_packs, j = q % width_packs;
    const Pack8* joined = gate_up + row * 2 * width_packs;
    y[q] = apply(joined[j], joined[width_packs + j], SiluMul{});
  }
}

template <typename Op>
void launch_binary(const bf16_bits* a, const bf16_bits* b, bf16_bits* y, int64_t n, Stream stream) {
  if (n % 8 == 0 && pack_aligned(a) && pack_aligned(b) && pack_aligned(y)) {
    const int64_t packs = n / 8;
    binary_packs_kernel<Op><<<grid_for(packs, kBlock), kBlock, 0, stream>>>(
        reinterpret_cast<const Pack8*>(a), reinterpret_cast<const Pack8*>(b),
        reinterpret_cast<Pack8*>(y), packs, Op{});
  } else {
    binary_kernel<Op><<<grid_for(n, kBlock), kBlock, 0, stream>>>(a, b, y, n, Op{});
  }
}

}  // namespace

void launch_silu_mul(const bf16_bits* gate, const bf16_bits* up, bf16_bits* y, int64_t n,
                     Stream stream) {
  launch_binary<SiluMul>(gate, up, y, n, stream);
}

void launch_silu_mul_joined(const bf16_bits* gate_up, bf16_bits* y, int64_t rows, int64_t width,
                            Stream stream) {
  if (width % 8 == 0 && pack_aligned(gate_up) && pack_aligned(y)) {
    const int64_t width_packs = width / 8;
    silu_mul_joined_packs_kernel<<<grid_for(rows * width_packs, kBlock), kBlock, 0, stream>>>(
        reinterpret_cast<const Pack8*>(gate_up), reinterpret_cast<Pack8*>(y), rows, width_packs);
  } else {
    silu_mul_joined_kernel<<<grid_for(rows * width, kBlock), kBlock, 0, stream>>>(gate_up, y, rows, width);
  }
}

void launch_gelu(const bf16_bits* x, bf16_bits* y, int64_t n, Stream stream) {
  launch_binary<Gelu>(x, x, y, n, stream);
}

void launch_add(const bf16_bits* a, const bf16_bits* b, bf16_bits* y, int64_t n, Stream stream) {
  launch_binary<Add>(a, b, y, n, stream);
}

}  // namespace vlm::cuda
