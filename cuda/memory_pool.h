// DevicePool: a caching allocator over plain cudaMalloc for one device (no managed memory).
// Freed blocks go to a size-ordered cache and are reused by later requests of a similar size, so
// a steady-state decode step or a repeated vision shape allocates nothing from the driver. Reuse is
// safe because every user of a pool works on the pool's one stream (stream order = reuse order),
// as in PyTorch's caching allocator. On cudaMalloc failure the cache is returned to the driver and
// the request retried once before OutOfMemory is thrown with the figures.
// Sizes: requests are rounded to 512 B below 1 MiB and to 2 MiB above, to bound fragmentation;
// every block starts 256-byte aligned (cudaMalloc's guarantee), as cuBLASLt prefers.
// Private sets (for recordings: a CUDA graph replays into the addresses it was captured with):
// between begin_private() and end_private(), every block handed out belongs to a new set, and a
// released set block goes back to its set, never to the shared cache, so no later tensor can be
// given memory a replay writes. drop_private() returns the set's blocks to the shared cache.
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

  // Opens a private set (one at a time; InvalidInput if one is open) and returns its id. While it
  // is open, allocate() serves from the set's own cache, then the shared cache, then cudaMalloc
  // without the trim + retry (trim frees, which a stream capture forbids).
  int begin_private();
  // Closes the open set: later allocations are shared again; its blocks stay private.
  void end_private() noexcept;
  // Returns set `id`'s cached blocks to the shared cache, and makes its live ones shared blocks
  // (their release then goes to the shared cache). Never throws.
  void drop_private(int id) noexcept;

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
  // Private sets: block -> set id, and each set's released blocks (counted as in use: the
  // recording holds them).
  std::unordered_map<void*, int> private_owner_;
  std::map<int, std::multimap<size_t, void*>> private_cached_;
  int open_private_ = -1, next_private_ = 0;
};

}  // namespace vlm::cuda
