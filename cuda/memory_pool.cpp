// DevicePool (memory_pool.h): the caching allocator behind every CUDA tensor.
#include "memory_pool.h"

#include <cuda_runtime_api.h>

#include <algorithm>
#include <vector>

#include "check.h"

namespace vlm::cuda {

DevicePool::~DevicePool() { trim(); }

size_t DevicePool::round_size(size_t bytes) {
  constexpr size_t kSmall = 512, kLarge = size_t{2} << 20, kLargeFrom = size_t{1} << 20;
  bytes = std::max<size_t>(bytes, 1);
  if (bytes < kLargeFrom) return (bytes + kSmall - 1) / kSmall * kSmall;
  return (bytes + kLarge - 1) / kLarge * kLarge;
}

void* DevicePool::allocate(size_t bytes) {
  const size_t size = round_size(bytes);
  {
    std::lock_guard<std::mutex> lock(mutex_);
    // Best fit, but never a block more than twice the request (it would waste memory).
    auto it = cached_.lower_bound(size);
    if (it != cached_.end() && it->first <= 2 * size) {
      void* block = it->second;
      cached_bytes_ -= it->first;
      in_use_ += it->first;
      peak_ = std::max(peak_, in_use_);
      cached_.erase(it);
      return block;
    }
  }
  VLM_CUDA_CHECK(cudaSetDevice(device_));
  void* block = nullptr;
  cudaError_t status = cudaMalloc(&block, size);
  if (status == cudaErrorMemoryAllocation) {
    (void)cudaGetLastError();  // clear the (non-sticky) allocation error, free the cache, retry
    trim();
    status = cudaMalloc(&block, size);
  }
  if (status != cudaSuccess) {
    if (status == cudaErrorMemoryAllocation) (void)cudaGetLastError();
    size_t free_bytes = 0, total_bytes = 0;
    (void)cudaMemGetInfo(&free_bytes, &total_bytes);
    std::lock_guard<std::mutex> lock(mutex_);
    if (status == cudaErrorMemoryAllocation) {
      VLM_THROW(OutOfMemory, "cuda:" << device_ << ": cannot allocate " << bytes << " bytes ("
                                     << cudaGetErrorString(status) << "); this backend holds "
                                     << in_use_ << " bytes, the device has " << free_bytes
                                     << " of " << total_bytes << " bytes free");
    }
    throw_cuda_error(status, "cudaMalloc", __FILE__, __LINE__);
  }
  std::lock_guard<std::mutex> lock(mutex_);
  block_sizes_[block] = size;
  in_use_ += size;
  peak_ = std::max(peak_, in_use_);
  return block;
}

void DevicePool::release(void* block) noexcept {
  if (block == nullptr) return;
  std::lock_guard<std::mutex> lock(mutex_);
  auto it = block_sizes_.find(block);
  if (it == block_sizes_.end()) return;  // not ours: ignore rather than corrupt the cache
  in_use_ -= it->second;
  cached_bytes_ += it->second;
  cached_.emplace(it->second, block);
}

void DevicePool::trim() noexcept {
  std::vector<void*> blocks;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    for (const auto& [size, block] : cached_) {
      blocks.push_back(block);
      block_sizes_.erase(block);
    }
    cached_.clear();
    cached_bytes_ = 0;
  }
  if (blocks.empty()) return;
  if (cudaSetDevice(device_) != cudaSuccess) return;
  for (void* block : blocks) (void)cudaFree(block);  // errors here only mean the context is gone
}

size_t DevicePool::bytes_in_use() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return in_use_;
}

size_t DevicePool::bytes_cached() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return cached_bytes_;
}

size_t DevicePool::peak_bytes_in_use() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return peak_;
}

}  // namespace vlm::cuda
