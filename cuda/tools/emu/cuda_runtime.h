// Host emulation of the CUDA built-ins that cuda/kernels/*.cu use, for cuda/tools/emulate_kernels.sh
// and emulate_backend.sh: checks the kernels' index math, barriers and warp shuffles on a machine
// without a GPU. One fiber (ucontext) per CUDA thread of a block, scheduled cooperatively at
// barriers, blocks one after another, __shared__ = function-local static (valid because one block
// runs at a time), shuffles and votes (__any_sync) through a per-warp exchange + warp barrier,
// __syncwarp as a warp barrier (nvcuda::wmma: mma.h). Kernels without barriers/shuffles run their
// threads as plain calls after block 0 (see launch()). Launch configurations are checked against the runtime's limits and
// reported through emu_hooks.h (the backend emulation turns them into cudaGetLastError()).
// Races a GPU would show: every __shared__ array is filled with 0xFF bytes (NaN as f32/bf16, -1
// as int) before each block, so a read of shared memory the block never wrote shows up (the
// rewrite in emu/rewrite_kernel.pl registers each declaration through note_shared). With
// VLM_EMU_STRICT=1 the threads of a block and the blocks of a grid (after block 0) also run in reverse order, so
// a missing barrier between one thread's write and another's read is exposed whichever of the
// two has the lower index (in index order, a lower writer hides it).
// Misaligned vector accesses: pointer casts in kernel code are checked against the target type's
// alignment (aligned_reinterpret_cast). It says nothing about speed, coalescing or the real
// compiler; it is a logic check only.
#pragma once
#include <algorithm>
#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <string>
#include <type_traits>
#include <ucontext.h>
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

