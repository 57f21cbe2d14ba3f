// Greedy decoding's argmax over logits rows: one block per row, first index wins ties (as the
// CPU backend and torch.argmax). NaN never wins over a number.
#include "../common.cuh"

namespace vlm::cuda {

namespace {

constexpr int kBlock = 512;

// (value, index) order: larger value first, then the smaller index.
__device__ __forceinline__ bool better(float value, int32_t index, float best_value,
                                       int32_t best_index) {
  if (value > best_value) return true;
  return value == best_value && index < best_index;
}

__global__ void argmax_kernel(const void* x, ElemType type, int64_t cols, int32_t* out) {
  __shared__ float shared_value[kBlock / 32];
  __shared__ int32_t shared_index[kBlock / 32];
  const int64_t row = blockIdx.x;
  float best_value = -INFINITY;
  int32_t best_index = INT32_MAX;
  for (int64_t c = threadIdx.x; c < cols; c += blockDim.x) {
    const float value = load_as_float(x, type, row * cols + c);
    if (better(value, static_cast<int32_t>(c), best_value, best_index)) {
      best_value = value;
      best_index = static_cast<int32_t>(c);
    }
  }
  for (int offset = 16; offset > 0; offset >>= 1) {
    const float other_value = __shfl_xor_sync(0xffffffffu, best_value, offset);
    const int32_t other_index = __shfl_xor_sync(0xffffffffu, best_index, offset);
    if (better(other_value, other_index, best_value, best_index)) {
      best_value = other_value;
      best_index = other_index;
    }
  }
  const int warp = threadIdx.x / 32, lane = threadIdx.x % 32;
  if (lane == 0) {
    shared_value[warp] = best_value;
    shared_index[warp] = best_index;
  }
  __syncthreads();
  if (threadIdx.x == 0) {
    for (int w = 1; w < kBlock / 32; ++w) {
      if (better(shared_value[w], shared_index[w], best_value, best_index)) {
        best_value = shared_value[w];
        best_index = shared_index[w];
      }
    }
    // A row of NaN/-inf only: index 0, like a scan that never finds a larger value.
    out[row] = best_index == INT32_MAX ? 0 : best_index;
  }
}

}  // namespace

void launch_argmax(const void* x, ElemType type, int64_t rows, int64_t cols, int32_t* out,
                   Stream stream) {
  argmax_kernel<<<static_cast<unsigned int>(rows), kBlock, 0, stream>>>(x, type, cols, out);
}

}  // namespace vlm::cuda
