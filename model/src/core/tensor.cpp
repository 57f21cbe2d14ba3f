// Tensor views and shape bookkeeping (see tensor.h); all shape arithmetic is checked.
#include "vlm/tensor.h"

#include <sstream>

#include "vlm/error.h"

namespace vlm {

Tensor::Tensor(void* data, DType dtype, std::vector<int64_t> shape, std::shared_ptr<void> owner)
    : data_(data), dtype_(dtype), shape_(std::move(shape)), owner_(std::move(owner)) {
  for (int64_t d : shape_) VLM_CHECK(d >= 0, Internal, "negative dimension in " << describe());
}

int64_t Tensor::dim(int index) const {
  int r = rank();
  if (index < 0) index += r;
  VLM_CHECK(index >= 0 && index < r, Internal, "dim " << index << " out of range for " << describe());
  return shape_[static_cast<size_t>(index)];
}

int64_t Tensor::numel() const {
  int64_t n = 1;
  for (int64_t d : shape_) n *= d;
  return n;
}

int64_t Tensor::rows() const {
  int64_t n = 1;
  for (size_t i = 0; i + 1 < shape_.size(); ++i) n *= shape_[i];
  return n;
}

Tensor Tensor::slice_rows(int64_t row0, int64_t n_rows) const {
  VLM_CHECK(rank() >= 1, Internal, "slice_rows on a scalar");
  VLM_CHECK(row0 >= 0 && n_rows >= 0 && row0 + n_rows <= shape_[0], Internal,
            "slice_rows [" << row0 << ", " << row0 + n_rows << ") out of " << describe());
  int64_t row_elems = numel() / (shape_[0] == 0 ? 1 : shape_[0]);
  if (shape_[0] == 0) row_elems = 0;
  std::vector<int64_t> shape = shape_;
  shape[0] = n_rows;
  char* base = static_cast<char*>(data_);
  return Tensor(base + static_cast<size_t>(row0 * row_elems) * dtype_size(dtype_), dtype_,
                std::move(shape), owner_);
}

Tensor Tensor::reshape(std::vector<int64_t> shape) const {
  int64_t n = 1;
  for (int64_t d : shape) n *= d;
  VLM_CHECK(n == numel(), Internal,
            "reshape " << describe() << " to " << shape_string(shape) << " changes the element count");
  return Tensor(data_, dtype_, std::move(shape), owner_);
}

std::string shape_string(const std::vector<int64_t>& shape) {
  std::ostringstream os;
  os << "[";
  for (size_t i = 0; i < shape.size(); ++i) os << (i ? ", " : "") << shape[i];
  os << "]";
  return os.str();
}

std::string Tensor::describe() const { return std::string(dtype_name(dtype_)) + shape_string(shape_); }

}  // namespace vlm
