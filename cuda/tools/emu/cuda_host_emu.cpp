// CPU implementation of the fake CUDA runtime (cuda_runtime_api.h) for the backend emulation.
// Shaped to find host-side bugs rather than to be fast: every device allocation is registered and
// filled with 0xFF bytes (NaN as f32/bf16, -1 as int32) so reads of never-written memory show up;
// every copy/memset is checked to stay inside one allocation and to match its direction; stream
// and event handles are checked for liveness. A failed check prints "emu: ..." on stderr and
// returns an error code, as the real call would (or as the real GPU would fault). Streams are
// synchronous: work completes inside the call that enqueues it, except on a capturing stream,
// which records it for cudaGraphLaunch (and refuses what the real runtime refuses then).
#include "cuda_runtime_api.h"

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <mutex>
#include <set>
#include <string>
#include <vector>

#include "emu_hooks.h"

using Work = std::function<void()>;

struct CUstream_st {
  unsigned int flags = 0;
  cudaStreamCaptureStatus capture = cudaStreamCaptureStatusNone;
  cudaStreamCaptureMode mode = cudaStreamCaptureModeGlobal;
  std::vector<Work> recording;
};
struct CUgraph_st {
  std::vector<Work> works;
};
struct CUgraphExec_st {
  std::vector<Work> works;
};
struct CUevent_st {
  bool recorded = false;
  std::chrono::steady_clock::time_point when;
};

