// Row movement: embedding gather (any float table dtype -> bf16 activations) and gather_rows
// (byte copy of whole rows by an index list, used for the ViT's window order and its inverse).
#include "../common.cuh"

namespace vlm::cuda {

namespace {

__global__ void embedding_kernel(const void* table, ElemType table_type, const int32_t* ids,
                                 int64_t dim, bf16_bits* y) {
  const int64_t row = blockIdx.x;
  const int64_t src_row = ids[row];
  for (int64_t c = threadIdx.x; c < dim; c += blockDim.x) {
    y[row * dim + c] = float_to_bf16(load_as_float(table, table_type, src_row * dim + c));
  }
}

// Copies 4-byte words when row_bytes allows (it does for every bf16/f32 row of even length),
// bytes otherwise.
template <typename Word>
__global__ void gather_rows_kernel(const Word* x, const int32_t* index, int64_t row_words, Word* y) {
  const int64_t row = blockIdx.x;
  const Word* src = x + static_cast<int64_t>(index[row]) * row_words;
  Word* dst = y + row * row_words;
  for (int64_t c = threadIdx.x; c < row_words; c += blockDim.x) dst[c] = src[c];
}

constexpr int kBlock = 256;

}  // namespace

void launch_embedding(const void* table, ElemType table_type, const int32_t* ids, int64_t n,
                      int64_t dim, bf16_bits* y, Stream stream) {
  embedding_kernel<<<static_cast<unsigned int>(n), kBlock, 0, stream>>>(table, table_type, ids, dim, y);
}

void launch_gather_rows(const void* x, const int32_t* index, int64_t n, int64_t row_bytes, void* y,
                        Stream stream) {
  const bool words = row_bytes % 4 == 0 && reinterpret_cast<uintptr_t>(x) % 4 == 0 &&
                     reinterpret_cast<uintptr_t>(y) % 4 == 0;
  if (words) {
    gather_rows_kernel<uint32_t><<<static_cast<unsigned int>(n), kBlock, 0, stream>>>(
        static_cast<const uint32_t*>(x), index, row_bytes / 4, static_cast<uint32_t*>(y));
  } else {
    gather_rows_kernel<uint8_t><<<static_cast<unsigned int>(n), kBlock, 0, stream>>>(
        static_cast<const uint8_t*>(x), index, row_bytes, static_cast<uint8_t*>(y));
  }
}

}  // namespace vlm::cuda
