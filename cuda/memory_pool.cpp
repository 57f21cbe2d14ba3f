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
  bool in_private = false;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    in_private = open_private_ >= 0;
    // Best fit, but never a block more than twice the request (it would waste memory).
    if (in_private) {
      auto& own = private_cached_[open_private_];
      auto it = own.lower_bound(size);
      if (it != own.end() && it->first <= 2 * size) {
        void* block = it->second;  // already counted in use
        own.erase(it);
        return block;
      }
    }
    auto it = cached_.lower_bound(size);
    if (it != cached_.end() && it->first <= 2 * size) {
      void* block = it->second;
      cached_bytes_ -= it->first;
      in_use_ += it->first;
      peak_ = std::max(peak_, in_use_);
      cached_.erase(it);
      if (in_private) private_owner_[block] = open_private_;
      return block;
    }
  }
  VLM_CUDA_CHECK(cudaSetDevice(device_));
  void* block = nullptr;
  cudaError_t status = cudaMalloc(&block, size);
  if (status == cudaErrorMemoryAllocation && !in_private) {
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
  if (open_private_ >= 0) private_owner_[block] = open_private_;
  return block;
}

void DevicePool::release(void* block) noexcept {
  if (block == nullptr) return;
  std::lock_guard<std::mutex> lock(mutex_);
  auto it = block_sizes_.find(block);
  if (it == block_sizes_.end()) return;  // not ours: ignore rather than corrupt the cache
  const auto owner = private_owner_.find(block);
  if (owner != private_owner_.end()) {  // back to its set, still counted in use
    private_cached_[owner->second].emplace(it->second, block);
    return;
  }
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

int DevicePool::begin_private() {
  std::lock_guard<std::mutex> lock(mutex_);
  VLM_CHECK(open_private_ < 0, InvalidInput, "cuda pool: a private set (recording) is already open");
  open_private_ = next_private_++;
  private_cached_[open_private_];
  return open_private_;
}

void DevicePool::end_private() noexcept {
  std::lock_guard<std::mutex> lock(mutex_);
  open_private_ = -1;
}

void DevicePool::drop_private(int id) noexcept {
  std::lock_guard<std::mutex> lock(mutex_);
  if (open_private_ == id) open_private_ = -1;
  const auto set = private_cached_.find(id);
  if (set != private_cached_.end()) {
    for (const auto& [size, block] : set->second) {
      in_use_ -= size;
      cached_bytes_ += size;
      cached_.emplace(size, block);
    }
    private_cached_.erase(set);
  }
  std::erase_if(private_owner_, [id](const auto& entry) { return entry.second == id; });
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
