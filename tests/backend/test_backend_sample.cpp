// Backend::sample's default (model/src/core/backend_sample.cpp) on the CPU backend: the engine now
// asks the backend for the next id, so this default must choose exactly what the host sampler
// (text/sampler.h, Sampler::next) chose before, for the same seed; Sampler::draw must be the very
// draw std::uniform_real_distribution makes; banned ids (min_new_tokens) are never chosen; bad
// parameters are refused like the host sampler refuses them. Exact ids, no tolerance.
#include <gtest/gtest.h>

#include <random>
#include <vector>

#include "text/sampler.h"
#include "vlm/backend.h"
#include "vlm/error.h"

namespace vlm {
namespace {

std::vector<float> random_row(size_t n, uint32_t seed, float grid) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> normal(0.0f, 2.0f);
  std::vector<float> row(n);
  for (float& v : row) v = grid > 0 ? std::round(normal(rng) / grid) * grid : normal(rng);
  return row;
}

TEST(BackendSample, DrawIsTheUniformRealDistributionsDraw) {
  for (uint64_t seed : {0u, 1u, 99u}) {
    SamplerOptions options;
    options.seed = seed;
    Sampler sampler(options);
    std::mt19937_64 rng(seed);
    for (double total : {1.0, 3.7, 1234.5}) {
      const double expected = std::uniform_real_distribution<double>(0.0, total)(rng);
      EXPECT_EQ(sampler.draw() * total, expected) << "seed " << seed << " total " << total;
    }
  }
}

TEST(BackendSample, DefaultChoosesWhatTheHostSamplerChoseForTheSameSeed) {
  auto backend = make_cpu_backend(1);
  struct Case {
    bool greedy;
    float temperature;
    int top_k;
    float top_p;
    float penalty;
  };
  const Case cases[] = {{false, 1.0f, 0, 1.0f, 1.0f},  {false, 0.7f, 50, 0.8f, 1.3f},
                        {false, 1.0f, 5, 1.0f, 1.0f},  {false, 1.2f, 0, 0.5f, 1.0f},
                        {true, 1.0f, 0, 1.0f, 1.2f},   {true, 1.0f, 0, 1.0f, 1.0f},
                        {false, 1.0f, 0, 0.0f, 1.0f}};
  const std::vector<int32_t> history = {3, 17, 3, 999, -1, 5000, 42};
  uint32_t seed = 1;
  for (const Case& c : cases) {
    const std::vector<float> row = random_row(1000, seed, c.top_k == 5 ? 0.5f : 0.0f);
    const Tensor logits = backend->from_host_f32(row.data(), {1, 1000}, DType::F32);
    SamplerOptions options;
    options.greedy = c.greedy;
    options.temperature = c.temperature;
    options.top_k = c.top_k;
    options.top_p = c.top_p;
    options.repetition_penalty = c.penalty;
    options.seed = seed++;
    Sampler host(options), device_side(options);
    for (int step = 0; step < 10; ++step) {
      std::vector<float> copy = row;
      const int32_t expected = host.next(copy, history);
      SampleParams params = sample_params(options);
      params.history = history;
      params.uniform = c.greedy ? 0.0 : device_side.draw();
      EXPECT_EQ(backend->sample(logits, params), expected)
          << "case T " << c.temperature << " k " << c.top_k << " p " << c.top_p << " step " << step;
    }
  }
}

TEST(BackendSample, BannedIdsAreNeverChosen) {
  auto backend = make_cpu_backend(1);
  const std::vector<float> row = {0.0f, 5.0f, 4.0f, 1.0f};
  const Tensor logits = backend->from_host_f32(row.data(), {1, 4}, DType::F32);
  const std::vector<int32_t> banned = {1, -7, 4};  // out-of-range ids are ignored
  SampleParams params;
  params.banned = banned;
  EXPECT_EQ(backend->sample(logits, params), 2);  // the best after id 1
  params.greedy = false;
  params.top_k = 1;
  params.uniform = 0.99;
  EXPECT_EQ(backend->sample(logits, params), 2);
}

TEST(BackendSample, RefusesWhatTheHostSamplerRefuses) {
  auto backend = make_cpu_backend(1);
  const std::vector<float> row(8, 1.0f);
  const Tensor one = backend->from_host_f32(row.data(), {1, 8}, DType::F32);
  const Tensor two = backend->from_host_f32(row.data(), {2, 4}, DType::F32);
  EXPECT_THROW(backend->sample(two, SampleParams{}), Error);
  SampleParams params;
  params.greedy = false;
  params.uniform = 0.5;
  params.temperature = 0.0f;
  EXPECT_THROW(backend->sample(one, params), Error);
  params.temperature = 1.0f;
  params.top_p = -0.5f;
  EXPECT_THROW(backend->sample(one, params), Error);
  params.top_p = 1.0f;
  params.uniform = 1.0;
  EXPECT_THROW(backend->sample(one, params), Error);
  params.uniform = 0.5;
  params.repetition_penalty = 0.0f;
  EXPECT_THROW(backend->sample(one, params), Error);
}

}  // namespace
}  // namespace vlm
