// Hooks between the kernel emulation (cuda_runtime.h, one copy per rewritten kernel file) and the
// host runtime emulation (cuda_host_emu.cpp): a rejected launch configuration becomes the error
// cudaGetLastError() returns, and each launch's stream is validated like the real runtime does.
// A stream under capture records its work instead of running it: g_capture_hook takes the work
// and returns true when `stream` is capturing (cuda_host_emu.cpp's graphs replay it).
// All are unset when only the kernels are emulated (emulate_kernels.sh).
#pragma once

#include <functional>

namespace emu {
inline void (*g_launch_error_hook)(int cuda_error) = nullptr;
inline void (*g_launch_hook)(void* stream) = nullptr;
inline bool (*g_capture_hook)(void* stream, std::function<void()> work) = nullptr;
}  // namespace emu
