// The CUDA backend's public entry points (libvlm-cuda). No CUDA headers here: the CLI, the
// GStreamer plugin and tests include this without the CUDA toolkit on their include path.
// Linking libvlm-cuda (meson: vlm_cuda_dep, linked whole) registers the "cuda" device with
// vlm::make_backend (backend.h) through a static initializer; register_cuda_backend() does the
// same explicitly and may be called any number of times.
#pragma once

#include <memory>

#include "vlm/backend.h"

namespace vlm::cuda {

// Opens CUDA device `device_index` (validated against the devices present) with its own stream,
// memory pool and cuBLASLt handle. Throws vlm::Error: Device when CUDA is unusable (no driver, no
// device, device busy), InvalidInput for an index that does not exist, Unsupported for a GPU
// older than compute capability 8.0 (bf16).
std::unique_ptr<Backend> make_cuda_backend(int device_index = 0);

// Number of usable CUDA devices; 0 when there is no driver or device (never throws).
int cuda_device_count();

// Registers the factory for "cuda" / "cuda:N" with vlm::register_backend_factory.
void register_cuda_backend();

}  // namespace vlm::cuda
