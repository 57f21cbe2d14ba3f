// GemmRunner (gemm_cublaslt.h): cuBLASLt bf16 GEMM with f32 accumulation and bias epilogue.
// Column-major view of the row-major problem: D[N, M] = op(A)·B with A = w seen as [K, N]
// (ld K, transposed), B = x seen as [K, M] (ld K), D = y seen as [N, M] (ld N).
// K need not be a multiple of 8 (the ViT MLP's 3420): cuBLASLt then picks less-aligned kernels;
// padding such weights at load time is a measured decision left to the device check.
#include "gemm_cublaslt.h"

#include <algorithm>
#include <sstream>

#include "check.h"
#include "memory_pool.h"

namespace vlm::cuda {

namespace {

constexpr size_t kWorkspaceBytes = size_t{32} << 20;

int pointer_alignment(const void* p) {
  const uintptr_t address = reinterpret_cast<uintptr_t>(p);
  int alignment = 256;
  while (alignment > 2 && address % static_cast<uintptr_t>(alignment) != 0) alignment /= 2;
  return alignment;
}

}  // namespace

GemmRunner::GemmRunner(cudaStream_t stream, DevicePool& pool) : stream_(stream), pool_(pool) {
  VLM_CUBLAS_CHECK(cublasLtCreate(&handle_));
  workspace_ = pool_.allocate(kWorkspaceBytes);
  workspace_bytes_ = kWorkspaceBytes;
}

GemmRunner::~GemmRunner() {
  for (auto& [key, plan] : plans_) destroy(plan);
  if (workspace_ != nullptr) pool_.release(workspace_);
  if (handle_ != nullptr) (void)cublasLtDestroy(handle_);
}

void GemmRunner::destroy(Plan& plan) noexcept {
  if (plan.layout_w != nullptr) (void)cublasLtMatrixLayoutDestroy(plan.layout_w);
  if (plan.layout_x != nullptr) (void)cublasLtMatrixLayoutDestroy(plan.layout_x);
  if (plan.layout_y != nullptr) (void)cublasLtMatrixLayoutDestroy(plan.layout_y);
  if (plan.desc != nullptr) (void)cublasLtMatmulDescDestroy(plan.desc);
  plan = Plan{};
}

GemmRunner::Plan& GemmRunner::plan_for(const PlanKey& key) {
  auto found = plans_.find(key);
  if (found != plans_.end()) return found->second;
  const auto [m, n, k, has_bias, align_x, align_w, align_bias, align_y] = key;
  Plan plan;
  cublasLtMatmulPreference_t preference = nullptr;
  try {
    VLM_CUBLAS_CHECK(cublasLtMatmulDescCreate(&plan.desc, CUBLAS_COMPUTE_32F, CUDA_R_32F));
    const cublasOperation_t transpose = CUBLAS_OP_T, keep = CUBLAS_OP_N;
    VLM_CUBLAS_CHECK(cublasLtMatmulDescSetAttribute(plan.desc, CUBLASLT_MATMUL_DESC_TRANSA,
                                                    &transpose, sizeof transpose));
    VLM_CUBLAS_CHECK(cublasLtMatmulDescSetAttribute(plan.desc, CUBLASLT_MATMUL_DESC_TRANSB, &keep,
                                                    sizeof keep));
    if (has_bias) {
      const cublasLtEpilogue_t epilogue = CUBLASLT_EPILOGUE_BIAS;
      const cudaDataType_t bias_type = CUDA_R_16BF;
      VLM_CUBLAS_CHECK(cublasLtMatmulDescSetAttribute(plan.desc, CUBLASLT_MATMUL_DESC_EPILOGUE,
                                                      &epilogue, sizeof epilogue));
      VLM_CUBLAS_CHECK(cublasLtMatmulDescSetAttribute(
          plan.desc, CUBLASLT_MATMUL_DESC_BIAS_DATA_TYPE, &bias_type, sizeof bias_type));
    }
    const auto u = [](int64_t v) { return static_cast<uint64_t>(v); };
    VLM_CUBLAS_CHECK(cublasLtMatrixLayoutCreate(&plan.layout_w, CUDA_R_16BF, u(k), u(n), k));
    VLM_CUBLAS_CHECK(cublasLtMatrixLayoutCreate(&plan.layout_x, CUDA_R_16BF, u(k), u(m), k));
    VLM_CUBLAS_CHECK(cublasLtMatrixLayoutCreate(&plan.layout_y, CUDA_R_16BF, u(n), u(m), n));

    VLM_CUBLAS_CHECK(cublasLtMatmulPreferenceCreate(&preference));
    const uint64_t workspace = workspace_bytes_;
    const uint32_t a_align = static_cast<uint32_t>(align_w), b_align = static_cast<uint32_t>(align_x);
    const uint32_t c_align = static_cast<uint32_t>(align_y);
    VLM_CUBLAS_CHECK(cublasLtMatmulPreferenceSetAttribute(
        preference, CUBLASLT_MATMUL_PREF_MAX_WORKSPACE_BYTES, &workspace, sizeof workspace));
    VLM_CUBLAS_CHECK(cublasLtMatmulPreferenceSetAttribute(
        preference, CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_A_BYTES, &a_align, sizeof a_align));
    VLM_CUBLAS_CHECK(cublasLtMatmulPreferenceSetAttribute(
        preference, CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_B_BYTES, &b_align, sizeof b_align));
    VLM_CUBLAS_CHECK(cublasLtMatmulPreferenceSetAttribute(
        preference, CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_C_BYTES, &c_align, sizeof c_align));
    VLM_CUBLAS_CHECK(cublasLtMatmulPreferenceSetAttribute(
        preference, CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_D_BYTES, &c_align, sizeof c_align));
    (void)align_bias;  // the bias pointer is checked for 16-bit alignment by the caller

    cublasLtMatmulHeuristicResult_t result{};
    int returned = 0;
    VLM_CUBLAS_CHECK(cublasLtMatmulAlgoGetHeuristic(handle_, plan.desc, plan.layout_w,
                                                    plan.layout_x, plan.layout_y, plan.layout_y,
                                                    preference, 1, &result, &returned));
    if (returned == 0) {
      VLM_THROW(Unsupported, "matmul: cuBLASLt has no bf16 algorithm for M=" << m << " N=" << n
                                 << " K=" << k << (has_bias ? " with bias" : "")
                                 << " (alignments x " << align_x << ", w " << align_w << ", y "
                                 << align_y << " bytes)");
    }
    plan.algo = result.algo;
    (void)cublasLtMatmulPreferenceDestroy(preference);
  } catch (...) {
    if (preference != nullptr) (void)cublasLtMatmulPreferenceDestroy(preference);
    destroy(plan);
    throw;
  }
  return plans_.emplace(key, plan).first->second;
}

void GemmRunner::run(const void* x, const void* w, const void* bias, void* y, int64_t m, int64_t n,
                     int64_t k) {
  const PlanKey key{m, n, k, bias != nullptr, pointer_alignment(x), pointer_alignment(w),
                    bias != nullptr ? pointer_alignment(bias) : 0, pointer_alignment(y)};
  Plan& plan = plan_for(key);
  if (bias != nullptr) {
    VLM_CUBLAS_CHECK(cublasLtMatmulDescSetAttribute(plan.desc, CUBLASLT_MATMUL_DESC_BIAS_POINTER,
                                                    &bias, sizeof bias));
  }
  const float alpha = 1.0f, beta = 0.0f;
  VLM_CUBLAS_CHECK(cublasLtMatmul(handle_, plan.desc, &alpha, w, plan.layout_w, x, plan.layout_x,
                                  &beta, y, plan.layout_y, y, plan.layout_y, &plan.algo, workspace_,
                                  workspace_bytes_, stream_));
}

}  // namespace vlm::cuda