namespace {

struct State {
  std::mutex mutex;
  std::map<uintptr_t, size_t> allocations;  // base -> bytes
  std::set<const CUstream_st*> streams;
  std::set<const CUevent_st*> events;
  size_t in_use = 0, peak = 0;
  size_t capacity = 0;
  long mallocs = 0, refused = 0, frees = 0, check_failures = 0, graph_launches = 0;
  std::set<CUstream_st*> capturing;  // streams between BeginCapture and EndCapture
  std::set<const CUgraph_st*> graphs;
  std::set<const CUgraphExec_st*> execs;
  int sm_count = 132;
  bool no_device = false;
};

State& state() {
  static State* s = [] {
    auto* st = new State;  // never destroyed: tensors may be released during static destruction
    const char* cap = std::getenv("VLM_EMU_DEVICE_MEMORY");
    st->capacity = cap != nullptr ? std::strtoull(cap, nullptr, 10) : size_t{141} << 30;
    const char* sms = std::getenv("VLM_EMU_SM_COUNT");
    if (sms != nullptr) st->sm_count = std::atoi(sms);
    const char* none = std::getenv("VLM_EMU_NO_DEVICE");
    st->no_device = none != nullptr && std::string(none) == "1";
    return st;
  }();
  return *s;
}

thread_local cudaError_t t_last_error = cudaSuccess;
thread_local int t_device = 0;

cudaError_t fail(cudaError_t error) {
  t_last_error = error;
  return error;
}

template <typename... A>
cudaError_t report(cudaError_t error, const char* format, A... args) {
  {
    std::lock_guard<std::mutex> lock(state().mutex);
    ++state().check_failures;
  }
  std::fprintf(stderr, "emu: ");
  std::fprintf(stderr, format, args...);
  std::fprintf(stderr, "\n");
  return fail(error);
}

// The allocation holding [p, p + bytes), or false (p must be a device address and the whole range
// inside the same allocation).
bool in_device(const void* p, size_t bytes) {
  State& s = state();
  std::lock_guard<std::mutex> lock(s.mutex);
  const uintptr_t a = reinterpret_cast<uintptr_t>(p);
  auto it = s.allocations.upper_bound(a);
  if (it == s.allocations.begin()) return false;
  --it;
  return a >= it->first && a - it->first <= it->second && bytes <= it->second - (a - it->first);
}

bool touches_device(const void* p) {
  State& s = state();
  std::lock_guard<std::mutex> lock(s.mutex);
  const uintptr_t a = reinterpret_cast<uintptr_t>(p);
  auto it = s.allocations.upper_bound(a);
  if (it == s.allocations.begin()) return false;
  --it;
  return a < it->first + it->second;
}

bool stream_ok(cudaStream_t stream) {
  if (stream == nullptr) return true;
  State& s = state();
  std::lock_guard<std::mutex> lock(s.mutex);
  return s.streams.count(stream) != 0;
}

// Checks one side of a copy: `span` bytes starting at p, device or host as the kind says.
bool side_ok(const void* p, size_t span, bool device, const char* what, const char* call) {
  if (span == 0) return true;
  if (p == nullptr) {
    report(cudaErrorInvalidValue, "%s: %s pointer is null", call, what);
    return false;
  }
  if (device && !in_device(p, span)) {
    report(cudaErrorInvalidValue,
           "%s: %s range [%p, +%zu) is not inside one device allocation (out of bounds, or a host "
           "pointer where a device one is expected)",
           call, what, p, span);
    return false;
  }
  if (!device && touches_device(p)) {
    report(cudaErrorInvalidValue, "%s: %s %p is device memory but the copy kind says host", call,
           what, p);
    return false;
  }
  return true;
}

// The capturing stream `stream` is, or null. Work on it is recorded instead of run.
CUstream_st* capturing(cudaStream_t stream) {
  if (stream == nullptr) return nullptr;
  State& s = state();
  std::lock_guard<std::mutex> lock(s.mutex);
  return s.capturing.count(stream) != 0 ? stream : nullptr;
}

// A call the real runtime refuses during a capture: reported, and every active capture is
// invalidated (cudaStreamEndCapture then fails), as the real runtime does.
cudaError_t refuse_during_capture(const char* call, const char* why) {
  {
    State& s = state();
    std::lock_guard<std::mutex> lock(s.mutex);
    for (CUstream_st* stream : s.capturing) stream->capture = cudaStreamCaptureStatusInvalidated;
  }
  return report(cudaErrorStreamCaptureUnsupported, "%s while a stream is capturing: %s", call, why);
}

bool any_capture(bool relaxed_too) {
  State& s = state();
  std::lock_guard<std::mutex> lock(s.mutex);
  for (const CUstream_st* stream : s.capturing) {
    if (relaxed_too || stream->mode != cudaStreamCaptureModeRelaxed) return true;
  }
  return false;
}

cudaError_t copy2d(void* dst, size_t dpitch, const void* src, size_t spitch, size_t width,
                   size_t height, cudaMemcpyKind kind, cudaStream_t stream, const char* call) {
  if (!stream_ok(stream)) return report(cudaErrorInvalidResourceHandle, "%s: dead or unknown stream %p", call, static_cast<void*>(stream));
  if (kind == cudaMemcpyDefault || kind > cudaMemcpyDefault) {
    return report(cudaErrorInvalidMemcpyDirection, "%s: copy kind %d is not checked by the emulation", call, static_cast<int>(kind));
  }
  if (height > 1 && (width > dpitch || width > spitch)) {
    return report(cudaErrorInvalidPitchValue, "%s: width %zu exceeds a pitch (dst %zu, src %zu)", call, width, dpitch, spitch);
  }
  if (width == 0 || height == 0) return cudaSuccess;
  const bool dst_device = kind == cudaMemcpyHostToDevice || kind == cudaMemcpyDeviceToDevice;
  const bool src_device = kind == cudaMemcpyDeviceToHost || kind == cudaMemcpyDeviceToDevice;
  const size_t dst_span = (height - 1) * dpitch + width, src_span = (height - 1) * spitch + width;
  if (!side_ok(dst, dst_span, dst_device, "destination", call)) return t_last_error;
  if (!side_ok(src, src_span, src_device, "source", call)) return t_last_error;
  const char* s = static_cast<const char*>(src);
  char* d = static_cast<char*>(dst);
  if (CUstream_st* capture = capturing(stream)) {
    if (kind != cudaMemcpyDeviceToDevice) {
      return refuse_during_capture(call, "a copy from or to host memory (pageable here; the graph "
                                         "would read or write it at replay)");
    }
    capture->recording.push_back([=] {
      for (size_t r = 0; r < height; ++r) std::memmove(d + r * dpitch, s + r * spitch, width);
    });
    return cudaSuccess;
  }
  if (height == 1) {
    std::memmove(d, s, width);
  } else {
    for (size_t r = 0; r < height; ++r) std::memmove(d + r * dpitch, s + r * spitch, width);
  }
  return cudaSuccess;
}

cudaError_t set2d(void* dst, size_t pitch, int value, size_t width, size_t height,
                  cudaStream_t stream, const char* call) {
  if (!stream_ok(stream)) return report(cudaErrorInvalidResourceHandle, "%s: dead or unknown stream %p", call, static_cast<void*>(stream));
  if (height > 1 && width > pitch) return report(cudaErrorInvalidPitchValue, "%s: width %zu exceeds the pitch %zu", call, width, pitch);
  if (width == 0 || height == 0) return cudaSuccess;
  if (!side_ok(dst, (height - 1) * pitch + width, true, "destination", call)) return t_last_error;
  if (CUstream_st* capture = capturing(stream)) {
    capture->recording.push_back([=] {
      for (size_t r = 0; r < height; ++r) std::memset(static_cast<char*>(dst) + r * pitch, value, width);
    });
    return cudaSuccess;
  }
  for (size_t r = 0; r < height; ++r) std::memset(static_cast<char*>(dst) + r * pitch, value, width);
  return cudaSuccess;
}

struct HookInstaller {
  HookInstaller() {
    // VLM_EMU_STATS=1: one line of figures at exit (allocations, refusals, failed checks).
    const char* stats = std::getenv("VLM_EMU_STATS");
    if (stats != nullptr && std::string(stats) == "1") {
      std::atexit([] {
        State& s = state();
        std::fprintf(stderr, "emu stats: %ld cudaMalloc (%ld refused by the capacity), %ld cudaFree, "
                     "peak %zu device bytes, %ld failed checks\n", s.mallocs, s.refused, s.frees,
                     s.peak, s.check_failures);
      });
    }
    emu::g_launch_error_hook = [](int error) {
      report(static_cast<cudaError_t>(error), "kernel launch rejected: invalid configuration");
    };
    emu::g_capture_hook = [](void* stream, std::function<void()> work) {
      CUstream_st* capture = capturing(static_cast<cudaStream_t>(stream));
      if (capture == nullptr) return false;
      capture->recording.push_back(std::move(work));
      return true;
    };
    emu::g_launch_hook = [](void* stream) {
      if (!stream_ok(static_cast<cudaStream_t>(stream))) {
        report(cudaErrorInvalidResourceHandle, "kernel launched on a dead or unknown stream %p", stream);
      }
    };
  }
} g_hooks;

}  // namespace

