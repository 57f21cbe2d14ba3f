// Helpers of the GPU parity tests: the same op on the CPU reference (F32 activations) and on the
// CUDA backend (BF16 activations) from identical inputs. Inputs are drawn once and rounded to bf16
// on the host, so both backends start from exactly the same values and the only differences are
// the CUDA path's bf16 roundings (of outputs and of the intermediates PyTorch's bf16 modules
// round too). Tolerances are stated per test as |gpu − cpu| ≤ rtol·|cpu| + atol·max|cpu|. Also
// the check that a backend refuses a bad VLM_CUDA_* value by name (expect_env_refused).
#pragma once

#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "backend_cuda.h"
#include "vlm/backend.h"
#include "vlm/dtype.h"
#include "vlm/error.h"
#include "vlm/tensor.h"

namespace vlm::gpu_test {

// One bf16 unit in the last place relative to the value: 2^-7; rounding error ≤ half of it.
constexpr double kBf16HalfUlp = 1.0 / 256.0;

inline float quantize_bf16(float v) { return bf16_to_f32(f32_to_bf16(v)); }

// n values uniform in [lo, hi), rounded to bf16.
inline std::vector<float> random_bf16(size_t n, uint32_t seed, float lo = -1.0f, float hi = 1.0f) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> dist(lo, hi);
  std::vector<float> values(n);
  for (float& v : values) v = quantize_bf16(dist(rng));
  return values;
}

// A host BF16 tensor owning its bits (what a bf16 checkpoint view looks like).
inline Tensor host_bf16(const std::vector<float>& values, std::vector<int64_t> shape) {
  auto bits = std::make_shared<std::vector<uint16_t>>(values.size());
  for (size_t i = 0; i < values.size(); ++i) (*bits)[i] = f32_to_bf16(values[i]);
  return Tensor(bits->data(), DType::BF16, std::move(shape), bits);
}

// A host F32 tensor owning its values.
inline Tensor host_f32(const std::vector<float>& values, std::vector<int64_t> shape) {
  auto copy = std::make_shared<std::vector<float>>(values);
  return Tensor(copy->data(), DType::F32, std::move(shape), copy);
}

struct Backends {
  std::unique_ptr<Backend> cpu = make_cpu_backend(2);
  std::unique_ptr<Backend> gpu = cuda::make_cuda_backend(0);

  Tensor cpu_act(const std::vector<float>& v, std::vector<int64_t> shape) {
    return cpu->from_host_f32(v.data(), std::move(shape), DType::F32);
  }
  Tensor gpu_act(const std::vector<float>& v, std::vector<int64_t> shape) {
    return gpu->from_host_f32(v.data(), std::move(shape), DType::BF16);
  }
};

// Checks the bound element by element and prints the figure; returns max |d| / max |cpu|.
inline double expect_close(const std::vector<float>& gpu, const std::vector<float>& cpu,
                           double rtol, double atol, const std::string& what) {
  EXPECT_EQ(gpu.size(), cpu.size()) << what;
  if (gpu.size() != cpu.size()) return INFINITY;
  double max_ref = 0.0;
  for (float v : cpu) max_ref = std::max(max_ref, std::abs(static_cast<double>(v)));
  double max_diff = 0.0;
  size_t bad = 0, first_bad = 0;
  for (size_t i = 0; i < cpu.size(); ++i) {
    const double diff = std::abs(static_cast<double>(gpu[i]) - cpu[i]);
    max_diff = std::max(max_diff, std::isnan(diff) ? INFINITY : diff);
    if (!(diff <= rtol * std::abs(static_cast<double>(cpu[i])) + atol * max_ref)) {
      if (bad++ == 0) first_bad = i;
    }
  }
  const double rel = max_ref > 0 ? max_diff / max_ref : max_diff;
  std::printf("[ figure ] %-58s max|gpu-cpu|/max|cpu| = %.3g\n", what.c_str(), rel);
  EXPECT_EQ(bad, 0u) << what << ": " << bad << " of " << cpu.size()
                     << " values outside the tolerance; first at " << first_bad << " gpu "
                     << (bad ? gpu[first_bad] : 0.0f) << " cpu " << (bad ? cpu[first_bad] : 0.0f);
  return rel;
}

// A CUDA backend created with NAME=VALUE in the environment must refuse with InvalidInput naming
// `words`; the variable is unset afterwards.
inline void expect_env_refused(const char* name, const char* value, const std::string& words) {
  ASSERT_EQ(setenv(name, value, 1), 0);
  try {
    auto backend = cuda::make_cuda_backend(0);
    ADD_FAILURE() << name << "=" << value << " accepted";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::InvalidInput) << e.what();
    EXPECT_NE(std::string(e.what()).find(words), std::string::npos) << e.what();
  }
  unsetenv(name);
}

}  // namespace vlm::gpu_test
