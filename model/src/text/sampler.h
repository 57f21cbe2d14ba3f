// Next-token choice on host logits, in Hugging Face's processor order (spec §7.7): repetition
// penalty over every distinct id of the running sequence (prompt + generated), then — when
// sampling — temperature, top-k, top-p, softmax and a draw from a seeded RNG; greedy takes the
// argmax (first on ties) of the penalised logits.
#pragma once

#include <cstdint>
#include <random>
#include <span>

#include "vlm/backend.h"

namespace vlm {

struct SamplerOptions {
  bool greedy = true;
  float temperature = 1.0f;
  int top_k = 0;       // 0 = off
  float top_p = 1.0f;  // 1 = off
  float repetition_penalty = 1.0f;  // 1 = off
  uint64_t seed = 0;
};

// HF RepetitionPenaltyLogitsProcessor: l < 0 ? l·p : l/p, once per distinct id in `history`.
void apply_repetition_penalty(std::span<float> logits, std::span<const int32_t> history, float penalty);
// HF TemperatureLogitsWarper: logits / temperature.
void apply_temperature(std::span<float> logits, float temperature);
// HF TopKLogitsWarper: logits below the k-th largest become −inf (ties with it are kept).
void apply_top_k(std::span<float> logits, int top_k);
// HF TopPLogitsWarper: ascending sort, cumulative softmax; entries whose cumulative probability is
// ≤ 1 − top_p become −inf, the largest always survives.
void apply_top_p(std::span<float> logits, float top_p);
// Index of the first maximum.
int32_t argmax(std::span<const float> logits);
// The whole choice for one draw: penalty, then greedy argmax or temperature, top-k, top-p and the
// weighted pick at u = uniform · (sum of the surviving weights), uniform in [0, 1) (what
// std::uniform_real_distribution<double>(0, total) computes from its canonical draw).
// Backend::sample (vlm/backend.h) and device samplers reproduce exactly this.
int32_t sample_with_draw(std::span<float> logits, std::span<const int32_t> history,
                         const SamplerOptions& options, double uniform);

// The choice rules as Backend::sample takes them (history, bans and the draw are per step and
// left empty), and back (seed 0: with a backend the draw comes with the params).
SampleParams sample_params(const SamplerOptions& options);
SamplerOptions sampler_options(const SampleParams& params);

class Sampler {
 public:
  explicit Sampler(const SamplerOptions& options);
  // Modifies `logits` in place (penalties and warpers) and returns the chosen id.
  int32_t next(std::span<float> logits, std::span<const int32_t> history);
  // Whether next() needs host logits beyond an argmax (penalty or sampling active).
  bool needs_host_logits() const;
  // The canonical draw in [0, 1) that next() would use for its weighted pick (advances the RNG;
  // next() draws once per call when not greedy). For choosing on a device (Backend::sample).
  double draw();
  const SamplerOptions& options() const { return options_; }

 private:
  SamplerOptions options_;
  std::mt19937_64 rng_;
};

}  // namespace vlm
