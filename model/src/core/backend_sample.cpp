// Backend::sample's default and its argument check (vlm/backend.h, vlm/backend_checks.h). The
// default keeps the CPU path exactly what the engine did before sample() existed: argmax() on the
// backend when only the maximum matters (greedy, no penalty, nothing banned), otherwise the row
// goes to the host and through the CPU sampler (text/sampler.h), the reference a device override
// (cuda/backend_cuda_sample.cpp) must reproduce.
#include <cmath>
#include <limits>
#include <vector>

#include "text/sampler.h"
#include "vlm/backend.h"
#include "vlm/backend_checks.h"
#include "vlm/error.h"

namespace vlm {

int64_t check_sample_args(const Tensor& logits, const SampleParams& params) {
  check_float_tensor(logits, "sample", "logits");
  VLM_CHECK(logits.rows() == 1 && logits.cols() > 0, InvalidInput,
            "sample: logits " << logits.describe() << " must be one non-empty row [1, V]");
  if (params.repetition_penalty != 1.0f) {
    VLM_CHECK(params.repetition_penalty > 0.0f, InvalidInput,
              "repetition_penalty " << params.repetition_penalty << " must be positive");
  }
  if (!params.greedy) {
    if (params.temperature != 1.0f) {
      VLM_CHECK(params.temperature > 0.0f && std::isfinite(params.temperature), InvalidInput,
                "temperature " << params.temperature << " must be a positive number");
    }
    if (!(params.top_p >= 1.0f)) {
      VLM_CHECK(params.top_p >= 0.0f, InvalidInput, "top_p " << params.top_p << " must be in [0, 1]");
    }
    VLM_CHECK(params.uniform >= 0.0 && params.uniform < 1.0, InvalidInput,
              "sample: uniform draw " << params.uniform << " must be in [0, 1)");
  }
  return logits.cols();
}

int32_t Backend::sample(const Tensor& logits, const SampleParams& params) {
  const int64_t vocab = check_sample_args(logits, params);
  if (params.greedy && params.repetition_penalty == 1.0f && params.banned.empty()) {
    return argmax(logits).at(0);
  }
  std::vector<float> row = to_host_f32(logits);
  VLM_CHECK(static_cast<int64_t>(row.size()) == vocab, Internal,
            "sample: logits gave " << row.size() << " values, expected " << vocab);
  for (int32_t id : params.banned) {
    if (id >= 0 && id < vocab) row[static_cast<size_t>(id)] = -std::numeric_limits<float>::infinity();
  }
  return sample_with_draw(row, params.history, sampler_options(params), params.uniform);
}

}  // namespace vlm
