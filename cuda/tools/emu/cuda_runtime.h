// Host emulation of the CUDA built-ins that cuda/kernels/*.cu use, for cuda/tools/emulate_kernels.sh
// and emulate_backend.sh: checks the kernels' index math, barriers and warp shuffles on a machine
// without a GPU. One OS thread per CUDA thread of a block, blocks one after another, __shared__ =
// function-local static (valid because one block runs at a time), shuffles through a per-warp
// exchange + barrier. Kernels without barriers/shuffles run their threads sequentially after
// block 0 (see launch()). Launch configurations are checked against the runtime's limits and
// reported through emu_hooks.h (the backend emulation turns them into cudaGetLastError()).
// It says nothing about speed, coalescing or the real compiler; it is a logic check only.
#pragma once
#include <algorithm>
#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <barrier>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <functional>
#include <memory>
#include <thread>
#include <vector>

#include "emu_hooks.h"
#define __global__
#define __device__
#define __host__
#define __forceinline__ inline
#define __launch_bounds__(...)
#define __shared__ static
#define __align__(n) __attribute__((aligned(n)))
struct alignas(8) float2 { float x, y; };
struct dim3 { unsigned x = 1, y = 1, z = 1; constexpr dim3(unsigned a = 1, unsigned b = 1, unsigned c = 1) : x(a), y(b), z(c) {} };
inline thread_local dim3 threadIdx, blockIdx;
inline dim3 blockDim, gridDim;
namespace emu {
struct BlockSync {
  std::unique_ptr<std::barrier<>> block, end;
  std::vector<std::unique_ptr<std::barrier<>>> warps;
  alignas(8) uint64_t xchg[32][32];
};
inline BlockSync* g_sync = nullptr;
inline std::atomic<bool> g_used_sync{false};  // a barrier or shuffle ran in this launch's block 0
inline thread_local bool t_sequential = false;  // this OS thread runs CUDA threads one by one
struct Cfg { dim3 grid; dim3 block; size_t smem = 0; void* stream = nullptr; };
// Launch configuration rules of the real runtime (a violation is recorded, as cudaGetLastError
// reports it after a real launch, and the kernel does not run).
inline bool config_ok(const Cfg& c) {
  const unsigned long long n = 1ull * c.block.x * c.block.y * c.block.z;
  return n >= 1 && n <= 1024 && c.block.x <= 1024 && c.block.y <= 1024 && c.block.z <= 64 &&
         c.grid.x >= 1 && c.grid.x <= 0x7fffffffu && c.grid.y >= 1 && c.grid.y <= 65535 &&
         c.grid.z >= 1 && c.grid.z <= 65535 && c.smem <= 48 * 1024;
}
// Block 0 runs with one OS thread per CUDA thread (real barriers and shuffles). When it used no
// barrier or shuffle, the kernel is one without intra-block communication and the remaining blocks
// run their CUDA threads one after another on one OS thread (much faster, same result); a barrier
// or shuffle met later in that mode aborts loudly. Otherwise the same OS threads run every block
// in turn, with a barrier between blocks (__shared__ is one static per kernel).
template <typename F, typename... A>
void launch(F kernel, Cfg cfg, A... args) {
  if (!config_ok(cfg)) {
    if (g_launch_error_hook) g_launch_error_hook(9 /* cudaErrorInvalidConfiguration */);
    return;
  }
  if (g_launch_hook) g_launch_hook(cfg.stream);
  blockDim = cfg.block; gridDim = cfg.grid;
  const unsigned n = cfg.block.x * cfg.block.y * cfg.block.z;
  const unsigned long long n_blocks = 1ull * cfg.grid.x * cfg.grid.y * cfg.grid.z;
  const auto block_of = [&](unsigned long long b) {
    return dim3(static_cast<unsigned>(b % cfg.grid.x), static_cast<unsigned>(b / cfg.grid.x % cfg.grid.y),
                static_cast<unsigned>(b / cfg.grid.x / cfg.grid.y));
  };
  const auto thread_of = [&](unsigned t) {
    return dim3(t % cfg.block.x, t / cfg.block.x % cfg.block.y, t / cfg.block.x / cfg.block.y);
  };
  BlockSync sync;
  sync.block = std::make_unique<std::barrier<>>(n);
  sync.end = std::make_unique<std::barrier<>>(n);
  for (unsigned w = 0; w < (n + 31) / 32; ++w) sync.warps.push_back(std::make_unique<std::barrier<>>(std::min(32u, n - w * 32)));
  g_sync = &sync;
  g_used_sync = false;
  std::atomic<bool> threaded{true};
  std::vector<std::thread> threads;
  for (unsigned t = 0; t < n; ++t) threads.emplace_back([&, t] {
    threadIdx = thread_of(t);
    for (unsigned long long b = 0; b < n_blocks; ++b) {
      blockIdx = block_of(b);
      kernel(args...);
      sync.end->arrive_and_wait();
      if (b == 0) {
        if (!g_used_sync.load()) { if (t == 0) threaded = false; return; }
      }
    }
  });
  for (auto& th : threads) th.join();
  if (threaded) return;
  t_sequential = true;
  for (unsigned long long b = 1; b < n_blocks; ++b) {
    blockIdx = block_of(b);
    for (unsigned t = 0; t < n; ++t) { threadIdx = thread_of(t); kernel(args...); }
  }
  t_sequential = false;
}
[[noreturn]] inline void sequential_violation(const char* what) {
  std::fprintf(stderr, "emu: %s in a kernel whose block 0 used no barrier or shuffle (classified "
               "as communication-free); the emulation cannot run it correctly\n", what);
  std::abort();
}
template <typename T> T shfl(T v, int src) {
  if (t_sequential) sequential_violation("a warp shuffle");
  g_used_sync = true;
  const unsigned t = threadIdx.x, w = t / 32, lane = t % 32;
  uint64_t bits = 0; std::memcpy(&bits, &v, sizeof v);
  g_sync->xchg[w][lane] = bits;
  g_sync->warps[w]->arrive_and_wait();
  uint64_t got = g_sync->xchg[w][src & 31];
  g_sync->warps[w]->arrive_and_wait();
  T r; std::memcpy(&r, &got, sizeof r); return r;
}
}  // namespace emu
inline void __syncthreads() {
  if (emu::t_sequential) emu::sequential_violation("__syncthreads");
  emu::g_used_sync = true;
  emu::g_sync->block->arrive_and_wait();
}
template <typename T> T __shfl_sync(unsigned, T v, int src) { return emu::shfl(v, src); }
template <typename T> T __shfl_xor_sync(unsigned, T v, int mask) { return emu::shfl(v, (threadIdx.x % 32) ^ mask); }
inline float __uint_as_float(uint32_t u) { float f; std::memcpy(&f, &u, 4); return f; }
inline uint32_t __float_as_uint(float f) { uint32_t u; std::memcpy(&u, &f, 4); return u; }
inline float rsqrtf(float x) { return 1.0f / std::sqrt(x); }
using std::min; using std::max;

struct __nv_bfloat16 { uint16_t bits; };
inline __nv_bfloat16 __float2bfloat16_rn(float value) {
  uint32_t word; std::memcpy(&word, &value, 4);
  if ((word & 0x7f800000u) == 0x7f800000u && (word & 0x007fffffu) != 0) return {static_cast<uint16_t>((word >> 16) | 0x40)};
  return {static_cast<uint16_t>((word + 0x7fffu + ((word >> 16) & 1u)) >> 16)};
}
inline uint16_t __bfloat16_as_ushort(__nv_bfloat16 b) { return b.bits; }
struct __half { _Float16 v; };
inline float __half2float(__half h) { return static_cast<float>(h.v); }
inline __half __float2half_rn(float f) { return {static_cast<_Float16>(f)}; }
