// safetensors: memory-mapped, zero-copy reading with strict validation of the header (every rule a
// hostile file could break is checked and named), and a writer used by tests and benchmarks to
// produce checkpoints. Opening costs O(header), not O(file).
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "vlm/tensor.h"

namespace vlm {

struct TensorInfo {
  std::string name;
  DType dtype = DType::F32;
  std::vector<int64_t> shape;
  uint64_t data_begin = 0;  // byte offsets relative to the data area
  uint64_t data_end = 0;
};

class SafetensorsFile {
 public:
  // Maps the file and validates its header; throws Error(InvalidModel/Io/NotFound) naming the file.
  static std::shared_ptr<SafetensorsFile> open(const std::filesystem::path& path);
  // Validates an in-memory image (used by the fuzzer); the buffer must outlive the object.
  static std::shared_ptr<SafetensorsFile> from_memory(const uint8_t* bytes, size_t size,
                                                      const std::string& source_name);
  ~SafetensorsFile();

  const std::filesystem::path& path() const { return path_; }
  const std::vector<TensorInfo>& tensors() const { return tensors_; }
  const std::map<std::string, std::string>& metadata() const { return metadata_; }
  bool contains(const std::string& name) const;
  const TensorInfo& info(const std::string& name) const;  // throws NotFound
  // Zero-copy host view; keeps the mapping alive.
  Tensor tensor(const std::string& name) const;

 private:
  SafetensorsFile() = default;
  void parse(const std::string& source_name);

  std::filesystem::path path_;
  const uint8_t* bytes_ = nullptr;
  size_t size_ = 0;
  uint64_t data_offset_ = 0;
  void* mapping_ = nullptr;  // non-null when we own an mmap
  std::vector<TensorInfo> tensors_;
  std::map<std::string, size_t> index_;
  std::map<std::string, std::string> metadata_;
  std::weak_ptr<SafetensorsFile> self_;
};

// One tensor of a file written by write_safetensors_streaming.
struct TensorSpec {
  std::string name;
  DType dtype = DType::F32;
  std::vector<int64_t> shape;
};

// Produces the bytes of spec (index spec_index) from byte_offset on, n_bytes of them, into dst.
using TensorFill = std::function<void(const TensorSpec& spec, size_t spec_index,
                                      uint64_t byte_offset, uint8_t* dst, size_t n_bytes)>;

// Writes a .safetensors file whose data is produced chunk by chunk by `fill`, so checkpoints larger
// than memory can be written (random 7B-shaped benchmark checkpoints). Same layout as
// SafetensorsWriter. Throws InvalidInput for bad names/shapes, Io for write failures.
void write_safetensors_streaming(const std::filesystem::path& path,
                                 const std::vector<TensorSpec>& specs, const TensorFill& fill,
                                 const std::map<std::string, std::string>& metadata = {});

// Writes tensors (host memory) to a .safetensors file. Order of add() is the data order.
class SafetensorsWriter {
 public:
  void add(const std::string& name, DType dtype, std::vector<int64_t> shape, const void* data);
  void add(const std::string& name, const Tensor& host_tensor);
  void set_metadata(const std::string& key, const std::string& value);
  void write(const std::filesystem::path& path) const;  // throws Io

 private:
  struct Entry {
    std::string name;
    DType dtype;
    std::vector<int64_t> shape;
    std::vector<uint8_t> bytes;
  };
  std::vector<Entry> entries_;
  std::map<std::string, std::string> metadata_;
};

}  // namespace vlm
