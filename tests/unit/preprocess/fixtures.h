// Shared helpers of the preprocessing tests: fixture paths (VLM_FIXTURES), JSON loading, and the
// comparison of a float tensor against the digest the fixture script stores for large tensors
// (exact sums, an order-sensitive weighted sum, and sampled values).
#pragma once

#include <gtest/gtest.h>

#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace vlm_test {

inline std::filesystem::path preprocess_fixture(const std::string& relative) {
  const char* root = std::getenv("VLM_FIXTURES");
  EXPECT_NE(root, nullptr) << "VLM_FIXTURES is not set";
  return std::filesystem::path(root ? root : ".") / "preprocess" / relative;
}

inline nlohmann::json load_fixture_json(const std::string& relative) {
  std::ifstream in(preprocess_fixture(relative));
  EXPECT_TRUE(in.good()) << "missing fixture " << preprocess_fixture(relative);
  if (!in.good()) return nlohmann::json::object();
  return nlohmann::json::parse(in);
}

struct DigestComparison {
  double max_sample_diff = 0.0;
  double mean_sample_diff = 0.0;
  double sum_diff = 0.0;
  double weighted_sum_diff = 0.0;
  bool count_matches = false;
};

inline DigestComparison compare_digest(const std::vector<float>& values, const nlohmann::json& digest) {
  DigestComparison r;
  r.count_matches = digest.at("count").get<size_t>() == values.size();
  if (!r.count_matches) return r;
  long double sum = 0, weighted = 0;
  for (size_t i = 0; i < values.size(); ++i) {
    sum += values[i];
    weighted += static_cast<long double>(values[i]) * static_cast<long double>(i % 7 + 1);
  }
  r.sum_diff = std::fabs(static_cast<double>(sum) - digest.at("sum").get<double>());
  r.weighted_sum_diff =
      std::fabs(static_cast<double>(weighted) - digest.at("weighted_sum").get<double>());
  const auto& index = digest.at("sample_index");
  const auto& value = digest.at("sample_value");
  double total = 0;
  for (size_t k = 0; k < index.size(); ++k) {
    const double d = std::fabs(values[index[k].get<size_t>()] - value[k].get<double>());
    r.max_sample_diff = std::max(r.max_sample_diff, d);
    total += d;
  }
  r.mean_sample_diff = index.empty() ? 0.0 : total / index.size();
  return r;
}

}  // namespace vlm_test
