// Independent naive references for the backend op tests: plain loops in double precision over
// values already converted to f32 (so bf16/f16 weights are compared on the same quantised values
// the backend sees), plus helpers for random data and the error measure every test states.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <random>
#include <vector>

#include "vlm/backend.h"
#include "vlm/dtype.h"

namespace vlm::test {

inline std::vector<float> random_values(size_t n, uint32_t seed, float lo = -1.0f, float hi = 1.0f) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> dist(lo, hi);
  std::vector<float> values(n);
  for (float& v : values) v = dist(rng);
  return values;
}

// The values a tensor of `dtype` holds after storing `values` (round to nearest even).
inline std::vector<float> quantise(const std::vector<float>& values, DType dtype) {
  std::vector<float> out(values.size());
  for (size_t i = 0; i < values.size(); ++i) {
    if (dtype == DType::BF16) {
      out[i] = bf16_to_f32(f32_to_bf16(values[i]));
    } else if (dtype == DType::F16) {
      out[i] = f16_to_f32(f32_to_f16(values[i]));
    } else {
      out[i] = values[i];
    }
  }
  return out;
}

// max |got - want| / max |want| (the largest magnitude of the reference sets the scale).
inline double relative_error(const std::vector<float>& got, const std::vector<double>& want) {
  double scale = 0.0, worst = 0.0;
  for (double w : want) scale = std::max(scale, std::fabs(w));
  for (size_t i = 0; i < want.size() && i < got.size(); ++i) {
    double diff = std::fabs(static_cast<double>(got[i]) - want[i]);
    if (std::isnan(got[i])) diff = INFINITY;
    worst = std::max(worst, diff);
  }
  return worst / std::max(scale, 1e-30);
}

inline std::vector<double> to_double(const std::vector<float>& v) { return {v.begin(), v.end()}; }

// y[M,N] = x[M,K] · w[N,K]ᵀ + bias
inline std::vector<double> naive_matmul(const std::vector<float>& x, const std::vector<float>& w,
                                        const std::vector<float>& bias, int64_t M, int64_t K,
                                        int64_t N) {
  std::vector<double> y(static_cast<size_t>(M * N));
  for (int64_t m = 0; m < M; ++m) {
    for (int64_t n = 0; n < N; ++n) {
      double sum = bias.empty() ? 0.0 : bias[static_cast<size_t>(n)];
      for (int64_t k = 0; k < K; ++k) sum += static_cast<double>(x[m * K + k]) * w[n * K + k];
      y[static_cast<size_t>(m * N + n)] = sum;
    }
  }
  return y;
}

// Softmax attention of one query row against keys [0, n_keys) of one head; writes head_dim values.
inline void naive_attend_row(const float* q, const float* k, const float* v, int64_t ld_kv,
                             int64_t n_keys, int64_t head_dim, double scale, double* out) {
  std::vector<double> scores(static_cast<size_t>(n_keys));
  double best = -INFINITY;
  for (int64_t j = 0; j < n_keys; ++j) {
    double dot = 0.0;
    for (int64_t d = 0; d < head_dim; ++d) dot += static_cast<double>(q[d]) * k[j * ld_kv + d];
    scores[static_cast<size_t>(j)] = dot * scale;
    best = std::max(best, dot * scale);
  }
  double total = 0.0;
  for (double& s : scores) {
    s = std::exp(s - best);
    total += s;
  }
  for (int64_t d = 0; d < head_dim; ++d) {
    double acc = 0.0;
    for (int64_t j = 0; j < n_keys; ++j) acc += scores[static_cast<size_t>(j)] * v[j * ld_kv + d];
    out[d] = acc / total;
  }
}

// q, k, v [rows, heads, head_dim]; attention within each segment of cu_seqlens.
inline std::vector<double> naive_attention_varlen(const std::vector<float>& q,
                                                  const std::vector<float>& k,
                                                  const std::vector<float>& v,
                                                  const std::vector<int32_t>& cu, int64_t heads,
                                                  int64_t head_dim, double scale) {
  const int64_t ld = heads * head_dim;
  std::vector<double> out(q.size());
  for (size_t s = 0; s + 1 < cu.size(); ++s) {
    for (int64_t i = cu[s]; i < cu[s + 1]; ++i) {
      for (int64_t h = 0; h < heads; ++h) {
        naive_attend_row(&q[i * ld + h * head_dim], &k[cu[s] * ld + h * head_dim],
                         &v[cu[s] * ld + h * head_dim], ld, cu[s + 1] - cu[s], head_dim, scale,
                         &out[i * ld + h * head_dim]);
      }
    }
  }
  return out;
}

// q [n_new, heads, head_dim]; caches [capacity, kv_heads, head_dim]; query i sees keys
// 0 .. n_past + i; query head h reads kv head h / (heads / kv_heads).
inline std::vector<double> naive_attention_causal(const std::vector<float>& q,
                                                  const std::vector<float>& k_cache,
                                                  const std::vector<float>& v_cache,
                                                  int64_t n_new, int64_t heads, int64_t kv_heads,
                                                  int64_t head_dim, int64_t n_past, double scale) {
  std::vector<double> out(q.size());
  const int64_t group = heads / kv_heads;
  for (int64_t i = 0; i < n_new; ++i) {
    for (int64_t h = 0; h < heads; ++h) {
      const int64_t g = h / group;
      naive_attend_row(&q[(i * heads + h) * head_dim], &k_cache[g * head_dim], &v_cache[g * head_dim],
                       kv_heads * head_dim, n_past + i + 1, head_dim, scale,
                       &out[(i * heads + h) * head_dim]);
    }
  }
  return out;
}

}  // namespace vlm::test
