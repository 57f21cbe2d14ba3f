// Hooks between the kernel emulation (cuda_runtime.h, one copy per rewritten kernel file) and the
// host runtime emulation (cuda_host_emu.cpp): a rejected launch configuration becomes the error
// cudaGetLastError() returns, and each launch's stream is validated like the real runtime does.
// Both are unset when only the kernels are emulated (emulate_kernels.sh).
#pragma once

namespace emu {
inline void (*g_launch_error_hook)(int cuda_error) = nullptr;
inline void (*g_launch_hook)(void* stream) = nullptr;
}  // namespace emu
