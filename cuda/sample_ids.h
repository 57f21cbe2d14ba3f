// Host-side preparation of Backend::sample's id lists for the CUDA sampling kernel
// (kernels/sample.cu): the kernel applies the repetition penalty once per listed id without
// checking for repeats, so the list must hold each in-range id once, as the CPU sampler's `seen`
// set does; banned ids out of range are dropped as the engine's host path does. Header-only so
// that the CPU emulation (tools/emu/emu_sample_test.cpp) runs the same code as the backend.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

namespace vlm::cuda {

// The distinct ids of `ids` inside [0, vocab), in first-seen order.
inline std::vector<int32_t> distinct_ids_in_range(std::span<const int32_t> ids, int64_t vocab) {
  std::vector<int32_t> result;
  std::vector<bool> seen(static_cast<size_t>(vocab), false);
  for (int32_t id : ids) {
    if (id < 0 || id >= vocab || seen[static_cast<size_t>(id)]) continue;
    seen[static_cast<size_t>(id)] = true;
    result.push_back(id);
  }
  return result;
}

}  // namespace vlm::cuda
