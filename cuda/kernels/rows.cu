// Row movement: embedding gather (any float table dtype -> bf16 activations) and gather_rows
// (byte copy of whole rows by an index list, used for the ViT's window order and its inverse), and
// copy_rows_at (rows appended at a position read on the device: the recorded decode step's KV
// cache append).
#include <algorithm>

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

// dst rows [*row_at, *row_at + n) = src rows, row_words each; nothing is written when they would
// leave dst (the host checked the position before writing it; this keeps a bad one harmless).
template <typename Word>
__global__ void copy_rows_at_kernel(const Word* src, int64_t row_words, int64_t n, Word* dst,
                                    int64_t dst_rows, const int32_t* row_at) {
  const int64_t row0 = *row_at;
  if (row0 < 0 || row0 + n > dst_rows) return;
  const int64_t total = n * row_words;
  for (int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; i < total;
       i += static_cast<int64_t>(gridDim.x) * blockDim.x) {
    dst[row0 * row_words + i] = src[i];
  }
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

void launch_copy_rows_at(const void* src, int64_t n, int64_t row_bytes, void* dst,
                         int64_t dst_rows, const int32_t* row_at, Stream stream) {
  const bool words = row_bytes % 4 == 0 && reinterpret_cast<uintptr_t>(src) % 4 == 0 &&
                     reinterpret_cast<uintptr_t>(dst) % 4 == 0;
  const int64_t units = words ? n * row_bytes / 4 : n * row_bytes;
  const unsigned int blocks = static_cast<unsigned int>(std::min<int64_t>((units + kBlock - 1) / kBlock, 1024));
  if (words) {
    copy_rows_at_kernel<uint32_t><<<blocks, kBlock, 0, stream>>>(
        static_cast<const uint32_t*>(src), row_bytes / 4, n, static_cast<uint32_t*>(dst), dst_rows, row_at);
  } else {
    copy_rows_at_kernel<uint8_t><<<blocks, kBlock, 0, stream>>>(
        static_cast<const uint8_t*>(src), row_bytes, n, static_cast<uint8_t*>(dst), dst_rows, row_at);
  }
}

}  // namespace vlm::cuda
