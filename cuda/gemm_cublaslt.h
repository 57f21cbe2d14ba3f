// GemmRunner: y[M,N] = x[M,K] · w[N,K]ᵀ (+ bias[N]) in bf16 with f32 accumulation through
// cuBLASLt, the bias added by the matmul's epilogue (no extra pass). Row-major operands are fed as
// their column-major transposes (yᵀ = w · xᵀ), so no data moves. A plan (descriptors, layouts and
// the heuristic's best algorithm) is cached per shape and pointer alignment, so steady-state calls
// cost one cublasLtMatmul. One runner per backend; it uses the backend's stream.
#pragma once

#include <cublasLt.h>
#include <cuda_runtime_api.h>

#include <cstdint>
#include <map>
#include <tuple>

namespace vlm::cuda {

class DevicePool;

class GemmRunner {
 public:
  GemmRunner(cudaStream_t stream, DevicePool& pool);
  ~GemmRunner();
  GemmRunner(const GemmRunner&) = delete;
  GemmRunner& operator=(const GemmRunner&) = delete;

  // All pointers are device bf16; bias may be null. m, n, k > 0.
  void run(const void* x, const void* w, const void* bias, void* y, int64_t m, int64_t n, int64_t k);

 private:
  struct Plan {
    cublasLtMatmulDesc_t desc = nullptr;
    cublasLtMatrixLayout_t layout_w = nullptr, layout_x = nullptr, layout_y = nullptr;
    cublasLtMatmulAlgo_t algo{};
  };
  // m, n, k, has_bias, alignments of x, w, bias, y (bytes, capped at 256).
  using PlanKey = std::tuple<int64_t, int64_t, int64_t, bool, int, int, int, int>;

  Plan& plan_for(const PlanKey& key);
  static void destroy(Plan& plan) noexcept;

  cudaStream_t stream_;
  DevicePool& pool_;
  cublasLtHandle_t handle_ = nullptr;
  void* workspace_ = nullptr;
  size_t workspace_bytes_ = 0;
  std::map<PlanKey, Plan> plans_;
};

}  // namespace vlm::cuda
