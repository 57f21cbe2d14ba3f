// CudaBackend core (backend_cuda_impl.h): device selection and validation, stream, memory pool,
// host <-> device transfers with dtype conversion, weight upload, and registration of "cuda" /
// "cuda:N" with vlm::make_backend. The ops are in backend_cuda_ops.cpp.
#include <algorithm>
#include <charconv>
#include <cstdio>
#include <cstdlib>
#include <initializer_list>
#include <string_view>

#include "backend_cuda.h"
#include "backend_cuda_impl.h"
#include "check.h"
#include "vlm/log.h"

namespace vlm::cuda {

namespace {

// Weight conversion chunk: 8 Mi elements (32 MB of f32 staging).
constexpr int64_t kUploadChunk = int64_t{8} << 20;

// "cuda" -> 0, "cuda:3" -> 3.
int parse_device_index(const std::string& device) {
  if (device == "cuda") return 0;
  const std::string prefix = "cuda:";
  int index = -1;
  if (device.size() > prefix.size() && device.compare(0, prefix.size(), prefix) == 0) {
    const char* begin = device.data() + prefix.size();
    const char* end = device.data() + device.size();
    auto [ptr, ec] = std::from_chars(begin, end, index);
    if (ec != std::errc() || ptr != end) index = -1;
  }
  VLM_CHECK(index >= 0, InvalidInput,
            "device '" << device << "' is not one of cuda, cuda:N (N a device index)");
  return index;
}

// The environment variable `name` as the index of one of `choices`; unset or empty is choices[0]
// (the default), anything else is InvalidInput naming the variable and the choices.
size_t env_choice(const char* name, std::initializer_list<std::string_view> choices) {
  const char* set = std::getenv(name);
  if (set == nullptr || *set == '\0') return 0;
  const std::string_view value = set;
  std::string expected;
  size_t index = 0;
  for (std::string_view choice : choices) {
    if (choice == value) return index;
    expected += (index == 0 ? "" : index + 1 == choices.size() ? " or " : ", ") + std::string(choice);
    ++index;
  }
  VLM_THROW(InvalidInput, name << "=" << value << ": expected " << expected);
}

// VLM_CUDA_MLP_ROWS as CudaBackend::set_row_blocks' mode: unset, empty or "off" 0, "l2" -1, a
// positive row count itself; anything else is InvalidInput naming the variable.
int64_t env_row_blocks() {
  const char* set = std::getenv("VLM_CUDA_MLP_ROWS");
  if (set == nullptr || *set == '\0' || std::string_view(set) == "off") return 0;
  if (std::string_view(set) == "l2") return -1;
  const std::string_view value = set;
  int64_t rows = 0;
  auto [ptr, ec] = std::from_chars(value.data(), value.data() + value.size(), rows);
  VLM_CHECK(ec == std::errc() && ptr == value.data() + value.size() && rows > 0, InvalidInput,
            "VLM_CUDA_MLP_ROWS=" << value << ": expected off, l2 or a positive row count");
  return rows;
}

}  // namespace

ElemType elem_type(DType dtype) {
  switch (dtype) {
    case DType::F32:
      return ElemType::F32;
    case DType::F16:
      return ElemType::F16;
    case DType::BF16:
      return ElemType::BF16;
    default:
      VLM_THROW(Unsupported, "cuda: " << dtype_name(dtype) << " is not a float element type");
  }
}

int cuda_device_count() {
  int count = 0;
  if (cudaGetDeviceCount(&count) != cudaSuccess) {
    (void)cudaGetLastError();
    return 0;
  }
  return count;
}

CudaBackend::CudaBackend(int device_index) : device_(device_index) {
  cuda_check_not_broken();
  int count = 0;
  const cudaError_t status = cudaGetDeviceCount(&count);
  if (status != cudaSuccess) {
    (void)cudaGetLastError();
    VLM_THROW(Device, "cuda:" << device_index << ": CUDA is not usable on this machine ("
                              << cudaGetErrorName(status) << ": " << cudaGetErrorString(status)
                              << ")");
  }
  VLM_CHECK(count > 0, Device, "cuda:" << device_index << ": no CUDA device on this machine");
  VLM_CHECK(device_index >= 0 && device_index < count, InvalidInput,
            "device cuda:" << device_index << " does not exist: this machine has " << count
                           << " CUDA device(s), cuda:0 to cuda:" << count - 1);
  cudaDeviceProp prop{};
  VLM_CUDA_CHECK(cudaGetDeviceProperties(&prop, device_));
  VLM_CHECK(prop.major >= 8, Unsupported,
            "cuda:" << device_ << " (" << prop.name << ") has compute capability " << prop.major
                    << "." << prop.minor << "; the CUDA backend needs 8.0 or newer (bf16)");
  sm_count_ = prop.multiProcessorCount;
  constexpr AttentionKernel kAttentionKernels[] = {AttentionKernel::Auto, AttentionKernel::Simt,
                                                   AttentionKernel::Mma, AttentionKernel::Flash};
  attention_kernel_ =
      kAttentionKernels[env_choice("VLM_CUDA_ATTENTION", {"auto", "simt", "mma", "flash"})];
  attention_tuning_ = env_choice("VLM_CUDA_ATTENTION_TUNE", {"1", "0"}) == 0;
  constexpr GemvKernel kGemvKernels[] = {GemvKernel::Auto, GemvKernel::Ours, GemvKernel::CublasLt};
  gemv_kernel_ = kGemvKernels[env_choice("VLM_CUDA_GEMV", {"auto", "ours", "cublaslt"})];
  pad_widths_ = env_choice("VLM_CUDA_PAD_K", {"1", "0"}) == 0;
  join_weights_ = env_choice("VLM_CUDA_JOIN", {"1", "0"}) == 0;
  row_blocks_ = env_row_blocks();
  l2_bytes_ = prop.l2CacheSize;
  supports_programmatic_launch_ = prop.major >= 9;
  set_programmatic_launch(env_choice("VLM_CUDA_PDL", {"0", "1"}) == 1);
  poison_allocations_ = env_choice("VLM_CUDA_POISON", {"0", "1"}) == 1;
  split_combine_inline_ = env_choice("VLM_CUDA_SPLIT_COMBINE", {"inline", "kernel"}) == 0;
  GemmTuning gemm_tuning;
  gemm_tuning.measure = env_choice("VLM_CUDA_GEMM_TUNE", {"1", "0"}) == 0;
  VLM_CUDA_CHECK(cudaSetDevice(device_));
  // Creating the stream creates the context: a GPU held by another process in exclusive mode
  // fails here with cudaErrorDevicesUnavailable, reported as such by check.cpp.
  VLM_CUDA_CHECK(cudaStreamCreateWithFlags(&stream_, cudaStreamNonBlocking));
  pool_ = std::make_shared<DevicePool>(device_);
  try {
    gemm_ = std::make_unique<GemmRunner>(stream_, *pool_);
    gemm_->set_tuning(gemm_tuning);
    const size_t counter_bytes = kSplitCounters * sizeof(int32_t);
    void* counters = pool_->allocate(counter_bytes);
    std::shared_ptr<DevicePool> pool = pool_;
    split_counters_ = Tensor(counters, DType::I32, {kSplitCounters},
                             std::shared_ptr<void>(counters, [pool](void* p) { pool->release(p); }));
    VLM_CUDA_CHECK(cudaMemsetAsync(counters, 0, counter_bytes, stream_));
    if (const char* path = std::getenv("VLM_CUDA_PROFILE"); path != nullptr && *path != '\0') {
      profile_path_ = path;
      profile_ = std::make_shared<OpProfile>(stream_);
    }
  } catch (...) {
    gemm_.reset();
    (void)cudaStreamDestroy(stream_);
    throw;
  }
  name_ = "cuda:" + std::to_string(device_) + " (" + prop.name + ", sm_" +
          std::to_string(prop.major) + std::to_string(prop.minor) + ", " +
          std::to_string(prop.totalGlobalMem >> 30) + " GiB)";
}

CudaBackend::~CudaBackend() {
  if (cudaSetDevice(device_) == cudaSuccess) (void)cudaStreamSynchronize(stream_);
  write_profile();
  gemm_.reset();
  (void)cudaStreamDestroy(stream_);
}

void CudaBackend::write_profile() noexcept {
  if (!profile_) return;
  try {
    const std::string table = profile_->report();
    std::FILE* file = std::fopen(profile_path_.c_str(), "a");
    if (file == nullptr) {
      log(LogLevel::Warning, "VLM_CUDA_PROFILE: cannot append to " + profile_path_);
      return;
    }
    std::fprintf(file, "# %s\n%s", name_.c_str(), table.c_str());
    std::fclose(file);
  } catch (...) {
    // A diagnostic: a device error met while folding must not leave a destructor.
  }
}

bool CudaBackend::supports(Op op, DType dtype) const {
  // Weights of any float dtype: upload_weight converts them to BF16, so the loaders' question (can
  // a checkpoint of this dtype be used, vision_weights.cpp) is yes; the ops themselves then only
  // ever see BF16 weights (kCudaDTypes, checked per call).
  const bool float_dtype = dtype == DType::F32 || dtype == DType::F16 || dtype == DType::BF16;
  if ((op == Op::MatMul || op == Op::RmsNorm) && float_dtype) return true;
  return supports_under(kCudaDTypes, op, dtype);
}

int64_t CudaBackend::preferred_row_block(int64_t intermediate_bytes_per_row) const {
  if (row_blocks_ > 0) return row_blocks_;
  if (row_blocks_ == 0 || l2_bytes_ <= 0 || intermediate_bytes_per_row <= 0) return 0;
  // Half the L2 for the block's intermediates (the other half: weights and whatever else the
  // kernels touch), in multiples of 128 rows, a GEMM tile's height.
  constexpr int64_t kTileRows = 128;
  const int64_t rows = l2_bytes_ / 2 / intermediate_bytes_per_row / kTileRows * kTileRows;
  return std::max(rows, kTileRows);
}

void CudaBackend::enter(const char* op) const {
  cuda_check_not_broken();
  VLM_CUDA_CHECK(cudaSetDevice(device_));
  if (op != nullptr && profile_ && !capturing()) profile_->mark(op);
}

void CudaBackend::label_matmul(const char* op, const MatmulShape& shape) const {
  if (!profile_ || capturing()) return;
  profile_->relabel(std::string(op) + " " + std::to_string(shape.m) + "x" + std::to_string(shape.n) +
                    "x" + std::to_string(shape.k));
}

void CudaBackend::wait_for_stream() const {
  VLM_CUDA_CHECK(cudaStreamSynchronize(stream_));
  if (profile_) profile_->mark("(host; the GPU idle)");
}

void CudaBackend::check_launch(const char* op) const { VLM_CUDA_CHECK_LAUNCH(op); }

void CudaBackend::synchronize() {
  enter();
  wait_for_stream();
}

Tensor CudaBackend::alloc(DType dtype, std::vector<int64_t> shape) {
  enter();
  const size_t bytes = check_alloc_bytes(dtype, shape, "cuda alloc");
  std::shared_ptr<DevicePool> pool = pool_;
  void* block = pool->allocate(bytes);
  std::shared_ptr<void> owner(block, [pool](void* p) { pool->release(p); });
  if (poison_allocations_ && bytes > 0) VLM_CUDA_CHECK(cudaMemsetAsync(block, 0xFF, bytes, stream_));
  return Tensor(block, dtype, std::move(shape), std::move(owner));
}

void CudaBackend::convert(const void* src, DType src_type, void* dst, DType dst_type, int64_t n) {
  if (n == 0) return;
  launch_convert(src, elem_type(src_type), dst, elem_type(dst_type), n, stream_);
  check_launch("convert");
}

Tensor CudaBackend::upload_weight(const Tensor& host) {
  return register_weight(upload_weight_data(host));
}

Tensor CudaBackend::upload_weight_data(const Tensor& host) {
  enter("upload_weight");
  const bool is_float = host.dtype() == DType::F32 || host.dtype() == DType::F16 ||
                        host.dtype() == DType::BF16;
  Tensor device = alloc(is_float ? DType::BF16 : host.dtype(), host.shape());
  upload_weight_into(host, device);
  return device;
}

void CudaBackend::upload_weight_into(const Tensor& host, Tensor& device) {
  const bool is_float = host.dtype() == DType::F32 || host.dtype() == DType::F16 ||
                        host.dtype() == DType::BF16;
  const int64_t n = host.numel();
  if (n == 0) return;
  VLM_CHECK(!host.empty(), InvalidInput, "upload_weight: host tensor " << host.describe() << " has no data");
  if (!is_float || host.dtype() == DType::BF16) {
    VLM_CUDA_CHECK(cudaMemcpyAsync(device.data(), host.data(), host.nbytes(),
                                   cudaMemcpyHostToDevice, stream_));
    return;
  }
  // F32/F16 -> bf16 on the device, one staging chunk at a time (stream order makes reuse safe).
  const size_t element = dtype_size(host.dtype());
  const int64_t chunk = std::min(n, kUploadChunk);
  Tensor staging = alloc(host.dtype(), {chunk});
  for (int64_t begin = 0; begin < n; begin += chunk) {
    const int64_t count = std::min(chunk, n - begin);
    VLM_CUDA_CHECK(cudaMemcpyAsync(staging.data(),
                                   host.data_as<const char>() + static_cast<size_t>(begin) * element,
                                   static_cast<size_t>(count) * element, cudaMemcpyHostToDevice,
                                   stream_));
    convert(staging.data(), host.dtype(), device.data_as<uint16_t>() + begin, DType::BF16, count);
  }
}

Tensor CudaBackend::from_host_f32(const float* values, std::vector<int64_t> shape, DType dtype) {
  VLM_CHECK(dtype == DType::F32 || dtype == DType::F16 || dtype == DType::BF16, Unsupported,
            "from_host_f32: cannot store f32 values as " << dtype_name(dtype));
  Tensor tensor = alloc(dtype, std::move(shape));
  const int64_t n = tensor.numel();
  if (n == 0) return tensor;
  VLM_CHECK(values != nullptr, InvalidInput, "from_host_f32: null values for " << tensor.describe());
  const size_t bytes = static_cast<size_t>(n) * sizeof(float);
  if (dtype == DType::F32) {
    VLM_CUDA_CHECK(cudaMemcpyAsync(tensor.data(), values, bytes, cudaMemcpyHostToDevice, stream_));
    return tensor;
  }
  Tensor staging = alloc(DType::F32, {n});
  VLM_CUDA_CHECK(cudaMemcpyAsync(staging.data(), values, bytes, cudaMemcpyHostToDevice, stream_));
  convert(staging.data(), DType::F32, tensor.data(), dtype, n);
  return tensor;
}

std::vector<float> CudaBackend::to_host_f32(const Tensor& tensor) {
  enter("to_host_f32");
  std::vector<float> values(static_cast<size_t>(tensor.numel()));
  if (values.empty()) return values;
  const size_t bytes = values.size() * sizeof(float);
  if (tensor.dtype() == DType::F32) {
    VLM_CUDA_CHECK(cudaMemcpyAsync(values.data(), tensor.data(), bytes, cudaMemcpyDeviceToHost, stream_));
  } else {
    Tensor staging = alloc(DType::F32, {tensor.numel()});
    convert(tensor.data(), tensor.dtype(), staging.data(), DType::F32, tensor.numel());
    VLM_CUDA_CHECK(cudaMemcpyAsync(values.data(), staging.data(), bytes, cudaMemcpyDeviceToHost, stream_));
  }
  wait_for_stream();
  return values;
}

Tensor CudaBackend::upload_indices(std::span<const int32_t> values) {
  Tensor device = alloc(DType::I32, {static_cast<int64_t>(values.size())});
  if (!values.empty()) {
    VLM_CUDA_CHECK(cudaMemcpyAsync(device.data(), values.data(), values.size_bytes(),
                                   cudaMemcpyHostToDevice, stream_));
  }
  return device;
}

std::unique_ptr<Backend> make_cuda_backend(int device_index) {
  return std::make_unique<CudaBackend>(device_index);
}

void register_cuda_backend() {
  register_backend_factory("cuda", [](const std::string& device) -> std::unique_ptr<Backend> {
    return make_cuda_backend(parse_device_index(device));
  });
}

namespace {

// Linking libvlm-cuda whole (meson's vlm_cuda_dep) is enough to make "cuda" available.
struct Registrar {
  Registrar() {
    try {
      register_cuda_backend();
    } catch (...) {
      // Registration cannot fail for a valid prefix; never let an exception escape static init.
    }
  }
} g_registrar;

}  // namespace

}  // namespace vlm::cuda
