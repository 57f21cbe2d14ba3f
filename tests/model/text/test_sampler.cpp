// Sampler tests on hand-made logits: HF's repetition penalty arithmetic, top-k/top-p masks worked
// by hand, greedy ties, seeded determinism and the sampled distribution.
#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <vector>

#include "text/sampler.h"

namespace vlm {
namespace {

constexpr float kNegInf = -std::numeric_limits<float>::infinity();

TEST(Sampler, RepetitionPenaltyDividesPositiveAndMultipliesNegativeOncePerId) {
  std::vector<float> logits = {2.0f, -2.0f, 1.0f, 0.5f};
  const std::vector<int32_t> history = {0, 1, 1, 1, 0};
  apply_repetition_penalty(logits, history, 2.0f);
  EXPECT_EQ(logits, (std::vector<float>{1.0f, -4.0f, 1.0f, 0.5f}));
}

TEST(Sampler, RepetitionPenaltyCanChangeTheGreedyChoice) {
  // 1.05 penalty on id 0: 10 / 1.05 = 9.5238 < 9.6.
  std::vector<float> logits = {10.0f, 9.6f, 1.0f};
  const std::vector<int32_t> history = {0, 2};
  Sampler sampler({.greedy = true, .repetition_penalty = 1.05f});
  EXPECT_EQ(sampler.next(logits, history), 1);
  EXPECT_FLOAT_EQ(logits[0], 10.0f / 1.05f);
}

TEST(Sampler, GreedyTakesFirstMaximum) {
  std::vector<float> logits = {0.0f, 3.0f, 1.0f, 3.0f};
  Sampler sampler({.greedy = true});
  EXPECT_EQ(sampler.next(logits, {}), 1);
}

TEST(Sampler, TopKKeepsTiesWithTheKthValue) {
  std::vector<float> logits = {1.0f, 3.0f, 2.0f, 3.0f, 0.0f};
  apply_top_k(logits, 2);
  EXPECT_EQ(logits, (std::vector<float>{kNegInf, 3.0f, kNegInf, 3.0f, kNegInf}));
  std::vector<float> three = {1.0f, 3.0f, 2.0f, 3.0f, 0.0f};
  apply_top_k(three, 3);
  EXPECT_EQ(three, (std::vector<float>{kNegInf, 3.0f, 2.0f, 3.0f, kNegInf}));
}

TEST(Sampler, TopPRemovesTheLeastLikelyTail) {
  // probabilities 0.5, 0.3, 0.15, 0.05: ascending cumulative 0.05, 0.20, 0.50, 1.0.
  const std::vector<float> base = {std::log(0.3f), std::log(0.05f), std::log(0.5f), std::log(0.15f)};
  std::vector<float> logits = base;
  apply_top_p(logits, 0.75f);  // removes cumulative <= 0.25: 0.05 and 0.15
  EXPECT_EQ(logits[1], kNegInf);
  EXPECT_EQ(logits[3], kNegInf);
  EXPECT_EQ(logits[0], base[0]);
  EXPECT_EQ(logits[2], base[2]);
  logits = base;
  apply_top_p(logits, 0.9f);  // removes cumulative <= 0.1: only 0.05
  EXPECT_EQ(logits[1], kNegInf);
  EXPECT_EQ(logits[3], base[3]);
  logits = base;
  apply_top_p(logits, 0.0f);  // keeps the largest only
  EXPECT_EQ(logits[2], base[2]);
  EXPECT_EQ(logits[0], kNegInf);
}

TEST(Sampler, TemperatureDivides) {
  std::vector<float> logits = {1.0f, -2.0f};
  apply_temperature(logits, 0.5f);
  EXPECT_EQ(logits, (std::vector<float>{2.0f, -4.0f}));
}

TEST(Sampler, SameSeedSameDraws) {
  const std::vector<float> base = {0.1f, 0.2f, 0.3f, 0.0f, -0.5f, 0.25f};
  auto draws = [&](uint64_t seed) {
    Sampler sampler({.greedy = false, .seed = seed});
    std::vector<int32_t> out;
    for (int i = 0; i < 64; ++i) {
      std::vector<float> logits = base;
      out.push_back(sampler.next(logits, {}));
    }
    return out;
  };
  EXPECT_EQ(draws(7), draws(7));
  EXPECT_NE(draws(7), draws(8));
}

TEST(Sampler, DrawsFollowTheSoftmax) {
  // Tolerance: 0.015 absolute on frequencies from 20000 draws (binomial sd <= 0.0035).
  const std::vector<float> base = {std::log(0.7f), std::log(0.2f), std::log(0.1f)};
  Sampler sampler({.greedy = false, .seed = 1});
  std::vector<int> counts(3, 0);
  const int n = 20000;
  for (int i = 0; i < n; ++i) {
    std::vector<float> logits = base;
    ++counts[static_cast<size_t>(sampler.next(logits, {}))];
  }
  EXPECT_NEAR(counts[0] / double(n), 0.7, 0.015);
  EXPECT_NEAR(counts[1] / double(n), 0.2, 0.015);
  EXPECT_NEAR(counts[2] / double(n), 0.1, 0.015);
}

TEST(Sampler, TopKOneSamplesTheArgmax) {
  Sampler sampler({.greedy = false, .top_k = 1, .seed = 3});
  for (int i = 0; i < 20; ++i) {
    std::vector<float> logits = {0.5f, 0.4f, 0.6f, 0.59f};
    EXPECT_EQ(sampler.next(logits, {}), 2);
  }
}

TEST(Sampler, LowTemperatureIsEffectivelyGreedy) {
  Sampler sampler({.greedy = false, .temperature = 1e-6f, .seed = 3});
  for (int i = 0; i < 20; ++i) {
    std::vector<float> logits = {0.5f, 0.4f, 0.6f, 0.59f};
    EXPECT_EQ(sampler.next(logits, {}), 2);
  }
}

}  // namespace
}  // namespace vlm
