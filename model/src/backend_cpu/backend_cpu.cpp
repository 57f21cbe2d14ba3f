// CpuBackend core: construction, capability table, host memory, and the ops that
// only move rows (embedding, gather_rows, copy_rows) or scan them (argmax).
#include "backend_cpu/backend_cpu.h"

#include <cblas.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>

#include "backend_cpu/cpu_simd.h"
#include "vlm/error.h"

namespace vlm {

void hold_blas_single_threaded() {
  if (openblas_get_num_threads() != 1) openblas_set_num_threads(1);
}

CpuBackend::CpuBackend(int n_threads) : pool_(n_threads) {
  hold_blas_single_threaded();
  scratch_.resize(static_cast<size_t>(pool_.size()));
}

std::string CpuBackend::name() const {
  return "cpu (" + std::to_string(pool_.size()) + " threads, " +
         (cpu::simd_enabled() ? "avx2" : "generic") + ")";
}

bool CpuBackend::supports(Op op, DType dtype) const { return supports_under(kCpuDTypes, op, dtype); }

float* CpuBackend::scratch(int thread, size_t n) {
  std::vector<float>& buffer = scratch_[static_cast<size_t>(thread)];
  if (buffer.size() < n) buffer.resize(n);
  return buffer.data();
}

void CpuBackend::parallel_ranges(int64_t n, int64_t min_chunk,
                                 const std::function<void(int64_t, int64_t, int)>& fn) {
  if (n <= 0) return;
  int64_t max_chunks = static_cast<int64_t>(pool_.size()) * 4;
  int64_t chunks = std::max<int64_t>(1, std::min(max_chunks, n / std::max<int64_t>(1, min_chunk)));
  int64_t chunk = (n + chunks - 1) / chunks;
  pool_.parallel_for(chunks, [&](int64_t task, int thread) {
    int64_t begin = task * chunk;
    int64_t end = std::min(n, begin + chunk);
    if (begin < end) fn(begin, end, thread);
  });
}

// ---- memory ----

Tensor CpuBackend::alloc(DType dtype, std::vector<int64_t> shape) {
  const size_t bytes = check_alloc_bytes(dtype, shape, "alloc");
  size_t rounded = std::max<size_t>(64, (bytes + 63) / 64 * 64);
  void* data = std::aligned_alloc(64, rounded);
  VLM_CHECK(data != nullptr, OutOfMemory,
            "alloc: cannot allocate " << bytes << " bytes for " << dtype_name(dtype)
                                      << shape_string(shape));
  std::shared_ptr<void> owner(data, [](void* p) { std::free(p); });
  return Tensor(data, dtype, std::move(shape), std::move(owner));
}

Tensor CpuBackend::upload_weight(const Tensor& host) { return host; }

Tensor CpuBackend::from_host_f32(const float* values, std::vector<int64_t> shape, DType dtype) {
  VLM_CHECK(dtype == DType::F32 || dtype == DType::F16 || dtype == DType::BF16, Unsupported,
            "from_host_f32: cannot store f32 values as " << dtype_name(dtype));
  Tensor tensor = alloc(dtype, std::move(shape));
  convert_from_f32(values, dtype, tensor.data(), static_cast<size_t>(tensor.numel()));
  return tensor;
}

std::vector<float> CpuBackend::to_host_f32(const Tensor& tensor) {
  std::vector<float> values(static_cast<size_t>(tensor.numel()));
  if (!values.empty()) convert_to_f32(tensor.data(), tensor.dtype(), values.data(), values.size());
  return values;
}

// ---- row movement ----

void CpuBackend::embedding(const Tensor& table, std::span<const int32_t> ids, Tensor& y) {
  check_embedding_args(table, ids, y, kCpuDTypes);
  const int64_t dim = table.dim(1);
  const size_t row_bytes = static_cast<size_t>(dim) * dtype_size(table.dtype());
  const char* base = table.data_as<const char>();
  float* out = y.data_as<float>();
  parallel_ranges(static_cast<int64_t>(ids.size()), 16, [&](int64_t begin, int64_t end, int) {
    for (int64_t i = begin; i < end; ++i) {
      cpu::convert_to_f32_fast(base + static_cast<size_t>(ids[static_cast<size_t>(i)]) * row_bytes,
                               table.dtype(), out + i * dim, dim);
    }
  });
}

void CpuBackend::gather_rows(const Tensor& x, std::span<const int32_t> index, Tensor& y) {
  check_gather_rows_args(x, index, y);
  const size_t row_bytes = static_cast<size_t>(x.cols()) * dtype_size(x.dtype());
  const char* src = x.data_as<const char>();
  char* dst = y.data_as<char>();
  parallel_ranges(static_cast<int64_t>(index.size()), 64, [&](int64_t begin, int64_t end, int) {
    for (int64_t i = begin; i < end; ++i) {
      std::memcpy(dst + static_cast<size_t>(i) * row_bytes,
                  src + static_cast<size_t>(index[static_cast<size_t>(i)]) * row_bytes, row_bytes);
    }
  });
}

void CpuBackend::copy_rows(const Tensor& src, int64_t src_row0, Tensor& dst, int64_t dst_row0,
                           int64_t n_rows) {
  check_copy_rows_args(src, src_row0, dst, dst_row0, n_rows);
  if (n_rows == 0) return;
  const size_t row_bytes = static_cast<size_t>(src.cols()) * dtype_size(src.dtype());
  std::memmove(dst.data_as<char>() + static_cast<size_t>(dst_row0) * row_bytes,
               src.data_as<const char>() + static_cast<size_t>(src_row0) * row_bytes,
               static_cast<size_t>(n_rows) * row_bytes);
}

std::vector<int32_t> CpuBackend::argmax(const Tensor& x) {
  check_argmax_args(x);
  const int64_t rows = x.rows(), cols = x.cols();
  std::vector<int32_t> result(static_cast<size_t>(rows));
  const size_t row_bytes = static_cast<size_t>(cols) * dtype_size(x.dtype());
  pool_.parallel_for(rows, [&](int64_t r, int thread) {
    const float* row;
    if (x.dtype() == DType::F32) {
      row = x.data_as<const float>() + r * cols;
    } else {
      float* buffer = scratch(thread, static_cast<size_t>(cols));
      cpu::convert_to_f32_fast(x.data_as<const char>() + static_cast<size_t>(r) * row_bytes,
                               x.dtype(), buffer, cols);
      row = buffer;
    }
    int64_t best = 0;
    for (int64_t c = 1; c < cols; ++c) {
      if (row[c] > row[best]) best = c;
    }
    result[static_cast<size_t>(r)] = static_cast<int32_t>(best);
  });
  return result;
}

std::unique_ptr<Backend> make_cpu_backend(int n_threads) {
  return std::make_unique<CpuBackend>(n_threads);
}

}  // namespace vlm
