// Check macros for the CUDA runtime and cuBLASLt: a failed call becomes vlm::Error with the call's
// text, CUDA's error name and description, and file:line. Codes: allocation failures are
// OutOfMemory, everything else Device. Sticky errors (illegal address, launch failure, ...) leave
// the process's CUDA context unusable: they are reported as such, remembered process-wide, and
// every later CUDA backend call fails fast with the first sticky error (cuda_check_not_broken()).
// Host-side only (compiled by the C++ compiler with the CUDA include path).
#pragma once

#include <cublasLt.h>
#include <cuda_runtime_api.h>

#include "vlm/error.h"

namespace vlm::cuda {

// True for the errors after which the CUDA context cannot be used again by this process.
bool is_sticky_error(cudaError_t status);
[[noreturn]] void throw_cuda_error(cudaError_t status, const char* what, const char* file, int line);
[[noreturn]] void throw_cublas_error(cublasStatus_t status, const char* what, const char* file,
                                     int line);
// Throws Device when a sticky error was seen earlier in this process.
void cuda_check_not_broken();

}  // namespace vlm::cuda

#define VLM_CUDA_CHECK(expr_)                                                        \
  do {                                                                               \
    const cudaError_t vlm_cuda_status_ = (expr_);                                    \
    if (vlm_cuda_status_ != cudaSuccess) {                                           \
      ::vlm::cuda::throw_cuda_error(vlm_cuda_status_, #expr_, __FILE__, __LINE__);   \
    }                                                                                \
  } while (0)

#define VLM_CUBLAS_CHECK(expr_)                                                      \
  do {                                                                               \
    const cublasStatus_t vlm_cublas_status_ = (expr_);                               \
    if (vlm_cublas_status_ != CUBLAS_STATUS_SUCCESS) {                               \
      ::vlm::cuda::throw_cublas_error(vlm_cublas_status_, #expr_, __FILE__, __LINE__); \
    }                                                                                \
  } while (0)

// After a kernel launch: launch configuration errors and earlier asynchronous faults.
#define VLM_CUDA_CHECK_LAUNCH(what_) VLM_CUDA_CHECK((static_cast<void>(what_), cudaGetLastError()))
