// CudaBackend weight bookkeeping (backend_cuda_impl.h): live weight bytes for memory_stats() (vlm
// bench's device-memory report) and the optional K-padded weight copies with their padded GEMM
// (set_pad_unaligned_k). Each uploaded weight's owner carries a deleter that updates the shared
// registry, so the figures stay right when weights die before or after the backend.
#include <string>

#include "backend_cuda_impl.h"
#include "check.h"

namespace vlm::cuda {

Tensor CudaBackend::register_weight(Tensor device) {
  if (device.numel() == 0) return device;
  tune_gemv(device);  // decode's matmul kernel for this shape (Auto mode; backend_cuda_gemv.cpp)
  Tensor padded;
  const int64_t k = device.cols();
  if (pad_unaligned_k_ && device.shape().size() == 2 && device.dtype() == DType::BF16 &&
      k % 8 != 0) {
    const int64_t n = device.rows(), k_padded = (k + 7) / 8 * 8;
    const size_t element = sizeof(bf16_bits);
    padded = alloc(DType::BF16, {n, k_padded});
    VLM_CUDA_CHECK(cudaMemset2DAsync(padded.data_as<char>() + k * element, k_padded * element, 0,
                                     static_cast<size_t>(k_padded - k) * element,
                                     static_cast<size_t>(n), stream_));
    VLM_CUDA_CHECK(cudaMemcpy2DAsync(padded.data(), k_padded * element, device.data(), k * element,
                                     k * element, static_cast<size_t>(n), cudaMemcpyDeviceToDevice,
                                     stream_));
  }
  const int64_t bytes =
      static_cast<int64_t>(device.nbytes()) + (padded.empty() ? 0 : static_cast<int64_t>(padded.nbytes()));
  const void* key = device.data();
  std::shared_ptr<WeightRegistry> registry = weights_;
  {
    std::lock_guard<std::mutex> lock(registry->mutex);
    registry->live_bytes += bytes;
    if (!padded.empty()) registry->padded[key] = padded;
  }
  const bool has_padded = !padded.empty();
  std::shared_ptr<void> owner(device.data(), [inner = device.owner(), registry, key, bytes,
                                               has_padded](void*) {
    std::lock_guard<std::mutex> lock(registry->mutex);
    registry->live_bytes -= bytes;
    if (has_padded) registry->padded.erase(key);
  });
  return Tensor(device.data(), device.dtype(), device.shape(), std::move(owner));
}

bool CudaBackend::matmul_padded_k(const Tensor& x, const Tensor& w, const Tensor& bias, Tensor& y,
                                  const MatmulShape& shape) {
  Tensor padded;
  {
    std::lock_guard<std::mutex> lock(weights_->mutex);
    if (weights_->padded.empty()) return false;
    const auto found = weights_->padded.find(w.data());
    if (found == weights_->padded.end()) return false;
    padded = found->second;
  }
  // A view starting at the weight's first row (fewer rows) still matches the padded rows.
  if (shape.n > padded.rows()) return false;
  const int64_t m = shape.m, k = shape.k, k_padded = padded.cols();
  const size_t element = sizeof(bf16_bits);
  Tensor x_padded = alloc(DType::BF16, {m, k_padded});
  VLM_CUDA_CHECK(cudaMemset2DAsync(x_padded.data_as<char>() + k * element, k_padded * element, 0,
                                   static_cast<size_t>(k_padded - k) * element,
                                   static_cast<size_t>(m), stream_));
  VLM_CUDA_CHECK(cudaMemcpy2DAsync(x_padded.data(), k_padded * element, x.data(), k * element,
                                   k * element, static_cast<size_t>(m), cudaMemcpyDeviceToDevice,
                                   stream_));
  gemm_->run(x_padded.data(), padded.data(), bias.empty() ? nullptr : bias.data(), y.data(), m,
             shape.n, k_padded);
  return true;
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
