// Greedy decoding's argmax over logits rows: one block per row, first index wins ties (as the
// CPU backend and torch.argmax). NaN never wins over a number.
#include "../common.cuh"

namespace vlm::cuda {

namespace {

constexpr int kBlock = 512;

__global__ void argmax_kernel(const void* x, ElemType type, int64_t cols, int32_t* out) {
  __shared__ float shared_value[kBlock / 32];
  __shared__ int32_t shared_index[kBlock / 32];
  const int64_t row = blockIdx.x;
  float best_value = -INFINITY;
  int32_t best_index = INT32_MAX;
  for (int64_t c = threadIdx.x; c < cols; c += blockDim.x) {
    const float value = load_as_float(x, type, row * cols + c);
    if (argmax_better(value, static_cast<int32_t>(c), best_value, best_index)) {
      best_value = value;
      best_index = static_cast<int32_t>(c);
    }
  }
  block_argmax_to_thread0(best_value, best_index, shared_value, shared_index);
  if (threadIdx.x == 0) {
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