namespace emu {
bool is_device_range(const void* p, size_t bytes) { return in_device(p, bytes); }
bool is_live_stream(cudaStream_t stream) { return stream_ok(stream); }
size_t device_bytes_in_use() {
  State& s = state();
  std::lock_guard<std::mutex> lock(s.mutex);
  return s.in_use;
}
void enqueue(cudaStream_t stream, std::function<void()> work) {
  if (CUstream_st* capture = capturing(stream)) {
    capture->recording.push_back(std::move(work));
  } else {
    work();
  }
}
long graph_launches() {
  State& s = state();
  std::lock_guard<std::mutex> lock(s.mutex);
  return s.graph_launches;
}
}  // namespace emu

cudaError_t cudaGetDeviceCount(int* count) {
  if (count == nullptr) return fail(cudaErrorInvalidValue);
  if (state().no_device) {
    *count = 0;
    return fail(cudaErrorNoDevice);
  }
  *count = 1;
  return cudaSuccess;
}

cudaError_t cudaGetDeviceProperties(cudaDeviceProp* prop, int device) {
  if (prop == nullptr) return fail(cudaErrorInvalidValue);
  if (device != 0 || state().no_device) return fail(cudaErrorInvalidDevice);
  *prop = cudaDeviceProp{};
  std::snprintf(prop->name, sizeof prop->name, "Emulated H200 (CPU)");
  prop->totalGlobalMem = state().capacity;
  prop->sharedMemPerBlock = 48 * 1024;
  prop->sharedMemPerBlockOptin = 227 * 1024;
  prop->regsPerBlock = 65536;
  prop->warpSize = 32;
  prop->maxThreadsPerBlock = 1024;
  prop->maxThreadsDim[0] = prop->maxThreadsDim[1] = 1024;
  prop->maxThreadsDim[2] = 64;
  prop->maxGridSize[0] = 0x7fffffff;
  prop->maxGridSize[1] = prop->maxGridSize[2] = 65535;
  prop->clockRate = 1980000;
  prop->major = 9;
  prop->minor = 0;
  prop->multiProcessorCount = state().sm_count;
  prop->memoryClockRate = 2619000;
  prop->memoryBusWidth = 6144;
  prop->l2CacheSize = 60 << 20;
  return cudaSuccess;
}

