// GemmRunner: y[M,N] = x[M,K] · w[N,K]ᵀ (+ bias[N]) in bf16 with f32 accumulation through
// cuBLASLt, the bias added by the matmul's epilogue (no extra pass). Row-major operands are fed as
// their column-major transposes (yᵀ = w · xᵀ), so no data moves. A plan (descriptors, layouts and
// one algorithm) is made on a shape's first call and cached per shape and pointer alignment, so
// steady-state calls cost one cublasLtMatmul. One runner per backend; it uses the backend's stream.
// The algorithm: cuBLASLt's heuristic ranks candidates without running them, and its first is not
// always the fastest at shapes like the ViT's (N = 3424, K = 1280 or 3424); so by default the plan
// of a large enough problem times the heuristic's first candidates on that first call's own
// operands and keeps the fastest (gemm_cublaslt_tuning.cpp). A plan never changes afterwards, so
// within one process every call of a shape uses one algorithm (a recorded step replays what eager
// calls compute); across processes the choice can differ within timing noise.
#pragma once

#include <cublasLt.h>
#include <cuda_runtime_api.h>

#include <cstdint>
#include <map>
#include <tuple>
#include <vector>

namespace vlm::cuda {

class DevicePool;

// How a new plan picks its algorithm. With `measure`, a plan made outside a stream capture for a
// problem of at least min_macs multiply-adds (M·N·K) times up to max_candidates of the heuristic's
// algorithms on its first call and keeps the fastest; otherwise (or when the heuristic offers one)
// it takes the heuristic's first.
struct GemmTuning {
  bool measure = true;
  int64_t min_macs = int64_t{1} << 24;  // ~34 MFLOP: a few microseconds of tensor-core time
  int max_candidates = 8;
  float margin = 0.03f;  // another candidate is kept only when faster than the first by this share
};

// What the measurement found for one plan (times per call, best of the rounds).
struct GemmTuneRecord {
  int64_t m = 0, n = 0, k = 0;
  bool bias = false;
  int candidates = 0;  // algorithms the heuristic offered and that were timed or refused
  int refused = 0;     // of those, how many did not run (their status was not success)
  int chosen = 0;      // index of the kept algorithm in the heuristic's order
  std::vector<float> candidate_ms;  // per candidate in the heuristic's order; < 0: refused
};

class GemmRunner {
 public:
  GemmRunner(cudaStream_t stream, DevicePool& pool);
  ~GemmRunner();
  GemmRunner(const GemmRunner&) = delete;
  GemmRunner& operator=(const GemmRunner&) = delete;

  // All pointers are device bf16; bias may be null. m, n, k > 0.
  void run(const void* x, const void* w, const void* bias, void* y, int64_t m, int64_t n, int64_t k);
  // Whether a call with these operands would time candidates: the first call of its shape (no
  // plan yet), measured by the tuning's rules.
  bool would_measure(const void* x, const void* w, const void* bias, const void* y, int64_t m,
                     int64_t n, int64_t k) const;

  // Applies to plans made from now on: every cached plan is dropped (work already enqueued or
  // recorded keeps its algorithm).
  void set_tuning(const GemmTuning& tuning);
  const GemmTuning& tuning() const { return tuning_; }
  // One record per measured plan, in the order they were made.
  const std::vector<GemmTuneRecord>& tune_records() const { return tune_records_; }

 private:
  struct Plan {
    cublasLtMatmulDesc_t desc = nullptr;
    cublasLtMatrixLayout_t layout_w = nullptr, layout_x = nullptr, layout_y = nullptr;
    cublasLtMatmulAlgo_t algo{};
  };
  // m, n, k, has_bias, alignments of x, w, bias, y (bytes, capped at 256).
  using PlanKey = std::tuple<int64_t, int64_t, int64_t, bool, int, int, int, int>;
  struct Operands {
    const void* x;
    const void* w;
    const void* bias;
    void* y;
  };

  static PlanKey key_of(const void* x, const void* w, const void* bias, const void* y, int64_t m,
                        int64_t n, int64_t k);
  Plan& plan_for(const PlanKey& key, const Operands& operands);
  // The heuristic's candidates for the plan's descriptors, best first (at most `count`).
  std::vector<cublasLtMatmulAlgo_t> candidates(const PlanKey& key, const Plan& plan, int count);
  bool should_measure(const PlanKey& key) const;
  // Times the candidates on the operands (gemm_cublaslt_tuning.cpp); returns the kept index.
  size_t measure(const PlanKey& key, Plan& plan, const std::vector<cublasLtMatmulAlgo_t>& algos,
                 const Operands& operands);
  // One cublasLtMatmul with `algo` (the bias pointer set first); its status, not thrown.
  cublasStatus_t launch(Plan& plan, const cublasLtMatmulAlgo_t& algo, const Operands& operands);
  static void destroy(Plan& plan) noexcept;

  cudaStream_t stream_;
  DevicePool& pool_;
  cublasLtHandle_t handle_ = nullptr;
  void* workspace_ = nullptr;
  size_t workspace_bytes_ = 0;
  std::map<PlanKey, Plan> plans_;
  GemmTuning tuning_;
  std::vector<GemmTuneRecord> tune_records_;
};

}  // namespace vlm::cuda
