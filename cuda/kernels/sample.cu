// Token choice on the device (Backend::sample): one block walks one logits row through exactly the
// steps of the CPU sampler (model/src/text/sampler.cpp, sample_with_draw) and writes only the id.
// Shape, and why:
// - One block of kBlock threads: a decode step samples one row, and every step below is a
//   block-wide pass with barriers between them (no grid-wide sync, no atomics, so the result is
//   deterministic run to run).
// - Sorting is replaced by radix selection on an order-preserving uint32 key of the float value:
//   top-k's threshold is the smallest key whose count of keys <= it exceeds V − k; top-p's cut is
//   the smallest key whose probability mass of keys <= it exceeds (1 − top_p)·total, then the
//   members of that tie group are removed in index order, as the CPU's stable ascending sort does.
// - Probabilities are double exp(l − max) as on the CPU. Sums are taken in a fixed order that is
//   not the CPU's sequential order, so the choice can differ from the CPU only when the draw (or
//   top-p's cumulative mass) falls within a few ulps of a boundary.
// - −0 becomes +0 after the transforms, so key order equals the CPU's float comparisons (NaN
//   logits are outside the contract on both sides).
#include "../common.cuh"

namespace vlm::cuda {

namespace {

constexpr int kBlock = 512;
constexpr int kWarps = kBlock / 32;
constexpr int kDigitBits = 4;
constexpr int kBins = 1 << kDigitBits;

__device__ __forceinline__ uint32_t order_key(float value) {
  const uint32_t bits = __float_as_uint(value);
  return (bits & 0x80000000u) ? ~bits : (bits | 0x80000000u);
}

__device__ __forceinline__ double warp_sum_double(double value) {
  for (int offset = 16; offset > 0; offset >>= 1) value += __shfl_xor_sync(0xffffffffu, value, offset);
  return value;
}

// Shared scratch of the block (one set; every helper ends with a barrier so it can be reused).
struct Scratch {
  double warp_values[kWarps][kBins];
  double chunk_sums[kBlock];
  float warp_max[kWarps];
  int32_t warp_index[kWarps];
  uint32_t key;
  double below;
  double value;
  int32_t index;
};

// First index of the maximum of work[0, vocab) (0 when nothing beats −inf), to every thread.
__device__ int32_t block_argmax(const float* work, int32_t vocab, Scratch& s) {
  float best_value = -INFINITY;
  int32_t best_index = INT32_MAX;
  for (int32_t i = threadIdx.x; i < vocab; i += kBlock) {
    if (argmax_better(work[i], i, best_value, best_index)) {
      best_value = work[i];
      best_index = i;
    }
  }
  block_argmax_to_thread0(best_value, best_index, s.warp_max, s.warp_index);
  if (threadIdx.x == 0) {
    s.index = best_index == INT32_MAX ? 0 : best_index;
  }
  __syncthreads();
  const int32_t result = s.index;
  __syncthreads();
  return result;
}

// Sum over the block in a fixed order (warp tree, then warps in order).
__device__ double block_sum(double value, Scratch& s) {
  value = warp_sum_double(value);
  if (threadIdx.x % 32 == 0) s.warp_values[threadIdx.x / 32][0] = value;
  __syncthreads();
  if (threadIdx.x == 0) {
    double total = 0.0;
    for (int w = 0; w < kWarps; ++w) total += s.warp_values[w][0];
    s.value = total;
  }
  __syncthreads();
  const double result = s.value;
  __syncthreads();
  return result;
}

// Radix selection: the smallest key K such that the weight of the entries with key <= K exceeds
// `target` (weight 1 per entry when `counts`, else weights[i]); when no key does (rounding), the
// largest key with positive weight. Also returns the weight of the entries below K.
template <bool kCounts>
__device__ void select_key(const float* work, const double* weights, int32_t vocab, double target,
                           uint32_t* key_out, double* below_out, Scratch& s) {
  uint32_t prefix = 0;
  double below = 0.0;
  for (int shift = 32 - kDigitBits; shift >= 0; shift -= kDigitBits) {
    const uint32_t high_mask = shift + kDigitBits >= 32 ? 0u : (0xffffffffu << (shift + kDigitBits));
    double bins[kBins];
#pragma unroll
    for (int j = 0; j < kBins; ++j) bins[j] = 0.0;
    for (int32_t i = threadIdx.x; i < vocab; i += kBlock) {
      const uint32_t key = order_key(work[i]);
      if ((key & high_mask) != prefix) continue;
      const int digit = static_cast<int>((key >> shift) & (kBins - 1));
      const double weight = kCounts ? 1.0 : weights[i];
#pragma unroll
      for (int j = 0; j < kBins; ++j) bins[j] += digit == j ? weight : 0.0;
    }
#pragma unroll
    for (int j = 0; j < kBins; ++j) bins[j] = warp_sum_double(bins[j]);
    if (threadIdx.x % 32 == 0) {
#pragma unroll
      for (int j = 0; j < kBins; ++j) s.warp_values[threadIdx.x / 32][j] = bins[j];
    }
    __syncthreads();
    if (threadIdx.x == 0) {
      double totals[kBins];
      for (int j = 0; j < kBins; ++j) {
        totals[j] = 0.0;
        for (int w = 0; w < kWarps; ++w) totals[j] += s.warp_values[w][j];
      }
      int chosen = -1;
      double running = below;
      for (int j = 0; j < kBins; ++j) {
        if (running + totals[j] > target) {
          chosen = j;
          break;
        }
        running += totals[j];
      }
      if (chosen < 0) {  // nothing exceeds the target: the highest bin with weight
        running = below;
        int last = 0;
        for (int j = 0; j < kBins; ++j) {
          if (totals[j] > 0.0) last = j;
        }
        for (int j = 0; j < last; ++j) running += totals[j];
        chosen = last;
      }
      s.key = prefix | (static_cast<uint32_t>(chosen) << shift);
      s.below = running;
    }
    __syncthreads();
    prefix = s.key;
    below = s.below;
    __syncthreads();
  }
  *key_out = prefix;
  *below_out = below;
}

// Contiguous chunk of thread t (index order matters for ranks and the cumulative pick).
__device__ __forceinline__ void chunk_of(int32_t vocab, int32_t* begin, int32_t* end) {
  const int32_t chunk = (vocab + kBlock - 1) / kBlock;
  *begin = min(vocab, static_cast<int32_t>(threadIdx.x) * chunk);
  *end = min(vocab, *begin + chunk);
}

// Exclusive prefix of the per-thread chunk values, in thread (= index) order; also the total.
__device__ double chunk_prefix(double value, double* total, Scratch& s) {
  s.chunk_sums[threadIdx.x] = value;
  __syncthreads();
  if (threadIdx.x == 0) {
    double running = 0.0;
    for (int t = 0; t < kBlock; ++t) {
      const double v = s.chunk_sums[t];
      s.chunk_sums[t] = running;
      running += v;
    }
    s.value = running;
  }
  __syncthreads();
  const double start = s.chunk_sums[threadIdx.x];
  *total = s.value;
  __syncthreads();
  return start;
}

__device__ __forceinline__ double weight_of(float value, float max_value) {
  return value == -INFINITY ? 0.0 : exp(static_cast<double>(value) - static_cast<double>(max_value));
}

__global__ void __launch_bounds__(kBlock) sample_kernel(SampleArgs a) {
  __shared__ Scratch s;
  float* work = a.work;
  const int32_t vocab = a.vocab;
  // 1. The row as f32, banned ids to −inf, then the repetition penalty (ids distinct).
  for (int32_t i = threadIdx.x; i < vocab; i += kBlock) work[i] = load_as_float(a.logits, a.type, i);
  __syncthreads();
  for (int32_t j = threadIdx.x; j < a.n_banned; j += kBlock) work[a.banned_ids[j]] = -INFINITY;
  __syncthreads();
  for (int32_t j = threadIdx.x; j < a.n_penalty; j += kBlock) {
    const float l = work[a.penalty_ids[j]];
    work[a.penalty_ids[j]] = l < 0.0f ? l * a.penalty : l / a.penalty;
  }
  __syncthreads();
  if (a.greedy) {
    const int32_t best = block_argmax(work, vocab, s);
    if (threadIdx.x == 0) *a.out = best;
    return;
  }
  // 2. Temperature; −0 → +0 so that key order is the float order.
  for (int32_t i = threadIdx.x; i < vocab; i += kBlock) {
    float l = work[i];
    if (a.apply_temperature) l /= a.temperature;
    if (l == 0.0f) l = 0.0f;
    work[i] = l;
  }
  __syncthreads();
  // 3. Top-k: keep values >= the k-th largest (ties with it kept).
  if (a.top_k > 0 && a.top_k < vocab) {
    uint32_t threshold = 0;
    double below = 0.0;
    select_key<true>(work, nullptr, vocab, static_cast<double>(vocab - a.top_k), &threshold, &below, s);
    for (int32_t i = threadIdx.x; i < vocab; i += kBlock) {
      if (order_key(work[i]) < threshold) work[i] = -INFINITY;
    }
    __syncthreads();
  }
  const float max_value = work[block_argmax(work, vocab, s)];
  // 4. Top-p: ascending order, remove while the cumulative probability stays <= 1 − top_p; the
  //    largest (last in the stable order: highest index among the maxima) always stays.
  if (a.apply_top_p) {
    double* weights = a.weights;
    double local = 0.0;
    for (int32_t i = threadIdx.x; i < vocab; i += kBlock) {
      weights[i] = weight_of(work[i], max_value);
      local += weights[i];
    }
    const double total = block_sum(local, s);  // includes the barrier after the writes
    const double limit = 1.0 - static_cast<double>(a.top_p);
    uint32_t cut = 0;
    double below = 0.0;
    select_key<false>(work, weights, vocab, limit * total, &cut, &below, s);
    // The tie group at `cut`: how many of its members (lowest indices first) the CPU removes.
    int32_t begin = 0, end = 0;
    chunk_of(vocab, &begin, &end);
    double group_local = 0.0;
    for (int32_t i = begin; i < end; ++i) group_local += order_key(work[i]) == cut ? 1.0 : 0.0;
    double group_size = 0.0;
    const double rank_start = chunk_prefix(group_local, &group_size, s);
    if (threadIdx.x == 0) {
      const float cut_value = __uint_as_float((cut & 0x80000000u) ? (cut & 0x7fffffffu) : ~cut);
      const double p = weight_of(cut_value, max_value);
      double cumulative = below / total;
      int32_t removed = 0;
      const int32_t size = static_cast<int32_t>(group_size);
      while (removed < size) {
        if (cumulative + p / total > limit) break;
        cumulative += p / total;
        ++removed;
      }
      if (cut == order_key(max_value) && removed >= size) removed = size - 1;
      s.index = removed;
    }
    __syncthreads();
    const int32_t removed = s.index;
    __syncthreads();
    double rank = rank_start;
    for (int32_t i = begin; i < end; ++i) {
      const uint32_t key = order_key(work[i]);
      if (key < cut) {
        work[i] = -INFINITY;
      } else if (key == cut) {
        if (rank < removed) work[i] = -INFINITY;
        rank += 1.0;
      }
    }
    __syncthreads();
  }
  // 5. The weighted pick: first index whose cumulative weight exceeds uniform · total.
  int32_t begin = 0, end = 0;
  chunk_of(vocab, &begin, &end);
  double local = 0.0;
  for (int32_t i = begin; i < end; ++i) local += weight_of(work[i], max_value);
  double total = 0.0;
  const double start = chunk_prefix(local, &total, s);
  const double u = a.uniform * (total - 0.0) + 0.0;
  int32_t hit = INT32_MAX;
  double cumulative = start;
  for (int32_t i = begin; i < end; ++i) {
    const double w = weight_of(work[i], max_value);
    cumulative += w;
    if (w > 0.0 && u < cumulative) {
      hit = i;
      break;
    }
  }
  for (int offset = 16; offset > 0; offset >>= 1) hit = min(hit, __shfl_xor_sync(0xffffffffu, hit, offset));
  if (threadIdx.x % 32 == 0) s.warp_index[threadIdx.x / 32] = hit;
  __syncthreads();
  if (threadIdx.x == 0) {
    for (int w = 0; w < kWarps; ++w) hit = min(hit, s.warp_index[w]);
    s.index = hit;
  }
  __syncthreads();
  hit = s.index;
  __syncthreads();
  if (hit == INT32_MAX) hit = block_argmax(work, vocab, s);  // rounding at the end of the range
  if (threadIdx.x == 0) *a.out = hit;
}

}  // namespace

void launch_sample(const SampleArgs& args, Stream stream) {
  sample_kernel<<<1, kBlock, 0, stream>>>(args);
}

}  // namespace vlm::cuda