// A kernel the emulation cannot run faithfully (a barrier not every thread reaches, or a barrier
// in a kernel classified as communication-free): thrown to the test program, never swallowed.
struct EmulationError : std::logic_error {
  using std::logic_error::logic_error;
};
// One CUDA block = one fiber (ucontext) per CUDA thread on the launching OS thread, scheduled
// cooperatively: a thread runs until it reaches a barrier (__syncthreads: the block; a shuffle:
// its warp) and waits there until every thread of the block / warp has arrived. Much cheaper than
// an OS thread per CUDA thread (no kernel round trips, no load on a shared machine), and a
// barrier some threads never reach (they returned early) is reported instead of hanging.
enum class FiberState { Fresh, Running, AtBlock, AtWarp, Done };
// Context switch: a few instructions on x86-64 (callee-saved registers + stack pointer; no signal
// mask syscall), ucontext elsewhere. Under AddressSanitizer each switch is announced with
// __sanitizer_start/finish_switch_fiber, so ASan knows which stack is live.
#if defined(__SANITIZE_ADDRESS__)
#include <sanitizer/common_interface_defs.h>
#define EMU_ASAN_START(save, bottom, size) __sanitizer_start_switch_fiber(save, bottom, size)
#define EMU_ASAN_FINISH(save, bottom, size) __sanitizer_finish_switch_fiber(save, bottom, size)
#else
#define EMU_ASAN_START(save, bottom, size) ((void)0)
#define EMU_ASAN_FINISH(save, bottom, size) ((void)0)
#endif
#if defined(__x86_64__)
#define EMU_FAST_SWITCH 1
extern "C" void emu_switch_context(void** save_sp, void* next_sp);
asm(R"(
.text
.weak emu_switch_context
.type emu_switch_context,@function
emu_switch_context:
  pushq %rbp
  pushq %rbx
  pushq %r12
  pushq %r13
  pushq %r14
  pushq %r15
  movq %rsp, (%rdi)
  movq %rsi, %rsp
  popq %r15
  popq %r14
  popq %r13
  popq %r12
  popq %rbx
  popq %rbp
  ret
)");
#else
#define EMU_FAST_SWITCH 0
#endif
struct Fiber {
  char* stack = nullptr;
  void* asan_fake_stack = nullptr;
#if EMU_FAST_SWITCH
  void* sp = nullptr;
#else
  ucontext_t ctx;
#endif
  dim3 tid;
  unsigned warp = 0;
  FiberState state = FiberState::Fresh;
  unsigned long long wait_gen = 0;
};
struct BlockSched {
  void* main_asan_fake_stack = nullptr;
  const void* main_stack_bottom = nullptr;
  size_t main_stack_size = 0;
#if EMU_FAST_SWITCH
  void* main_sp = nullptr;
#else
  ucontext_t main;
#endif
  std::vector<Fiber> fibers;
  unsigned current = 0;
  unsigned long long block_gen = 0;
  unsigned block_arrived = 0;
  std::vector<unsigned long long> warp_gen;
  std::vector<unsigned> warp_arrived, warp_size;
  alignas(8) uint64_t xchg[32][32];
  std::function<void()> body;
  std::string failure;  // set by emulation_failure() in a fiber; the scheduler throws it
};
inline BlockSched* g_sched = nullptr;
inline bool g_used_sync = false;              // a barrier or shuffle ran in this launch's block 0
inline thread_local bool t_sequential = false;  // CUDA threads run one by one (no fibers)
inline std::mutex g_launch_mutex;             // one launch at a time (__shared__ is static)
// VLM_EMU_STRICT=1: threads and blocks run in reverse index order (see the header comment).
inline bool reverse_order() {
  static const bool strict = [] {
    const char* v = std::getenv("VLM_EMU_STRICT");
    return v != nullptr && std::strcmp(v, "1") == 0;
  }();
  return strict;
}
// The __shared__ arrays of the kernel now running (noted by its threads as they declare them)
// and of every kernel run before, by kernel: poisoned before each block of the next launch.
struct SharedRegion { void* at; size_t bytes; };
inline std::vector<SharedRegion>* g_launch_shared = nullptr;
inline std::map<const void*, std::vector<SharedRegion>>& shared_by_kernel() {
  static std::map<const void*, std::vector<SharedRegion>> regions;
  return regions;
}
inline void note_shared(void* at, size_t bytes) {
  if (g_launch_shared == nullptr) return;
  for (const SharedRegion& r : *g_launch_shared) if (r.at == at) return;
  g_launch_shared->push_back({at, bytes});
}
inline void poison_shared(const std::vector<SharedRegion>& regions) {
  for (const SharedRegion& r : regions) std::memset(r.at, 0xFF, r.bytes);
}
constexpr size_t kFiberStack = 256 * 1024;
inline std::vector<std::unique_ptr<char[]>>& fiber_stacks() {
  static std::vector<std::unique_ptr<char[]>> stacks;
  return stacks;
}
inline void fiber_entry() {
  BlockSched& s = *g_sched;
  EMU_ASAN_FINISH(nullptr, &s.main_stack_bottom, &s.main_stack_size);
  s.body();
  s.fibers[s.current].state = FiberState::Done;
#if EMU_FAST_SWITCH
  void* dead = nullptr;
  EMU_ASAN_START(nullptr, s.main_stack_bottom, s.main_stack_size);  // this fiber's stack dies
  emu_switch_context(&dead, s.main_sp);  // never resumed
  __builtin_unreachable();
#else
  EMU_ASAN_START(nullptr, s.main_stack_bottom, s.main_stack_size);
#endif  // else uc_link returns to the scheduler
}
inline void fiber_yield() {
  BlockSched& s = *g_sched;
  Fiber& f = s.fibers[s.current];
  EMU_ASAN_START(&f.asan_fake_stack, s.main_stack_bottom, s.main_stack_size);
#if EMU_FAST_SWITCH
  emu_switch_context(&f.sp, s.main_sp);
#else
  swapcontext(&f.ctx, &s.main);
#endif
  EMU_ASAN_FINISH(f.asan_fake_stack, &s.main_stack_bottom, &s.main_stack_size);
}
// A misuse the emulation detects inside kernel code (e.g. a misaligned WMMA fragment pointer):
// thrown as EmulationError. In a fiber an exception must not cross the context switch, so the
// fiber records it, ends, and the scheduler throws it from its own stack.
[[noreturn]] inline void emulation_failure(const std::string& what) {
  if (g_sched == nullptr || t_sequential) throw EmulationError(what);
  BlockSched& s = *g_sched;
  s.failure = what;
  s.fibers[s.current].state = FiberState::Done;
  EMU_ASAN_START(nullptr, s.main_stack_bottom, s.main_stack_size);  // this fiber's stack dies
#if EMU_FAST_SWITCH
  void* dead = nullptr;
  emu_switch_context(&dead, s.main_sp);  // never resumed
#else
  setcontext(&s.main);
#endif
  __builtin_unreachable();
}
// Runs one block (blockIdx already set) as fibers; throws EmulationError describing a barrier
// divergence (some threads wait at a barrier the others can no longer reach) or a failure a
// fiber recorded (emulation_failure).
inline void run_block_fibers(unsigned n, const std::function<dim3(unsigned)>& thread_of) {
  BlockSched& s = *g_sched;
  auto& stacks = fiber_stacks();
  while (stacks.size() < n) stacks.push_back(std::make_unique<char[]>(kFiberStack));
  s.fibers.assign(n, Fiber{});
  s.failure.clear();
  s.block_arrived = 0;
  std::fill(s.warp_arrived.begin(), s.warp_arrived.end(), 0u);
  for (unsigned t = 0; t < n; ++t) {
    Fiber& f = s.fibers[t];
    f.tid = thread_of(t);
    f.warp = t / 32;
    f.stack = stacks[t].get();
#if EMU_FAST_SWITCH
    // Initial frame: six zero registers, then fiber_entry as the return address, then a dummy
    // return address for fiber_entry itself (so it starts with rsp = 8 mod 16, as after a call).
    auto top = reinterpret_cast<uintptr_t>(stacks[t].get() + kFiberStack) & ~uintptr_t{15};
    void** frame = reinterpret_cast<void**>(top) - 8;
    for (int r = 0; r < 6; ++r) frame[r] = nullptr;
    frame[6] = reinterpret_cast<void*>(&fiber_entry);
    frame[7] = nullptr;
    f.sp = frame;
#else
    getcontext(&f.ctx);
    f.ctx.uc_stack.ss_sp = stacks[t].get();
    f.ctx.uc_stack.ss_size = kFiberStack;
    f.ctx.uc_link = &s.main;
    makecontext(&f.ctx, fiber_entry, 0);
#endif
  }
  const bool reverse = reverse_order();
  for (;;) {
    bool progress = false, all_done = true;
    for (unsigned i = 0; i < n; ++i) {
      const unsigned t = reverse ? n - 1 - i : i;
      Fiber& f = s.fibers[t];
      if (f.state == FiberState::Done) continue;
      all_done = false;
      const bool ready = f.state == FiberState::Fresh ||
                         (f.state == FiberState::AtBlock && s.block_gen != f.wait_gen) ||
                         (f.state == FiberState::AtWarp && s.warp_gen[f.warp] != f.wait_gen);
      if (!ready) continue;
      f.state = FiberState::Running;
      s.current = t;
      threadIdx = f.tid;
      EMU_ASAN_START(&s.main_asan_fake_stack, f.stack, kFiberStack);
#if EMU_FAST_SWITCH
      emu_switch_context(&s.main_sp, f.sp);
#else
      swapcontext(&s.main, &f.ctx);
#endif
      EMU_ASAN_FINISH(s.main_asan_fake_stack, nullptr, nullptr);
      if (!s.failure.empty()) throw EmulationError(s.failure);
      progress = true;
    }
    if (all_done) return;
    if (!progress) {
      unsigned done = 0, at_block = 0, at_warp = 0;
      for (const Fiber& f : s.fibers) {
        done += f.state == FiberState::Done;
        at_block += f.state == FiberState::AtBlock;
        at_warp += f.state == FiberState::AtWarp;
      }
      char what[256];
      std::snprintf(what, sizeof what, "emu: barrier divergence in block (%u,%u,%u): %u threads "
                    "finished, %u wait at __syncthreads, %u at a warp shuffle; on a GPU this hangs "
                    "or is undefined", blockIdx.x, blockIdx.y, blockIdx.z, done, at_block, at_warp);
      throw EmulationError(what);  // from the scheduler's own stack, never from a fiber
    }
  }
}
struct Cfg { dim3 grid; dim3 block; size_t smem = 0; void* stream = nullptr; };
// Launch configuration rules of the real runtime (a violation is recorded, as cudaGetLastError
// reports it after a real launch, and the kernel does not run).
inline bool config_ok(const Cfg& c) {
  const unsigned long long n = 1ull * c.block.x * c.block.y * c.block.z;
  return n >= 1 && n <= 1024 && c.block.x <= 1024 && c.block.y <= 1024 && c.block.z <= 64 &&
         c.grid.x >= 1 && c.grid.x <= 0x7fffffffu && c.grid.y >= 1 && c.grid.y <= 65535 &&
         c.grid.z >= 1 && c.grid.z <= 65535 && c.smem <= 48 * 1024;
}
// Pointer casts in kernel code (emu/rewrite_kernel.pl turns each reinterpret_cast, and each
// static_cast to a pointer type, into these): a GPU faults ("misaligned address", sticky) on a
// load or store through a pointer less aligned than its type (4 for a 32-bit word, 16 for a
// 16-byte vector), where x86 just reads. The cast is where a kernel takes that alignment for
// granted, so it is checked there; indexing from it keeps the alignment.
template <typename To, typename From>
void check_cast_alignment(const From& from) {
  if constexpr (std::is_pointer_v<To> && std::is_pointer_v<std::decay_t<From>>) {
    using Pointee = std::remove_cv_t<std::remove_pointer_t<To>>;
    if constexpr (!std::is_void_v<Pointee> && !std::is_function_v<Pointee>) {
      const volatile void* pointer = from;  // arrays decay; any cv-qualified object pointer
      const auto address = reinterpret_cast<uintptr_t>(pointer);
      if (address % alignof(Pointee) != 0) {
        char what[160];
        std::snprintf(what, sizeof what,
                      "misaligned pointer %p used as a type of alignment %zu (block %u, thread %u)",
                      reinterpret_cast<void*>(address), alignof(Pointee), blockIdx.x, threadIdx.x);
        emulation_failure(what);
      }
    }
  }
}
template <typename To, typename From>
To aligned_reinterpret_cast(From&& from) {
  check_cast_alignment<To>(from);
  return reinterpret_cast<To>(from);
}
template <typename To, typename From>
To aligned_static_cast(From&& from) {
  check_cast_alignment<To>(from);
  return static_cast<To>(from);
}
// Block 0 runs as fibers. When it used no barrier or shuffle, the kernel is one without
// intra-block communication and the remaining blocks run their CUDA threads as plain calls one
// after another (much faster, same result); a barrier or shuffle met later in that mode throws
// EmulationError. Otherwise every block runs as fibers, one block after another.
template <typename F, typename... A>
void run_launch(F kernel, Cfg cfg, A... args);
// The kernel's pointer parameters, as the launch converts the arguments to them, must be aligned
// for their pointee types like any cast in kernel code (check_cast_alignment); pointers inside
// struct parameters are not seen here.
template <typename... P, typename... A>
void check_pointer_args(void (*)(P...), const A&... args) {
  if constexpr (sizeof...(P) == sizeof...(A)) (check_cast_alignment<P>(static_cast<P>(args)), ...);
}
template <typename F, typename... A>
void launch(F kernel, Cfg cfg, A... args) {
  check_pointer_args(kernel, args...);
  if (!config_ok(cfg)) {
    if (g_launch_error_hook) g_launch_error_hook(9 /* cudaErrorInvalidConfiguration */);
    return;
  }
  if (g_launch_hook) g_launch_hook(cfg.stream);
  // A stream under capture (cudaStreamBeginCapture) records the launch for cudaGraphLaunch.
  if (g_capture_hook && g_capture_hook(cfg.stream, [=] { run_launch(kernel, cfg, args...); })) return;
  run_launch(kernel, cfg, args...);
}
template <typename F, typename... A>
void run_launch(F kernel, Cfg cfg, A... args) {
  std::lock_guard<std::mutex> lock(g_launch_mutex);
  blockDim = cfg.block; gridDim = cfg.grid;
  const unsigned n = cfg.block.x * cfg.block.y * cfg.block.z;
  const unsigned long long n_blocks = 1ull * cfg.grid.x * cfg.grid.y * cfg.grid.z;
  const auto block_of = [&](unsigned long long b) {
    return dim3(static_cast<unsigned>(b % cfg.grid.x), static_cast<unsigned>(b / cfg.grid.x % cfg.grid.y),
                static_cast<unsigned>(b / cfg.grid.x / cfg.grid.y));
  };
  const std::function<dim3(unsigned)> thread_of = [&](unsigned t) {
    return dim3(t % cfg.block.x, t / cfg.block.x % cfg.block.y, t / cfg.block.x / cfg.block.y);
  };
  BlockSched sched;
  const unsigned warps = (n + 31) / 32;
  sched.warp_gen.assign(warps, 0);
  sched.warp_arrived.assign(warps, 0);
  for (unsigned w = 0; w < warps; ++w) sched.warp_size.push_back(std::min(32u, n - w * 32));
  sched.body = [&] { kernel(args...); };
  g_sched = &sched;
  g_used_sync = false;
  // Shared arrays: those this kernel declared in earlier launches, and those its threads note
  // during this one, are poisoned before every block.
  std::vector<SharedRegion>& shared = shared_by_kernel()[reinterpret_cast<const void*>(kernel)];
  g_launch_shared = &shared;
  struct ResetOnExit {  // an EmulationError leaves no launch state behind for the next launch
    ~ResetOnExit() { g_launch_shared = nullptr; t_sequential = false; g_sched = nullptr; }
  } reset_on_exit;
  const bool reverse = reverse_order();
  // Block 0 runs first either way (it decides fibers vs plain calls; a last block with nothing to
  // do could return before any barrier); strict order then runs the rest from the last one down.
  const auto nth_block = [&](unsigned long long i) { return block_of(reverse && i > 0 ? n_blocks - i : i); };
  poison_shared(shared);
  blockIdx = nth_block(0);
  run_block_fibers(n, thread_of);
  const bool fibers = g_used_sync;
  t_sequential = !fibers;
  for (unsigned long long b = 1; b < n_blocks; ++b) {
    blockIdx = nth_block(b);
    poison_shared(shared);
    if (fibers) {
      run_block_fibers(n, thread_of);
    } else {
      for (unsigned i = 0; i < n; ++i) { threadIdx = thread_of(reverse ? n - 1 - i : i); kernel(args...); }
    }
  }
  poison_shared(shared);
}
[[noreturn]] inline void sequential_violation(const char* what) {
  throw EmulationError(std::string("emu: ") + what + " in a kernel whose block 0 used no barrier or "
                       "shuffle (classified as communication-free); the emulation cannot run it "
                       "correctly");
}
// Arrive at the warp's barrier and wait for the other lanes.
inline void warp_barrier() {
  BlockSched& s = *g_sched;
  Fiber& f = s.fibers[s.current];
  f.state = FiberState::AtWarp;
  f.wait_gen = s.warp_gen[f.warp];
  if (++s.warp_arrived[f.warp] == s.warp_size[f.warp]) { s.warp_arrived[f.warp] = 0; ++s.warp_gen[f.warp]; }
  fiber_yield();
}
inline void block_barrier() {
  BlockSched& s = *g_sched;
  Fiber& f = s.fibers[s.current];
  f.state = FiberState::AtBlock;
  f.wait_gen = s.block_gen;
  if (++s.block_arrived == s.fibers.size()) { s.block_arrived = 0; ++s.block_gen; }
  fiber_yield();
}
template <typename T> T shfl(T v, int src) {
  if (t_sequential) sequential_violation("a warp shuffle");
  g_used_sync = true;
  const unsigned t = threadIdx.x, w = t / 32, lane = t % 32;
  uint64_t bits = 0; std::memcpy(&bits, &v, sizeof v);
  g_sched->xchg[w][lane] = bits;
  warp_barrier();
  uint64_t got = g_sched->xchg[w][src & 31];
  warp_barrier();
  T r; std::memcpy(&r, &got, sizeof r); return r;
}
}  // namespace emu
inline void __syncthreads() {
  if (emu::t_sequential) emu::sequential_violation("__syncthreads");
  emu::g_used_sync = true;
  emu::block_barrier();
}
template <typename T> T __shfl_sync(unsigned, T v, int src) { return emu::shfl(v, src); }
template <typename T> T __shfl_xor_sync(unsigned, T v, int mask) { return emu::shfl(v, (threadIdx.x % 32) ^ mask); }
inline void __syncwarp(unsigned = 0xffffffffu) {
  if (emu::t_sequential) emu::sequential_violation("__syncwarp");
  emu::g_used_sync = true;
  emu::warp_barrier();
}
inline int __any_sync(unsigned, int predicate) {
  if (emu::t_sequential) emu::sequential_violation("__any_sync");
  emu::g_used_sync = true;
  const unsigned w = threadIdx.x / 32, lane = threadIdx.x % 32;
  emu::g_sched->xchg[w][lane] = predicate != 0;
  emu::warp_barrier();
  int any = 0;
  for (unsigned l = 0; l < emu::g_sched->warp_size[w]; ++l) any |= emu::g_sched->xchg[w][l] != 0;
  emu::warp_barrier();
  return any;
}
// Programmatic dependent launch (gemv.cu): cudaLaunchKernelEx runs as a plain launch. The
// emulation runs kernels one after another, which is what the attribute relaxes on a GPU, and
// common.cuh's griddepcontrol instructions compile to nothing here.
enum cudaLaunchAttributeID { cudaLaunchAttributeProgrammaticStreamSerialization = 5 };
union cudaLaunchAttributeValue { int programmaticStreamSerializationAllowed; };
struct cudaLaunchAttribute { cudaLaunchAttributeID id; cudaLaunchAttributeValue val; };
struct CUstream_st;
struct cudaLaunchConfig_t {
  dim3 gridDim, blockDim;
  size_t dynamicSmemBytes;
  CUstream_st* stream;
  cudaLaunchAttribute* attrs;
  unsigned int numAttrs;
};
template <typename... Expected, typename... Actual>
int cudaLaunchKernelEx(const cudaLaunchConfig_t* config, void (*kernel)(Expected...), Actual&&... args) {
  emu::launch(kernel, emu::Cfg{config->gridDim, config->blockDim, config->dynamicSmemBytes, config->stream},
              static_cast<Expected>(args)...);
  return 0;  // launch errors go through emu_hooks.h, as for <<<>>>
}
inline float __uint_as_float(uint32_t u) { float f; std::memcpy(&f, &u, 4); return f; }
inline uint32_t __float_as_uint(float f) { uint32_t u; std::memcpy(&u, &f, 4); return u; }
inline float rsqrtf(float x) { return 1.0f / std::sqrt(x); }
// Device-wide atomics and fences: blocks run one after another here, so a fence has nothing to
// order and an atomic is a plain read-modify-write (under the launch mutex).
inline int atomicAdd(int* address, int value) { const int old = *address; *address = old + value; return old; }
inline void __threadfence() {}
template <typename T> T __ldcg(const T* address) { return *address; }
// Round-to-nearest single operations (never contracted into an FMA on the GPU); here -O1/-O2
// without -ffast-math or FMA targets already rounds each operation.
inline float __fmul_rn(float a, float b) { return a * b; }
inline float __fadd_rn(float a, float b) { return a + b; }
inline float __fsub_rn(float a, float b) { return a - b; }
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