cudaError_t cudaSetDevice(int device) {
  if (device != 0 || state().no_device) return fail(cudaErrorInvalidDevice);
  t_device = device;
  return cudaSuccess;
}

cudaError_t cudaGetDevice(int* device) {
  if (device == nullptr) return fail(cudaErrorInvalidValue);
  *device = t_device;
  return cudaSuccess;
}

cudaError_t cudaDeviceSynchronize() {
  if (any_capture(true)) return refuse_during_capture("cudaDeviceSynchronize", "it would wait for the capture");
  return cudaSuccess;
}

cudaError_t cudaGetLastError() {
  const cudaError_t e = t_last_error;
  t_last_error = cudaSuccess;
  return e;
}

cudaError_t cudaPeekAtLastError() { return t_last_error; }

const char* cudaGetErrorName(cudaError_t error) {
  switch (error) {
#define EMU_NAME(e) \
  case e:           \
    return #e;
    EMU_NAME(cudaSuccess) EMU_NAME(cudaErrorInvalidValue) EMU_NAME(cudaErrorMemoryAllocation)
    EMU_NAME(cudaErrorInitializationError) EMU_NAME(cudaErrorInsufficientDriver)
    EMU_NAME(cudaErrorInvalidConfiguration) EMU_NAME(cudaErrorInvalidPitchValue)
    EMU_NAME(cudaErrorInvalidDevicePointer) EMU_NAME(cudaErrorInvalidMemcpyDirection)
    EMU_NAME(cudaErrorNoDevice) EMU_NAME(cudaErrorInvalidDevice) EMU_NAME(cudaErrorECCUncorrectable)
    EMU_NAME(cudaErrorInvalidResourceHandle) EMU_NAME(cudaErrorNotReady)
    EMU_NAME(cudaErrorIllegalAddress) EMU_NAME(cudaErrorLaunchTimeout)
    EMU_NAME(cudaErrorHardwareStackError) EMU_NAME(cudaErrorIllegalInstruction)
    EMU_NAME(cudaErrorMisalignedAddress) EMU_NAME(cudaErrorInvalidAddressSpace)
    EMU_NAME(cudaErrorInvalidPc) EMU_NAME(cudaErrorLaunchFailure)
    EMU_NAME(cudaErrorContextIsDestroyed) EMU_NAME(cudaErrorAssert)
    EMU_NAME(cudaErrorDevicesUnavailable) EMU_NAME(cudaErrorUnknown)
    EMU_NAME(cudaErrorIllegalState) EMU_NAME(cudaErrorStreamCaptureUnsupported)
    EMU_NAME(cudaErrorStreamCaptureInvalidated) EMU_NAME(cudaErrorStreamCaptureImplicit)
#undef EMU_NAME
  }
  return "cudaErrorUnknown(emulated)";
}

const char* cudaGetErrorString(cudaError_t error) {
  switch (error) {
    case cudaSuccess: return "no error";
    case cudaErrorMemoryAllocation: return "out of memory";
    case cudaErrorNoDevice: return "no CUDA-capable device is detected";
    case cudaErrorInvalidConfiguration: return "invalid configuration argument";
    case cudaErrorInvalidResourceHandle: return "invalid resource handle";
    case cudaErrorInvalidValue: return "invalid argument";
    default: return cudaGetErrorName(error);
  }
}

