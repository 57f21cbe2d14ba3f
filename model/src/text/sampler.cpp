// Sampler; see sampler.h. The warpers are applied exactly when HF would add them (temperature
// != 1, top_k != 0, top_p < 1) and only when sampling; probabilities are computed in double from
// the max-shifted logits so the draw is deterministic for a seed.
#include "text/sampler.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>
#include <vector>

#include "vlm/error.h"

namespace vlm {

namespace {
constexpr float kNegInf = -std::numeric_limits<float>::infinity();
}

void apply_repetition_penalty(std::span<float> logits, std::span<const int32_t> history, float penalty) {
  if (penalty == 1.0f) return;
  VLM_CHECK(penalty > 0.0f, InvalidInput, "repetition_penalty " << penalty << " must be positive");
  std::vector<bool> seen(logits.size(), false);
  for (int32_t id : history) {
    if (id < 0 || static_cast<size_t>(id) >= logits.size() || seen[static_cast<size_t>(id)]) continue;
    seen[static_cast<size_t>(id)] = true;
    float& l = logits[static_cast<size_t>(id)];
    l = l < 0.0f ? l * penalty : l / penalty;
  }
}

void apply_temperature(std::span<float> logits, float temperature) {
  VLM_CHECK(temperature > 0.0f && std::isfinite(temperature), InvalidInput,
            "temperature " << temperature << " must be a positive number");
  for (float& l : logits) l /= temperature;
}

void apply_top_k(std::span<float> logits, int top_k) {
  if (top_k <= 0 || static_cast<size_t>(top_k) >= logits.size()) return;
  std::vector<float> sorted(logits.begin(), logits.end());
  std::nth_element(sorted.begin(), sorted.begin() + (top_k - 1), sorted.end(), std::greater<float>());
  const float threshold = sorted[static_cast<size_t>(top_k - 1)];
  for (float& l : logits) {
    if (l < threshold) l = kNegInf;
  }
}

void apply_top_p(std::span<float> logits, float top_p) {
  if (top_p >= 1.0f) return;
  VLM_CHECK(top_p >= 0.0f, InvalidInput, "top_p " << top_p << " must be in [0, 1]");
  const size_t n = logits.size();
  if (n == 0) return;
  std::vector<int32_t> order(n);
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(),
                   [&](int32_t a, int32_t b) { return logits[static_cast<size_t>(a)] < logits[static_cast<size_t>(b)]; });
  const float max_logit = logits[static_cast<size_t>(order.back())];
  std::vector<double> probs(n);
  double total = 0.0;
  for (size_t i = 0; i < n; ++i) {
    const float l = logits[static_cast<size_t>(order[i])];
    probs[i] = l == kNegInf ? 0.0 : std::exp(static_cast<double>(l) - max_logit);
    total += probs[i];
  }
  const double limit = 1.0 - static_cast<double>(top_p);
  double cumulative = 0.0;
  for (size_t i = 0; i + 1 < n; ++i) {  // the largest (last) always stays
    cumulative += probs[i] / total;
    if (cumulative <= limit) logits[static_cast<size_t>(order[i])] = kNegInf;
  }
}

int32_t argmax(std::span<const float> logits) {
  VLM_CHECK(!logits.empty(), Internal, "argmax of empty logits");
  size_t best = 0;
  for (size_t i = 1; i < logits.size(); ++i) {
    if (logits[i] > logits[best]) best = i;
  }
  return static_cast<int32_t>(best);
}

Sampler::Sampler(const SamplerOptions& options) : options_(options), rng_(options.seed) {}

bool Sampler::needs_host_logits() const {
  return !options_.greedy || options_.repetition_penalty != 1.0f;
}

double Sampler::draw() {
  // Exactly the draw inside std::uniform_real_distribution<double> (libstdc++: canonical · (b − a)
  // + a), so next() picks the same ids as before this split.
  return std::generate_canonical<double, std::numeric_limits<double>::digits>(rng_);
}

int32_t Sampler::next(std::span<float> logits, std::span<const int32_t> history) {
  const double uniform = options_.greedy ? 0.0 : draw();
  return sample_with_draw(logits, history, options_, uniform);
}

int32_t sample_with_draw(std::span<float> logits, std::span<const int32_t> history,
                         const SamplerOptions& options, double uniform) {
  apply_repetition_penalty(logits, history, options.repetition_penalty);
  if (options.greedy) return argmax(logits);
  if (options.temperature != 1.0f) apply_temperature(logits, options.temperature);
  apply_top_k(logits, options.top_k);
  apply_top_p(logits, options.top_p);
  const float max_logit = logits[static_cast<size_t>(argmax(logits))];
  std::vector<double> weights(logits.size());
  double total = 0.0;
  for (size_t i = 0; i < logits.size(); ++i) {
    weights[i] = logits[i] == kNegInf ? 0.0 : std::exp(static_cast<double>(logits[i]) - max_logit);
    total += weights[i];
  }
  const double u = uniform * (total - 0.0) + 0.0;
  double cumulative = 0.0;
  for (size_t i = 0; i < weights.size(); ++i) {
    cumulative += weights[i];
    if (weights[i] > 0.0 && u < cumulative) return static_cast<int32_t>(i);
  }
  return argmax(logits);  // rounding at the very end of the range
}

SampleParams sample_params(const SamplerOptions& options) {
  SampleParams params;
  params.greedy = options.greedy;
  params.temperature = options.temperature;
  params.top_k = options.top_k;
  params.top_p = options.top_p;
  params.repetition_penalty = options.repetition_penalty;
  return params;
}

SamplerOptions sampler_options(const SampleParams& params) {
  SamplerOptions options;
  options.greedy = params.greedy;
  options.temperature = params.temperature;
  options.top_k = params.top_k;
  options.top_p = params.top_p;
  options.repetition_penalty = params.repetition_penalty;
  return options;
}

}  // namespace vlm
