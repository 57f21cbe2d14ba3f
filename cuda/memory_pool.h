// DevicePool: a caching allocator over plain cudaMalloc for one device (no managed memory).
// Freed blocks go to a size-ordered cache and are reused by later requests of a similar size, so
// a steady-state decode step or a repeated vision shape allocates nothing from the driver. Reuse is
// safe because every user of a pool works on the pool's one stream (stream order = reuse order),
// as in PyTorch's caching allocator. On cudaMalloc failure the cache is returned to the driver and
// the request retried once before OutOfMemory is thrown with the figures.
// Sizes: requests are rounded to 512 B below 1 MiB and to 2 MiB above, to bound fragmentation;
// every block starts 256-byte aligned (cudaMalloc's guarantee), as cuBLASLt prefers.
#pragma once

#include <cstddef>
#include <map>
#include <mutex>
#include <unordered_map>

namespace vlm::cuda {

class DevicePool {
 public:
  explicit DevicePool(int device) : device_(device) {}
  ~DevicePool();
  DevicePool(const DevicePool&) = delete;
  DevicePool& operator=(const DevicePool&) = delete;

  // A block of at least `bytes` (never null; 0 bytes gives a minimal block). Throws OutOfMemory.
  void* allocate(size_t bytes);
  // Returns a block from allocate() to the cache. Never throws (called from tensor deleters).
  void release(void* block) noexcept;
  // Frees every cached block back to the driver (synchronises the device).
  void trim() noexcept;

  size_t bytes_in_use() const;
  size_t bytes_cached() const;
  size_t peak_bytes_in_use() const;

 private:
  static size_t round_size(size_t bytes);

  int device_;
  mutable std::mutex mutex_;
  std::multimap<size_t, void*> cached_;           // size -> free block
  std::unordered_map<void*, size_t> block_sizes_;  // every live or cached block
  size_t in_use_ = 0, cached_bytes_ = 0, peak_ = 0;
};

}  // namespace vlm::cuda