cudaError_t cudaMalloc(void** ptr, size_t bytes) {
  if (ptr == nullptr) return fail(cudaErrorInvalidValue);
  *ptr = nullptr;
  if (bytes == 0) return cudaSuccess;
  if (any_capture(false)) {
    return refuse_during_capture("cudaMalloc", "allowed only under cudaStreamCaptureModeRelaxed");
  }
  State& s = state();
  {
    std::lock_guard<std::mutex> lock(s.mutex);
    ++s.mallocs;
    if (s.in_use + bytes > s.capacity) {
      ++s.refused;
      return fail(cudaErrorMemoryAllocation);
    }
  }
  void* p = std::aligned_alloc(256, (bytes + 255) / 256 * 256);
  if (p == nullptr) return fail(cudaErrorMemoryAllocation);
  std::memset(p, 0xFF, bytes);
  std::lock_guard<std::mutex> lock(s.mutex);
  s.allocations[reinterpret_cast<uintptr_t>(p)] = bytes;
  s.in_use += bytes;
  s.peak = std::max(s.peak, s.in_use);
  *ptr = p;
  return cudaSuccess;
}

cudaError_t cudaFree(void* ptr) {
  if (ptr == nullptr) return cudaSuccess;
  if (any_capture(true)) return refuse_during_capture("cudaFree", "it synchronises the device");
  State& s = state();
  {
    std::lock_guard<std::mutex> lock(s.mutex);
    auto it = s.allocations.find(reinterpret_cast<uintptr_t>(ptr));
    if (it == s.allocations.end()) {
      return report(cudaErrorInvalidValue, "cudaFree(%p): not the base of a live allocation", ptr);
    }
    s.in_use -= it->second;
    ++s.frees;
    s.allocations.erase(it);
  }
  std::free(ptr);
  return cudaSuccess;
}

cudaError_t cudaMemGetInfo(size_t* free_bytes, size_t* total_bytes) {
  if (free_bytes == nullptr || total_bytes == nullptr) return fail(cudaErrorInvalidValue);
  State& s = state();
  std::lock_guard<std::mutex> lock(s.mutex);
  *total_bytes = s.capacity;
  *free_bytes = s.capacity - s.in_use;
  return cudaSuccess;
}

cudaError_t cudaMemcpy(void* dst, const void* src, size_t bytes, cudaMemcpyKind kind) {
  return copy2d(dst, bytes, src, bytes, bytes, 1, kind, nullptr, "cudaMemcpy");
}

cudaError_t cudaMemcpyAsync(void* dst, const void* src, size_t bytes, cudaMemcpyKind kind,
                            cudaStream_t stream) {
  return copy2d(dst, bytes, src, bytes, bytes, 1, kind, stream, "cudaMemcpyAsync");
}

cudaError_t cudaMemcpy2DAsync(void* dst, size_t dst_pitch, const void* src, size_t src_pitch,
                              size_t width, size_t height, cudaMemcpyKind kind,
                              cudaStream_t stream) {
  return copy2d(dst, dst_pitch, src, src_pitch, width, height, kind, stream, "cudaMemcpy2DAsync");
}

cudaError_t cudaMemset(void* dst, int value, size_t bytes) {
  return set2d(dst, bytes, value, bytes, 1, nullptr, "cudaMemset");
}

cudaError_t cudaMemsetAsync(void* dst, int value, size_t bytes, cudaStream_t stream) {
  return set2d(dst, bytes, value, bytes, 1, stream, "cudaMemsetAsync");
}

cudaError_t cudaMemset2DAsync(void* dst, size_t pitch, int value, size_t width, size_t height,
                              cudaStream_t stream) {
  return set2d(dst, pitch, value, width, height, stream, "cudaMemset2DAsync");
}

cudaError_t cudaStreamCreate(cudaStream_t* stream) { return cudaStreamCreateWithFlags(stream, 0); }

