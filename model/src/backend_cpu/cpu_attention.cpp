// Attention ops of the CPU backend, flash style: for a block of query rows, keys and values are
// visited in blocks of kKeyBlock rows with an online (running max, running sum) softmax, so no
// [n, n] score matrix is ever built — full-attention ViT segments reach ~10k rows. Scores and the
// P·V products go through single-threaded sgemm on strided views of q/k/v; all accumulation in f32.
// - attention_varlen: tasks are (segment, head, block of kQueryBlock query rows).
// - attention_causal: tasks are (kv head, block of queries); the query heads sharing a kv head
//   (GQA) are packed as rows of one block so each key/value block is read once for all of them.
//   When there are fewer such tasks than threads (decode), the keys are also split into chunks
//   whose partial softmax states are merged afterwards (flash-decoding).
#include <cblas.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <vector>

#include "backend_cpu/backend_cpu.h"
#include "backend_cpu/cpu_simd.h"

namespace vlm {
namespace {

constexpr int64_t kQueryBlock = 64;   // query rows per task
constexpr int64_t kKeyBlock = 256;    // keys per online-softmax step
constexpr int64_t kMinKeysPerChunk = 256;
constexpr float kNegInf = -std::numeric_limits<float>::infinity();

// Running softmax state of R query rows: o [R, head_dim] (unnormalised), max m [R], sum l [R].
struct SoftmaxState {
  float* o;
  float* m;
  float* l;
};

void reset_state(const SoftmaxState& state, int64_t rows, int64_t head_dim) {
  std::fill(state.o, state.o + rows * head_dim, 0.0f);
  std::fill(state.m, state.m + rows, kNegInf);
  std::fill(state.l, state.l + rows, 0.0f);
}

// Folds keys [0, n_keys) of k/v (row stride ld_kv) into the state of R query rows q (row stride
// ld_q). key_limit (may be null) restricts row r to keys j < key_limit[r]. scores holds
// R * kKeyBlock floats.
void attend(const float* q, int64_t ld_q, int64_t rows, int64_t head_dim, const float* k,
            const float* v, int64_t ld_kv, int64_t n_keys, const int64_t* key_limit, float scale,
            float* scores, const SoftmaxState& state) {
  for (int64_t kb = 0; kb < n_keys; kb += kKeyBlock) {
    const int64_t nk = std::min(kKeyBlock, n_keys - kb);
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, static_cast<int>(rows),
                static_cast<int>(nk), static_cast<int>(head_dim), scale, q, static_cast<int>(ld_q),
                k + kb * ld_kv, static_cast<int>(ld_kv), 0.0f, scores, static_cast<int>(nk));
    for (int64_t r = 0; r < rows; ++r) {
      float* row = scores + r * nk;
      const int64_t valid = key_limit ? std::clamp<int64_t>(key_limit[r] - kb, 0, nk) : nk;
      if (valid == 0) {
        std::fill(row, row + nk, 0.0f);
        continue;
      }
      const float m_new = std::max(state.m[r], cpu::row_max(row, valid));
      const float correction = std::exp(state.m[r] - m_new);  // 0 while m is still -inf
      const float sum = cpu::exp_shift_sum(row, valid, m_new);
      std::fill(row + valid, row + nk, 0.0f);
      state.l[r] = state.l[r] * correction + sum;
      state.m[r] = m_new;
      if (correction != 1.0f) {
        float* o_row = state.o + r * head_dim;
        for (int64_t d = 0; d < head_dim; ++d) o_row[d] *= correction;
      }
    }
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, static_cast<int>(rows),
                static_cast<int>(head_dim), static_cast<int>(nk), 1.0f, scores,
                static_cast<int>(nk), v + kb * ld_kv, static_cast<int>(ld_kv), 1.0f, state.o,
                static_cast<int>(head_dim));
  }
}

}  // namespace

