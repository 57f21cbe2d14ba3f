// Parity of CudaBackend::sample (kernels/sample.cu) with the CPU backend's Backend::sample (the
// host sampler, text/sampler.h) for the same logits, params and uniform draw: the ids must be
// equal (no tolerance). The logits are bf16-representable, so both backends see the same values.
// Sizes: 1, 7, 4099 and the Qwen2.5-VL vocabulary 151936; heavy ties (values on a 0.5 grid, and
// rows that are one tie); k and p edges; temperature, repetition penalty with repeats and
// out-of-range history ids, banned ids; greedy with penalty. A draw within a few ulps of a
// cumulative boundary could legitimately differ (the device sums in another order); with random
// draws that has probability ~1e-13 per call, so any mismatch is a bug.
#include <gtest/gtest.h>

#include <random>

#include "parity.h"
#include "vlm/error.h"

namespace vlm::gpu_test {
namespace {

std::vector<float> tied_logits(size_t n, uint32_t seed, float grid, float scale) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> normal(0.0f, scale);
  std::vector<float> values(n);
  for (float& v : values) {
    v = normal(rng);
    if (grid > 0) v = std::round(v / grid) * grid;
    v = quantize_bf16(v);
  }
  return values;
}

struct SampleCase {
  int64_t vocab;
  float grid, scale;
  bool greedy;
  float temperature;
  int top_k;
  float top_p;
  float penalty;
};

TEST(GpuSample, ChoosesTheCpuSamplersIdForTheSameDraw) {
  Backends b;
  const SampleCase cases[] = {
      {1, 0.5f, 2.0f, false, 1.0f, 0, 0.5f, 1.0f},
      {7, 0.5f, 2.0f, false, 1.0f, 1, 1.0f, 1.0f},
      {7, 0.5f, 2.0f, false, 1.0f, 6, 0.0f, 1.0f},
      {4099, 0.5f, 2.0f, false, 1.0f, 4099, 0.5f, 1.0f},
      {4099, 0.0f, 3.0f, false, 0.7f, 40, 0.8f, 1.3f},
      {4099, 0.25f, 1.0f, false, 1.5f, 0, 0.95f, 0.8f},
      {4099, 1.0f, 2.0f, true, 1.0f, 0, 1.0f, 1.2f},
      {1000, 100.0f, 1.0f, false, 1.0f, 10, 0.5f, 1.0f},  // one tie group
      {151936, 0.0f, 3.0f, false, 0.7f, 50, 0.8f, 1.05f},
      {151936, 0.0f, 3.0f, false, 1.0f, 0, 0.9f, 1.0f},
      {151936, 0.125f, 1.0f, false, 1.0f, 0, 0.5f, 1.0f},
      {151936, 0.5f, 2.0f, false, 0.5f, 100, 1.0f, 1.0f},
      {151936, 0.0f, 3.0f, false, 1.0f, 0, 1.0f, 1.0f},
      {151936, 0.5f, 2.0f, false, 1.0f, 0, 0.0f, 1.0f},
      {151936, 1.0f, 2.0f, true, 1.0f, 0, 1.0f, 1.3f},
  };
  std::mt19937 rng(5);
  std::uniform_real_distribution<double> draw(0.0, 1.0);
  std::uniform_int_distribution<int32_t> any_id(-3, 151940);
  uint32_t seed = 100;
  int compared = 0;
  for (const SampleCase& c : cases) {
    const auto row = tied_logits(static_cast<size_t>(c.vocab), seed++, c.grid, c.scale);
    Tensor cpu_logits = b.cpu_act(row, {1, c.vocab});
    Tensor gpu_logits = b.gpu_act(row, {1, c.vocab});
    std::vector<int32_t> history, banned;
    for (int i = 0; i < 300; ++i) history.push_back(any_id(rng) % static_cast<int32_t>(c.vocab + 3));
    history.push_back(history.front());
    banned = {history[1], -1, static_cast<int32_t>(c.vocab)};
    for (int trial = 0; trial < 20; ++trial) {
      SampleParams params;
      params.greedy = c.greedy;
      params.temperature = c.temperature;
      params.top_k = c.top_k;
      params.top_p = c.top_p;
      params.repetition_penalty = c.penalty;
      params.history = history;
      if (trial % 2 == 1) params.banned = banned;
      params.uniform = c.greedy ? 0.0 : draw(rng);
      const int32_t cpu_id = b.cpu->sample(cpu_logits, params);
      const int32_t gpu_id = b.gpu->sample(gpu_logits, params);
      EXPECT_EQ(gpu_id, cpu_id) << "vocab " << c.vocab << " k " << c.top_k << " p " << c.top_p
                                << " T " << c.temperature << " penalty " << c.penalty << " uniform "
                                << params.uniform << " banned " << !params.banned.empty();
      ++compared;
    }
  }
  std::printf("sample parity: %d draws compared\n", compared);
}

TEST(GpuSample, RejectsWhatTheCpuSamplerRejects) {
  Backends b;
  const auto row = random_bf16(64, 3);
  Tensor cpu_logits = b.cpu_act(row, {1, 64});
  Tensor gpu_logits = b.gpu_act(row, {1, 64});
  SampleParams bad;
  bad.greedy = false;
  bad.temperature = 0.0f;
  bad.uniform = 0.5;
  EXPECT_THROW(b.cpu->sample(cpu_logits, bad), Error);
  EXPECT_THROW(b.gpu->sample(gpu_logits, bad), Error);
  Tensor two_rows = b.gpu_act(random_bf16(128, 4), {2, 64});
  EXPECT_THROW(b.gpu->sample(two_rows, SampleParams{}), Error);
}

}  // namespace
}  // namespace vlm::gpu_test