cudaError_t cudaStreamCreateWithFlags(cudaStream_t* stream, unsigned int flags) {
  if (stream == nullptr || flags > cudaStreamNonBlocking) return fail(cudaErrorInvalidValue);
  auto* s = new CUstream_st;
  s->flags = flags;
  std::lock_guard<std::mutex> lock(state().mutex);
  state().streams.insert(s);
  *stream = s;
  return cudaSuccess;
}

cudaError_t cudaStreamDestroy(cudaStream_t stream) {
  if (stream == nullptr) return report(cudaErrorInvalidResourceHandle, "cudaStreamDestroy(nullptr)");
  {
    std::lock_guard<std::mutex> lock(state().mutex);
    if (state().streams.erase(stream) == 0) {
      return report(cudaErrorInvalidResourceHandle, "cudaStreamDestroy: dead or unknown stream %p", static_cast<void*>(stream));
    }
  }
  delete stream;
  return cudaSuccess;
}

cudaError_t cudaStreamSynchronize(cudaStream_t stream) {
  if (!stream_ok(stream)) return report(cudaErrorInvalidResourceHandle, "cudaStreamSynchronize: dead or unknown stream %p", static_cast<void*>(stream));
  if (capturing(stream) != nullptr) return refuse_during_capture("cudaStreamSynchronize", "on the capturing stream");
  return cudaSuccess;
}

cudaError_t cudaStreamBeginCapture(cudaStream_t stream, cudaStreamCaptureMode mode) {
  const char* no_graphs = std::getenv("VLM_EMU_NO_GRAPHS");  // a driver that refuses captures
  if (no_graphs != nullptr && std::string(no_graphs) == "1") return fail(cudaErrorStreamCaptureUnsupported);
  if (stream == nullptr || !stream_ok(stream)) {
    return report(cudaErrorStreamCaptureUnsupported, "cudaStreamBeginCapture: the legacy stream or a dead one");
  }
  State& s = state();
  std::lock_guard<std::mutex> lock(s.mutex);
  if (s.capturing.count(stream) != 0) return fail(cudaErrorInvalidValue);
  stream->capture = cudaStreamCaptureStatusActive;
  stream->mode = mode;
  stream->recording.clear();
  s.capturing.insert(stream);
  return cudaSuccess;
}

cudaError_t cudaStreamEndCapture(cudaStream_t stream, cudaGraph_t* graph) {
  if (graph == nullptr || !stream_ok(stream)) return fail(cudaErrorInvalidValue);
  *graph = nullptr;
  State& s = state();
  std::unique_lock<std::mutex> lock(s.mutex);
  if (s.capturing.erase(stream) == 0) {
    lock.unlock();
    return report(cudaErrorIllegalState, "cudaStreamEndCapture: the stream is not capturing");
  }
  const bool invalidated = stream->capture == cudaStreamCaptureStatusInvalidated;
  stream->capture = cudaStreamCaptureStatusNone;
  std::vector<Work> works = std::move(stream->recording);
  stream->recording.clear();
  if (invalidated) return fail(cudaErrorStreamCaptureInvalidated);
  auto* g = new CUgraph_st{std::move(works)};
  s.graphs.insert(g);
  *graph = g;
  return cudaSuccess;
}

cudaError_t cudaStreamIsCapturing(cudaStream_t stream, cudaStreamCaptureStatus* status) {
  if (status == nullptr || !stream_ok(stream)) return fail(cudaErrorInvalidValue);
  *status = capturing(stream) != nullptr ? stream->capture : cudaStreamCaptureStatusNone;
  return cudaSuccess;
}

cudaError_t cudaGraphInstantiate(cudaGraphExec_t* exec, cudaGraph_t graph, unsigned long long) {
  if (exec == nullptr) return fail(cudaErrorInvalidValue);
  State& s = state();
  std::lock_guard<std::mutex> lock(s.mutex);
  if (s.graphs.count(graph) == 0) return fail(cudaErrorInvalidResourceHandle);
  auto* e = new CUgraphExec_st{graph->works};
  s.execs.insert(e);
  *exec = e;
  return cudaSuccess;
}

