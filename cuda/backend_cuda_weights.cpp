// CudaBackend weight bookkeeping (backend_cuda_impl.h): every uploaded weight is complete when
// upload returns, and its live bytes count for memory_stats() (vlm bench's device-memory report).
// Each uploaded weight's owner carries a deleter that updates the shared registry, so the figures
// stay right when weights die before or after the backend.
#include <memory>
#include <mutex>

#include "backend_cuda_impl.h"
#include "check.h"

namespace vlm::cuda {

Tensor CudaBackend::register_weight(Tensor device) {
  if (device.numel() == 0) return device;
  // The weight's bytes are complete before any kernel may read them: a GEMV under programmatic
  // launch (kernels/gemv.cu) loads weights before it waits for the kernels ahead of it, which
  // may include the conversion kernel that wrote them.
  wait_for_stream();
  tune_gemv(device);  // decode's matmul kernel for this shape (Auto mode; backend_cuda_gemv.cpp)
  const int64_t bytes = static_cast<int64_t>(device.nbytes());
  std::shared_ptr<WeightRegistry> registry = weights_;
  {
    std::lock_guard<std::mutex> lock(registry->mutex);
    registry->live_bytes += bytes;
  }
  std::shared_ptr<void> owner(device.data(), [inner = device.owner(), registry, bytes](void*) {
    std::lock_guard<std::mutex> lock(registry->mutex);
    registry->live_bytes -= bytes;
  });
  return Tensor(device.data(), device.dtype(), device.shape(), std::move(owner));
}

BackendMemoryStats CudaBackend::memory_stats() const {
  BackendMemoryStats stats;
  stats.available = true;
  {
    std::lock_guard<std::mutex> lock(weights_->mutex);
    stats.weight_bytes = weights_->live_bytes;
  }
  stats.in_use_bytes = static_cast<int64_t>(pool_->bytes_in_use());
  stats.peak_in_use_bytes = static_cast<int64_t>(pool_->peak_bytes_in_use());
  stats.cached_bytes = static_cast<int64_t>(pool_->bytes_cached());
  return stats;
}

}  // namespace vlm::cuda
