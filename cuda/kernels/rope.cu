// Rotate-half RoPE in place on x[rows, heads, head_dim] with per-row f32 cos/sin tables (the
// tables already hold 2D vision or MRoPE angles, built on the host). One thread per rotated pair.
// rope_append_at: the same rotation on one token's joined q|k|v row, with the rotated k heads and
// the v heads stored into the KV cache at a position read on the device (a recorded decode step's
// rope + cache append in one kernel). rope_append_rows: the prefill's version, rows of a joined
// q|k|v GEMM output: rotated q heads to their own tensor, k and v to the cache (one kernel for
// two ropes and two copies).
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
    rotate_pair(bf16_to_float(vec[p]), bf16_to_float(vec[p + half]), c[p], s[p], c[p + half],
                s[p + half], vec[p], vec[p + half]);
  }
}

// Rows of joined q|k|v, qkv [rows, (heads + 2·kv_heads)·head_dim] (not changed): per row,
// (heads + kv_heads)·half threads rotate a q pair into q_out [rows, heads, head_dim] or a k pair
// into k_cache, and kv_heads·head_dim threads copy v elements into v_cache; cache rows
// [row0, row0 + rows) of [capacity, kv_heads, head_dim].
__global__ void rope_append_rows_kernel(const bf16_bits* qkv, const float* cos, const float* sin,
                                        int64_t rows, int heads, int kv_heads, int head_dim,
                                        bf16_bits* q_out, bf16_bits* k_cache, bf16_bits* v_cache,
                                        int64_t row0) {
  const int half = head_dim / 2;
  const int64_t rotations = static_cast<int64_t>(heads + kv_heads) * half;
  const int64_t kv_row = static_cast<int64_t>(kv_heads) * head_dim;
  const int64_t per_row = rotations + kv_row;
  const int64_t joined_row = static_cast<int64_t>(heads + 2 * kv_heads) * head_dim;
  const int64_t total = rows * per_row;
  const int64_t stride = static_cast<int64_t>(gridDim.x) * blockDim.x;
  for (int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; i < total;
       i += stride) {
    const int64_t row = i / per_row, j = i % per_row;
    const bf16_bits* in = qkv + row * joined_row;
    if (j < rotations) {
      const int p = static_cast<int>(j % half);
      const int head = static_cast<int>(j / half);
      const bf16_bits* vec = in + static_cast<int64_t>(head) * head_dim;
      bf16_bits* out = head < heads
                           ? q_out + (row * heads + head) * head_dim
                           : k_cache + (row0 + row) * kv_row + static_cast<int64_t>(head - heads) * head_dim;
      const float* c = cos + row * head_dim;
      const float* s = sin + row * head_dim;
      rotate_pair(bf16_to_float(vec[p]), bf16_to_float(vec[p + half]), c[p], s[p], c[p + half],
                  s[p + half], out[p], out[p + half]);
    } else {
      const int64_t e = j - rotations;
      v_cache[(row0 + row) * kv_row + e] = in[static_cast<int64_t>(heads + kv_heads) * head_dim + e];
    }
  }
}

// qkv [(heads + 2·kv_heads)·head_dim]: threads [0, (heads + kv_heads)·half) rotate a pair (and
// store it for a k head), the rest copy v elements; caches [capacity, kv_heads, head_dim].
__global__ void rope_append_kernel(bf16_bits* qkv, const float* cos, const float* sin, int heads,
                                   int kv_heads, int head_dim, bf16_bits* k_cache,
                                   bf16_bits* v_cache, int64_t capacity, const int32_t* n_past_at) {
  const int64_t row = *n_past_at;
  const bool store = row >= 0 && row < capacity;
  const int half = head_dim / 2;
  const int64_t rotations = static_cast<int64_t>(heads + kv_heads) * half;
  const int64_t kv_row = static_cast<int64_t>(kv_heads) * head_dim;
  const int64_t total = rotations + kv_row;
  const int64_t stride = static_cast<int64_t>(gridDim.x) * blockDim.x;
  for (int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; i < total;
       i += stride) {
    if (i < rotations) {
      const int p = static_cast<int>(i % half);
      const int head = static_cast<int>(i / half);
      bf16_bits* vec = qkv + static_cast<int64_t>(head) * head_dim;
      bf16_bits new_lo, new_hi;
      rotate_pair(bf16_to_float(vec[p]), bf16_to_float(vec[p + half]), cos[p], sin[p], cos[p + half],
                  sin[p + half], new_lo, new_hi);
      vec[p] = new_lo;
      vec[p + half] = new_hi;
      if (head >= heads && store) {
        bf16_bits* k = k_cache + row * kv_row + static_cast<int64_t>(head - heads) * head_dim;
        k[p] = new_lo;
        k[p + half] = new_hi;
      }
    } else if (store) {
      const int64_t j = i - rotations;
      v_cache[row * kv_row + j] = qkv[static_cast<int64_t>(heads + kv_heads) * head_dim + j];
    }
  }
}

}  // namespace

void launch_rope_append(bf16_bits* qkv, const float* cos, const float* sin, int heads, int kv_heads,
                        int head_dim, bf16_bits* k_cache, bf16_bits* v_cache, int64_t capacity,
                        const int32_t* n_past_at, Stream stream) {
  constexpr int kBlock = 256;
  const int64_t work = static_cast<int64_t>(heads + kv_heads) * (head_dim / 2) +
                       static_cast<int64_t>(kv_heads) * head_dim;
  rope_append_kernel<<<grid_for(work, kBlock), kBlock, 0, stream>>>(
      qkv, cos, sin, heads, kv_heads, head_dim, k_cache, v_cache, capacity, n_past_at);
}

void launch_rope_append_rows(const bf16_bits* qkv, const float* cos, const float* sin, int64_t rows,
                             int heads, int kv_heads, int head_dim, bf16_bits* q_out,
                             bf16_bits* k_cache, bf16_bits* v_cache, int64_t row0, Stream stream) {
  constexpr int kBlock = 256;
  const int64_t work = rows * (static_cast<int64_t>(heads + kv_heads) * (head_dim / 2) +
                               static_cast<int64_t>(kv_heads) * head_dim);
  rope_append_rows_kernel<<<grid_for(work, kBlock), kBlock, 0, stream>>>(
      qkv, cos, sin, rows, heads, kv_heads, head_dim, q_out, k_cache, v_cache, row0);
}

void launch_rope(bf16_bits* x, const float* cos, const float* sin, int64_t rows, int heads,
                 int head_dim, Stream stream) {
  constexpr int kBlock = 256;
  const int64_t pairs = rows * heads * (head_dim / 2);
  rope_kernel<<<grid_for(pairs, kBlock), kBlock, 0, stream>>>(x, cos, sin, rows, heads, head_dim);
}

}  // namespace vlm::cuda