cudaError_t cudaGraphLaunch(cudaGraphExec_t exec, cudaStream_t stream) {
  if (!stream_ok(stream)) return report(cudaErrorInvalidResourceHandle, "cudaGraphLaunch: dead or unknown stream");
  if (capturing(stream) != nullptr) return refuse_during_capture("cudaGraphLaunch", "not emulated inside a capture");
  {
    State& s = state();
    std::lock_guard<std::mutex> lock(s.mutex);
    if (s.execs.count(exec) == 0) return report(cudaErrorInvalidResourceHandle, "cudaGraphLaunch: dead or unknown graph exec");
    ++s.graph_launches;
  }
  for (const Work& work : exec->works) work();
  return cudaSuccess;
}

namespace {
// Forgets a live graph or exec handle and frees it; a dead or unknown one is reported.
template <typename Handle>
cudaError_t destroy_handle(std::set<const Handle*> State::*live, Handle* handle, const char* call) {
  {
    State& s = state();
    std::lock_guard<std::mutex> lock(s.mutex);
    if ((s.*live).erase(handle) == 0) {
      return report(cudaErrorInvalidResourceHandle, "%s: dead or unknown handle", call);
    }
  }
  delete handle;
  return cudaSuccess;
}
}  // namespace

cudaError_t cudaGraphExecDestroy(cudaGraphExec_t exec) {
  return destroy_handle(&State::execs, exec, "cudaGraphExecDestroy");
}

cudaError_t cudaGraphDestroy(cudaGraph_t graph) {
  return destroy_handle(&State::graphs, graph, "cudaGraphDestroy");
}

namespace {
bool event_ok(cudaEvent_t event) {
  std::lock_guard<std::mutex> lock(state().mutex);
  return event != nullptr && state().events.count(event) != 0;
}
}  // namespace

cudaError_t cudaStreamWaitEvent(cudaStream_t stream, cudaEvent_t event, unsigned int) {
  if (!stream_ok(stream) || !event_ok(event)) return report(cudaErrorInvalidResourceHandle, "cudaStreamWaitEvent: dead or unknown handle");
  return cudaSuccess;
}

cudaError_t cudaEventCreate(cudaEvent_t* event) { return cudaEventCreateWithFlags(event, 0); }

cudaError_t cudaEventCreateWithFlags(cudaEvent_t* event, unsigned int) {
  if (event == nullptr) return fail(cudaErrorInvalidValue);
  auto* e = new CUevent_st;
  std::lock_guard<std::mutex> lock(state().mutex);
  state().events.insert(e);
  *event = e;
  return cudaSuccess;
}

cudaError_t cudaEventDestroy(cudaEvent_t event) {
  {
    std::lock_guard<std::mutex> lock(state().mutex);
    if (event == nullptr || state().events.erase(event) == 0) {
      return report(cudaErrorInvalidResourceHandle, "cudaEventDestroy: dead or unknown event");
    }
  }
  delete event;
  return cudaSuccess;
}

cudaError_t cudaEventRecord(cudaEvent_t event, cudaStream_t stream) {
  if (!event_ok(event) || !stream_ok(stream)) return report(cudaErrorInvalidResourceHandle, "cudaEventRecord: dead or unknown handle");
  event->recorded = true;
  event->when = std::chrono::steady_clock::now();
  return cudaSuccess;
}

cudaError_t cudaEventSynchronize(cudaEvent_t event) {
  if (!event_ok(event)) return report(cudaErrorInvalidResourceHandle, "cudaEventSynchronize: dead or unknown event");
  return cudaSuccess;
}

cudaError_t cudaEventQuery(cudaEvent_t event) {
  if (!event_ok(event)) return report(cudaErrorInvalidResourceHandle, "cudaEventQuery: dead or unknown event");
  return cudaSuccess;
}

cudaError_t cudaEventElapsedTime(float* ms, cudaEvent_t start, cudaEvent_t end) {
  if (ms == nullptr || !event_ok(start) || !event_ok(end)) return fail(cudaErrorInvalidResourceHandle);
  if (!start->recorded || !end->recorded) return fail(cudaErrorInvalidResourceHandle);
  *ms = std::chrono::duration<float, std::milli>(end->when - start->when).count();
  return cudaSuccess;
}