void CpuBackend::attention_varlen(const Tensor& q, const Tensor& k, const Tensor& v,
                                  std::span<const int32_t> cu_seqlens, float scale, Tensor& out) {
  const AttentionShape shape = check_attention_varlen_args(q, k, v, cu_seqlens, out, kCpuDTypes);
  const int64_t heads = shape.heads, head_dim = shape.head_dim;
  // Query blocks: (first row, end row, segment end); the segment start is found from cu_seqlens.
  struct Block {
    int64_t row0, row1, seg0, seg1;
  };
  std::vector<Block> blocks;
  for (size_t s = 0; s + 1 < cu_seqlens.size(); ++s) {
    const int64_t seg0 = cu_seqlens[s], seg1 = cu_seqlens[s + 1];
    for (int64_t r = seg0; r < seg1; r += kQueryBlock) {
      blocks.push_back({r, std::min(seg1, r + kQueryBlock), seg0, seg1});
    }
  }
  if (blocks.empty() || head_dim == 0) return;
  const int64_t ld = heads * head_dim;
  const float* qs = q.data_as<const float>();
  const float* ks = k.data_as<const float>();
  const float* vs = v.data_as<const float>();
  float* os = out.data_as<float>();
  hold_blas_single_threaded();
  pool_.parallel_for(static_cast<int64_t>(blocks.size()) * heads, [&](int64_t task, int thread) {
    const Block& block = blocks[static_cast<size_t>(task / heads)];
    const int64_t h = task % heads;
    const int64_t rows = block.row1 - block.row0;
    float* buffer = scratch(thread, static_cast<size_t>(kQueryBlock * (kKeyBlock + head_dim + 2)));
    SoftmaxState state{buffer + kQueryBlock * kKeyBlock, nullptr, nullptr};
    state.m = state.o + kQueryBlock * head_dim;
    state.l = state.m + kQueryBlock;
    reset_state(state, rows, head_dim);
    attend(qs + block.row0 * ld + h * head_dim, ld, rows, head_dim, ks + block.seg0 * ld + h * head_dim,
           vs + block.seg0 * ld + h * head_dim, ld, block.seg1 - block.seg0, nullptr, scale, buffer,
           state);
    for (int64_t r = 0; r < rows; ++r) {
      const float inv = 1.0f / state.l[r];
      float* dst = os + (block.row0 + r) * ld + h * head_dim;
      const float* src = state.o + r * head_dim;
      for (int64_t d = 0; d < head_dim; ++d) dst[d] = src[d] * inv;
    }
  });
}

