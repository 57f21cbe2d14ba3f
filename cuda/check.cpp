// Error translation for CUDA and cuBLASLt failures (check.h): the message names the call and
// CUDA's own description; sticky context errors are remembered so later calls fail fast and say
// that the process must be restarted to use the GPU again.
#include "check.h"

#include <atomic>
#include <sstream>

namespace vlm::cuda {

namespace {

std::atomic<int> g_sticky_error{0};  // the first sticky cudaError_t seen, 0 = none

}  // namespace

bool is_sticky_error(cudaError_t status) {
  switch (status) {
    case cudaErrorIllegalAddress:
    case cudaErrorLaunchFailure:
    case cudaErrorHardwareStackError:
    case cudaErrorIllegalInstruction:
    case cudaErrorMisalignedAddress:
    case cudaErrorInvalidAddressSpace:
    case cudaErrorInvalidPc:
    case cudaErrorAssert:
    case cudaErrorLaunchTimeout:
    case cudaErrorECCUncorrectable:
    case cudaErrorContextIsDestroyed:
      return true;
    default:
      return false;
  }
}

void throw_cuda_error(cudaError_t status, const char* what, const char* file, int line) {
  std::ostringstream message;
  message << what << " failed: " << cudaGetErrorName(status) << " (" << cudaGetErrorString(status)
          << ")";
  if (is_sticky_error(status)) {
    int expected = 0;
    g_sticky_error.compare_exchange_strong(expected, static_cast<int>(status));
    message << "; this is a sticky error: the CUDA context of this process is unusable, restart "
               "the process to use the GPU again";
  } else if (status == cudaErrorDevicesUnavailable) {
    message << "; the GPU is busy or prohibited (exclusive-process compute mode with another "
               "process holding it?)";
  } else if (status == cudaErrorNoDevice || status == cudaErrorInsufficientDriver) {
    message << "; no usable CUDA device or driver on this machine";
  }
  const ErrorCode code = status == cudaErrorMemoryAllocation ? ErrorCode::OutOfMemory : ErrorCode::Device;
  throw Error(code, message.str(), file, line);
}

void throw_cublas_error(cublasStatus_t status, const char* what, const char* file, int line) {
  std::ostringstream message;
  message << what << " failed: " << cublasLtGetStatusName(status) << " ("
          << cublasLtGetStatusString(status) << ")";
  const ErrorCode code = status == CUBLAS_STATUS_ALLOC_FAILED ? ErrorCode::OutOfMemory
                         : status == CUBLAS_STATUS_NOT_SUPPORTED ? ErrorCode::Unsupported
                                                                 : ErrorCode::Device;
  throw Error(code, message.str(), file, line);
}

void cuda_check_not_broken() {
  const int sticky = g_sticky_error.load();
  if (sticky != 0) {
    const cudaError_t status = static_cast<cudaError_t>(sticky);
    VLM_THROW(Device, "an earlier sticky CUDA error (" << cudaGetErrorName(status) << ": "
                                                       << cudaGetErrorString(status)
                                                       << ") left this process's CUDA context "
                                                          "unusable; restart the process");
  }
}

}  // namespace vlm::cuda
