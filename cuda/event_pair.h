// Two CUDA events for timing work on a stream, destroyed whatever happens (a failed creation
// throws vlm::Error through check.h). Shared by the measured choices: cuBLASLt's algorithm per
// GEMM shape (gemm_cublaslt_tuning.cpp), our GEMV or cuBLASLt per one-row shape
// (backend_cuda_gemv.cpp) and the attention kernel per kind of call
// (backend_cuda_attention_choice.cpp).
#pragma once

#include <cuda_runtime_api.h>

#include "check.h"

namespace vlm::cuda {

struct EventPair {
  cudaEvent_t start = nullptr, stop = nullptr;
  EventPair() {
    VLM_CUDA_CHECK(cudaEventCreate(&start));
    if (const cudaError_t status = cudaEventCreate(&stop); status != cudaSuccess) {
      (void)cudaEventDestroy(start);
      VLM_CUDA_CHECK(status);
    }
  }
  ~EventPair() {
    (void)cudaEventDestroy(start);
    (void)cudaEventDestroy(stop);
  }
  EventPair(const EventPair&) = delete;
  EventPair& operator=(const EventPair&) = delete;

  // Milliseconds between the two events, once `stop` has been reached.
  float elapsed_ms() const {
    VLM_CUDA_CHECK(cudaEventSynchronize(stop));
    float ms = 0.0f;
    VLM_CUDA_CHECK(cudaEventElapsedTime(&ms, start, stop));
    return ms;
  }
};

}  // namespace vlm::cuda