void CpuBackend::attention_causal(const Tensor& q, const Tensor& k_cache, const Tensor& v_cache,
                                  int64_t n_past, float scale, Tensor& out) {
  const CausalAttentionShape shape =
      check_attention_causal_args(q, k_cache, v_cache, n_past, out, kCpuDTypes);
  const int64_t n_new = shape.n_new, heads = shape.heads, kv_heads = shape.kv_heads,
                head_dim = shape.head_dim;
  if (n_new == 0 || head_dim == 0) return;
  const int64_t group = heads / kv_heads;
  const int64_t queries_per_block = std::max<int64_t>(1, kQueryBlock / group);
  const int64_t q_blocks = (n_new + queries_per_block - 1) / queries_per_block;
  const int64_t max_rows = queries_per_block * group;
  // Key chunks: only when (kv head, query block) tasks cannot occupy the pool.
  const int64_t threads = pool_.size();
  int64_t chunks = 1;
  if (kv_heads * q_blocks < threads * 2) {
    chunks = std::max<int64_t>(1, (threads * 2 + kv_heads * q_blocks - 1) / (kv_heads * q_blocks));
    chunks = std::min(chunks, std::max<int64_t>(1, (n_past + n_new) / kMinKeysPerChunk));
  }
  const int64_t chunk_keys = (n_past + n_new + chunks - 1) / chunks;
  const int64_t ld_q = heads * head_dim, ld_kv = kv_heads * head_dim;
  const float* qs = q.data_as<const float>();
  const float* ks = k_cache.data_as<const float>();
  const float* vs = v_cache.data_as<const float>();
  float* os = out.data_as<float>();
  // Partial states per (kv head, query block, chunk): o, m, l of max_rows rows.
  const int64_t state_floats = max_rows * (head_dim + 2);
  std::vector<float> partials(static_cast<size_t>(chunks > 1 ? kv_heads * q_blocks * chunks * state_floats : 0));
  auto partial_state = [&](int64_t task) {
    float* base = partials.data() + task * state_floats;
    return SoftmaxState{base, base + max_rows * head_dim, base + max_rows * (head_dim + 1)};
  };
  // Row r of a block is query i0 + r / group, head g * group + r % group.
  auto write_output = [&](int64_t g, int64_t i0, int64_t rows, const SoftmaxState& state) {
    for (int64_t r = 0; r < rows; ++r) {
      const float inv = 1.0f / state.l[r];
      float* dst = os + (i0 + r / group) * ld_q + (g * group + r % group) * head_dim;
      const float* src = state.o + r * head_dim;
      for (int64_t d = 0; d < head_dim; ++d) dst[d] = src[d] * inv;
    }
  };

  hold_blas_single_threaded();
  pool_.parallel_for(kv_heads * q_blocks * chunks, [&](int64_t task, int thread) {
    const int64_t chunk = task % chunks;
    const int64_t qb = (task / chunks) % q_blocks;
    const int64_t g = task / (chunks * q_blocks);
    const int64_t i0 = qb * queries_per_block;
    const int64_t i1 = std::min(n_new, i0 + queries_per_block);
    const int64_t rows = (i1 - i0) * group;
    float* buffer = scratch(thread, static_cast<size_t>(max_rows * (kKeyBlock + 2 * head_dim + 2) + max_rows));
    float* scores = buffer;
    float* packed_q = scores + max_rows * kKeyBlock;
    SoftmaxState state = chunks > 1 ? partial_state(task)
                                    : SoftmaxState{packed_q + max_rows * head_dim, nullptr, nullptr};
    if (chunks == 1) {
      state.m = state.o + max_rows * head_dim;
      state.l = state.m + max_rows;
    }
    reset_state(state, rows, head_dim);
    const int64_t key0 = chunk * chunk_keys;
    const int64_t key_end = std::min(n_past + i1, key0 + chunk_keys);
    if (key_end > key0) {
      std::vector<int64_t> limits(static_cast<size_t>(rows));
      for (int64_t r = 0; r < rows; ++r) {
        const int64_t i = i0 + r / group;
        std::copy_n(qs + i * ld_q + (g * group + r % group) * head_dim, head_dim,
                    packed_q + r * head_dim);
        limits[static_cast<size_t>(r)] = n_past + i + 1 - key0;
      }
      attend(packed_q, head_dim, rows, head_dim, ks + key0 * ld_kv + g * head_dim,
             vs + key0 * ld_kv + g * head_dim, ld_kv, key_end - key0, limits.data(), scale, scores,
             state);
    }
    if (chunks == 1) write_output(g, i0, rows, state);
  });
  if (chunks == 1) return;

  // Merge the chunks of each (kv head, query block): rescale every partial to the common max.
  pool_.parallel_for(kv_heads * q_blocks, [&](int64_t block, int thread) {
    const int64_t qb = block % q_blocks;
    const int64_t g = block / q_blocks;
    const int64_t i0 = qb * queries_per_block;
    const int64_t rows = (std::min(n_new, i0 + queries_per_block) - i0) * group;
    float* buffer = scratch(thread, static_cast<size_t>(max_rows * (head_dim + 2)));
    SoftmaxState merged{buffer, buffer + max_rows * head_dim, buffer + max_rows * (head_dim + 1)};
    reset_state(merged, rows, head_dim);
    for (int64_t r = 0; r < rows; ++r) {
      for (int64_t c = 0; c < chunks; ++c) merged.m[r] = std::max(merged.m[r], partial_state(block * chunks + c).m[r]);
      for (int64_t c = 0; c < chunks; ++c) {
        const SoftmaxState part = partial_state(block * chunks + c);
        if (part.l[r] == 0.0f) continue;
        const float weight = std::exp(part.m[r] - merged.m[r]);
        merged.l[r] += part.l[r] * weight;
        for (int64_t d = 0; d < head_dim; ++d) merged.o[r * head_dim + d] += part.o[r * head_dim + d] * weight;
      }
    }
    write_output(g, i0, rows, merged);
  });
}

}  // namespace vlm
