// Tensor: a typed, row-major, contiguous block of memory on some backend's device, plus its shape.
// One type serves as owner and as view: `owner` keeps the allocation (or a memory-mapped file)
// alive, and views made by rows()/reshape() share it. Whether `data` is a host or device pointer is
// the business of the backend that made it; model code never dereferences it directly.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "vlm/dtype.h"

namespace vlm {

class Tensor {
 public:
  Tensor() = default;
  Tensor(void* data, DType dtype, std::vector<int64_t> shape, std::shared_ptr<void> owner = {});

  void* data() const { return data_; }
  template <typename T>
  T* data_as() const { return static_cast<T*>(data_); }
  DType dtype() const { return dtype_; }
  const std::vector<int64_t>& shape() const { return shape_; }
  int64_t dim(int index) const;  // negative index counts from the end
  int rank() const { return static_cast<int>(shape_.size()); }
  int64_t numel() const;
  size_t nbytes() const { return static_cast<size_t>(numel()) * dtype_size(dtype_); }
  bool empty() const { return data_ == nullptr; }
  const std::shared_ptr<void>& owner() const { return owner_; }

  // Product of all dims but the last (a [M, ..., N] tensor seen as a matrix).
  int64_t rows() const;
  int64_t cols() const { return shape_.empty() ? 1 : shape_.back(); }

  // Rows [row0, row0 + n_rows) of the leading dimension, sharing memory.
  Tensor slice_rows(int64_t row0, int64_t n_rows) const;
  // Same memory, new shape with the same element count.
  Tensor reshape(std::vector<int64_t> shape) const;

  std::string describe() const;  // "BF16[3840, 1280]"

 private:
  void* data_ = nullptr;
  DType dtype_ = DType::F32;
  std::vector<int64_t> shape_;
  std::shared_ptr<void> owner_;
};

std::string shape_string(const std::vector<int64_t>& shape);

}  // namespace vlm
