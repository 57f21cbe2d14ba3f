// The choice of cuBLASLt's algorithm per GEMM shape (cuda/gemm_cublaslt.h): a measured plan keeps
// the fastest candidate that ran (the heuristic's first unless another beats it by the margin),
// gives the CPU's result and the heuristic's result up to summation order, and never changes
// afterwards; a shape first met inside a recording takes the heuristic's first and keeps it, so a
// replay and later eager calls compute alike; small problems and the heuristic mode are not
// measured; VLM_CUDA_GEMM_TUNE=0 turns measuring off and other values are refused. Each measured
// plan's record is printed as a figure (on a GPU: what the timing found at these shapes).
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdio>
#include <string>

#include "backend_cuda_impl.h"
#include "parity.h"

namespace vlm::gpu_test {
namespace {

struct Problem {
  int64_t m, n, k;
  bool bias;
};

std::string describe(const Problem& p) {
  return "M=" + std::to_string(p.m) + " N=" + std::to_string(p.n) + " K=" + std::to_string(p.k) +
         (p.bias ? " +bias" : "");
}

// One matmul on each backend from the same bf16 inputs; returns {gpu, cpu} outputs.
struct Outputs {
  std::vector<float> gpu, cpu;
};
Outputs run_matmul(Backends& b, const Problem& p, uint32_t seed) {
  const auto x = random_bf16(static_cast<size_t>(p.m * p.k), seed);
  const auto w = random_bf16(static_cast<size_t>(p.n * p.k), seed + 1, -0.05f, 0.05f);
  const auto bias = random_bf16(static_cast<size_t>(p.n), seed + 2);
  Tensor cpu_y = b.cpu->alloc(DType::F32, {p.m, p.n});
  Tensor gpu_y = b.gpu->alloc(DType::BF16, {p.m, p.n});
  b.cpu->matmul(b.cpu_act(x, {p.m, p.k}), b.cpu->upload_weight(host_bf16(w, {p.n, p.k})),
                p.bias ? b.cpu->upload_weight(host_bf16(bias, {p.n})) : Tensor(), cpu_y);
  b.gpu->matmul(b.gpu_act(x, {p.m, p.k}), b.gpu->upload_weight(host_bf16(w, {p.n, p.k})),
                p.bias ? b.gpu->upload_weight(host_bf16(bias, {p.n})) : Tensor(), gpu_y);
  return {b.gpu->to_host_f32(gpu_y), b.cpu->to_host_f32(cpu_y)};
}

// The records of p's shape (uploading a weight also measures its one-row shape: the GEMV choice).
std::vector<cuda::GemmTuneRecord> records_of(const cuda::CudaBackend& cuda, const Problem& p) {
  std::vector<cuda::GemmTuneRecord> found;
  for (const cuda::GemmTuneRecord& r : cuda.gemm_tune_records()) {
    if (r.m == p.m && r.n == p.n && r.k == p.k && r.bias == p.bias) found.push_back(r);
  }
  return found;
}

TEST(GpuGemmTuning, MeasuredPlanKeepsTheFastestCandidateAndTheCpuResult) {
  Backends b;
  auto& cuda = dynamic_cast<cuda::CudaBackend&>(*b.gpu);
  const cuda::GemmTuning measured{.measure = true, .min_macs = 0};
  cuda.set_gemm_tuning(measured);
  const Problem problems[] = {{97, 200, 72, true}, {1025, 64, 80, false}, {3, 151, 37, true}};
  uint32_t seed = 100;
  for (const Problem& p : problems) {
    ASSERT_TRUE(records_of(cuda, p).empty());
    const Outputs first = run_matmul(b, p, seed);
    ASSERT_EQ(records_of(cuda, p).size(), 1u) << describe(p) << ": not measured";
    const cuda::GemmTuneRecord record = records_of(cuda, p).front();
    ASSERT_GE(record.candidates, 1);
    ASSERT_EQ(record.candidate_ms.size(), static_cast<size_t>(record.candidates));
    ASSERT_LT(record.refused, record.candidates);
    ASSERT_GE(record.chosen, 0);
    ASSERT_LT(record.chosen, record.candidates);
    const auto& ms = record.candidate_ms;
    const float kept = ms[static_cast<size_t>(record.chosen)];
    EXPECT_GE(kept, 0.0f) << "a refused candidate was kept";
    EXPECT_EQ(std::count_if(ms.begin(), ms.end(), [](float t) { return t < 0.0f; }), record.refused);
    for (size_t i = 0; i < ms.size(); ++i) {
      if (ms[i] < 0.0f) continue;
      // Nothing that ran is faster than the kept one, except by less than the margin when the
      // kept one is the heuristic's first.
      const float floor = record.chosen == 0 ? kept * (1.0f - measured.margin) : kept;
      EXPECT_GE(ms[i], floor) << describe(p) << ": candidate " << i;
    }
    if (record.chosen != 0 && ms[0] >= 0.0f) {
      EXPECT_LT(kept, ms[0] * (1.0f - measured.margin)) << describe(p) << ": margin not applied";
    }
    std::printf("[ figure ] gemm tuning %-26s %d candidate(s), %d refused, kept #%d (%.1f us; first %.1f us)\n",
                describe(p).c_str(), record.candidates, record.refused, record.chosen, kept * 1e3f,
                ms[0] * 1e3f);
    expect_close(first.gpu, first.cpu, kBf16HalfUlp, 1e-3, "measured plan, " + describe(p));
    // The plan stays: the same shape again is not measured and computes bit for bit alike.
    const Outputs again = run_matmul(b, p, seed);
    EXPECT_EQ(records_of(cuda, p).size(), 1u) << describe(p) << ": measured twice";
    EXPECT_EQ(again.gpu, first.gpu) << describe(p);
    // The heuristic's first gives the same values up to summation order.
    cuda.set_gemm_tuning({.measure = false});
    const Outputs heuristic = run_matmul(b, p, seed);
    expect_close(heuristic.gpu, first.gpu, 2 * kBf16HalfUlp, 1e-3,
                 "heuristic's first vs measured, " + describe(p));
    cuda.set_gemm_tuning(measured);
    seed += 10;
  }
}

TEST(GpuGemmTuning, ShapeFirstMetInARecordingKeepsTheHeuristicsFirst) {
  Backends b;
  auto& cuda = dynamic_cast<cuda::CudaBackend&>(*b.gpu);
  cuda.set_gemm_tuning({.measure = true, .min_macs = 0});
  const Problem p{33, 48, 64, true};
  const auto x = random_bf16(static_cast<size_t>(p.m * p.k), 7);
  const auto w = random_bf16(static_cast<size_t>(p.n * p.k), 8, -0.05f, 0.05f);
  const auto bias = random_bf16(static_cast<size_t>(p.n), 9);
  Tensor gx = b.gpu_act(x, {p.m, p.k});
  Tensor gw = b.gpu->upload_weight(host_bf16(w, {p.n, p.k}));
  Tensor gb = b.gpu->upload_weight(host_bf16(bias, {p.n}));
  Tensor gy = b.gpu->alloc(DType::BF16, {p.m, p.n});
  auto recording = cuda.record([&] { cuda.matmul(gx, gw, gb, gy); });
  EXPECT_TRUE(records_of(cuda, p).empty()) << "measured inside a capture";
  recording->replay();
  const std::vector<float> replayed = cuda.to_host_f32(gy);
  Tensor eager_y = cuda.alloc(DType::BF16, {p.m, p.n});
  cuda.matmul(gx, gw, gb, eager_y);
  EXPECT_TRUE(records_of(cuda, p).empty()) << "the plan made in the capture was measured later";
  EXPECT_EQ(cuda.to_host_f32(eager_y), replayed);
  Tensor cpu_y = b.cpu->alloc(DType::F32, {p.m, p.n});
  b.cpu->matmul(b.cpu_act(x, {p.m, p.k}), b.cpu->upload_weight(host_bf16(w, {p.n, p.k})),
                b.cpu->upload_weight(host_bf16(bias, {p.n})), cpu_y);
  expect_close(replayed, b.cpu->to_host_f32(cpu_y), kBf16HalfUlp, 1e-3, "plan made in a capture");
}

TEST(GpuGemmTuning, SmallProblemsAndTheHeuristicModeAreNotMeasured) {
  Backends b;
  auto& cuda = dynamic_cast<cuda::CudaBackend&>(*b.gpu);
  EXPECT_TRUE(cuda.gemm_tuning().measure) << "measuring is the default";
  const Problem small{8, 16, 32, false};  // 4096 multiply-adds, far below the default minimum
  ASSERT_LT(small.m * small.n * small.k, cuda.gemm_tuning().min_macs);
  const Outputs tiny = run_matmul(b, small, 21);
  EXPECT_TRUE(cuda.gemm_tune_records().empty());
  expect_close(tiny.gpu, tiny.cpu, kBf16HalfUlp, 1e-3, "small problem, heuristic's first");
  cuda.set_gemm_tuning({.measure = false, .min_macs = 0});
  const Outputs unmeasured = run_matmul(b, {40, 24, 56, true}, 31);
  EXPECT_TRUE(cuda.gemm_tune_records().empty());
  expect_close(unmeasured.gpu, unmeasured.cpu, kBf16HalfUlp, 1e-3, "heuristic mode");
}

TEST(GpuGemmTuning, EnvironmentTurnsMeasuringOffOrIsRefused) {
  ASSERT_EQ(setenv("VLM_CUDA_GEMM_TUNE", "0", 1), 0);
  {
    auto backend = cuda::make_cuda_backend(0);
    EXPECT_FALSE(dynamic_cast<cuda::CudaBackend&>(*backend).gemm_tuning().measure);
  }
  expect_env_refused("VLM_CUDA_GEMM_TUNE", "on", "VLM_CUDA_GEMM_TUNE=on: expected 1 or 0");
  auto backend = cuda::make_cuda_backend(0);
  EXPECT_TRUE(dynamic_cast<cuda::CudaBackend&>(*backend).gemm_tuning().measure);
}

}  // namespace
}  // namespace vlm::gpu_test
