// Host emulation of the CUDA built-ins that cuda/kernels/*.cu use, for cuda/tools/emulate_kernels.sh:
// checks the kernels' index math, barriers and warp shuffles on a machine without a GPU. One OS
// thread per CUDA thread of a block, blocks one after another, __shared__ = function-local static
// (valid because one block runs at a time), shuffles through a per-warp exchange + barrier.
// It says nothing about speed, coalescing or the real compiler; it is a logic check only.
#pragma once
#include <algorithm>
#include <barrier>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <functional>
#include <memory>
#include <thread>
#include <vector>
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
  std::unique_ptr<std::barrier<>> block;
  std::vector<std::unique_ptr<std::barrier<>>> warps;
  alignas(8) uint64_t xchg[32][32];
};
inline BlockSync* g_sync = nullptr;
struct Cfg { dim3 grid; dim3 block; size_t smem = 0; void* stream = nullptr; };
template <typename F, typename... A>
void launch(F kernel, Cfg cfg, A... args) {
  blockDim = cfg.block; gridDim = cfg.grid;
  const unsigned n = cfg.block.x * cfg.block.y * cfg.block.z;
  for (unsigned bz = 0; bz < cfg.grid.z; ++bz)
    for (unsigned by = 0; by < cfg.grid.y; ++by)
      for (unsigned bx = 0; bx < cfg.grid.x; ++bx) {
        BlockSync sync;
        sync.block = std::make_unique<std::barrier<>>(n);
        for (unsigned w = 0; w < (n + 31) / 32; ++w) sync.warps.push_back(std::make_unique<std::barrier<>>(std::min(32u, n - w * 32)));
        g_sync = &sync;
        std::vector<std::thread> threads;
        for (unsigned t = 0; t < n; ++t) threads.emplace_back([&, t] {
          threadIdx = dim3(t); blockIdx = dim3(bx, by, bz);
          kernel(args...);
        });
        for (auto& th : threads) th.join();
      }
}
template <typename T> T shfl(T v, int src) {
  const unsigned t = threadIdx.x, w = t / 32, lane = t % 32;
  uint64_t bits = 0; std::memcpy(&bits, &v, sizeof v);
  g_sync->xchg[w][lane] = bits;
  g_sync->warps[w]->arrive_and_wait();
  uint64_t got = g_sync->xchg[w][src & 31];
  g_sync->warps[w]->arrive_and_wait();
  T r; std::memcpy(&r, &got, sizeof r); return r;
}
}  // namespace emu
inline void __syncthreads() { emu::g_sync->block->arrive_and_wait(); }
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
