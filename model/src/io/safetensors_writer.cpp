// safetensors writer (tests and benchmark checkpoints). The layout matches what the Hugging Face
// writers produce: 8-byte little-endian header length, a JSON header ("__metadata__" first, then
// tensors in add() order) padded with spaces to a multiple of 8 bytes so the data area starts
// 8-aligned, then the tensor bytes back to back in add() order.
#include <algorithm>
#include <cstring>
#include <fstream>

#include <nlohmann/json.hpp>

#include "vlm/error.h"
#include "vlm/safetensors.h"

namespace vlm {

namespace {

// numel × element size with every multiplication checked.
uint64_t checked_byte_size(const std::string& name, DType dtype, const std::vector<int64_t>& shape) {
  uint64_t numel = 1;
  for (int64_t dim : shape) {
    VLM_CHECK(dim >= 0, InvalidInput,
              "safetensors writer: tensor '" << name << "' has negative dimension in "
                                             << shape_string(shape));
    VLM_CHECK(!__builtin_mul_overflow(numel, static_cast<uint64_t>(dim), &numel), InvalidInput,
              "safetensors writer: tensor '" << name << "' shape overflows");
  }
  uint64_t nbytes = 0;
  VLM_CHECK(!__builtin_mul_overflow(numel, static_cast<uint64_t>(dtype_size(dtype)), &nbytes),
            InvalidInput, "safetensors writer: tensor '" << name << "' byte size overflows");
  return nbytes;
}

}  // namespace

void SafetensorsWriter::add(const std::string& name, DType dtype, std::vector<int64_t> shape,
                            const void* data) {
  VLM_CHECK(!name.empty() && name != "__metadata__", InvalidInput,
            "safetensors writer: invalid tensor name '" << name << "'");
  for (const Entry& entry : entries_) {
    VLM_CHECK(entry.name != name, InvalidInput,
              "safetensors writer: tensor '" << name << "' added twice");
  }
  uint64_t nbytes = checked_byte_size(name, dtype, shape);
  VLM_CHECK(nbytes == 0 || data != nullptr, InvalidInput,
            "safetensors writer: tensor '" << name << "' has no data");
  Entry entry{name, dtype, std::move(shape), {}};
  entry.bytes.resize(nbytes);
  if (nbytes != 0) std::memcpy(entry.bytes.data(), data, nbytes);
  entries_.push_back(std::move(entry));
}

void SafetensorsWriter::add(const std::string& name, const Tensor& host_tensor) {
  add(name, host_tensor.dtype(), host_tensor.shape(), host_tensor.data());
}

void SafetensorsWriter::set_metadata(const std::string& key, const std::string& value) {
  metadata_[key] = value;
}

void SafetensorsWriter::write(const std::filesystem::path& path) const {
  std::vector<TensorSpec> specs;
  specs.reserve(entries_.size());
  for (const Entry& entry : entries_) specs.push_back({entry.name, entry.dtype, entry.shape});
  write_safetensors_streaming(
      path, specs,
      [this](const TensorSpec&, size_t index, uint64_t offset, uint8_t* dst, size_t n_bytes) {
        std::memcpy(dst, entries_[index].bytes.data() + offset, n_bytes);
      },
      metadata_);
}

void write_safetensors_streaming(const std::filesystem::path& path,
                                 const std::vector<TensorSpec>& specs, const TensorFill& fill,
                                 const std::map<std::string, std::string>& metadata) {
  nlohmann::ordered_json header = nlohmann::ordered_json::object();
  if (!metadata.empty()) {
    nlohmann::ordered_json meta = nlohmann::ordered_json::object();
    for (const auto& [key, value] : metadata) meta[key] = value;
    header["__metadata__"] = std::move(meta);
  }
  std::vector<uint64_t> sizes;
  uint64_t offset = 0;
  for (const TensorSpec& spec : specs) {
    VLM_CHECK(!spec.name.empty() && spec.name != "__metadata__", InvalidInput,
              "safetensors writer: invalid tensor name '" << spec.name << "'");
    VLM_CHECK(!header.contains(spec.name), InvalidInput,
              "safetensors writer: tensor '" << spec.name << "' added twice");
    uint64_t nbytes = checked_byte_size(spec.name, spec.dtype, spec.shape);
    nlohmann::ordered_json item = nlohmann::ordered_json::object();
    item["dtype"] = dtype_name(spec.dtype);
    item["shape"] = spec.shape;
    item["data_offsets"] = {offset, offset + nbytes};
    offset += nbytes;
    sizes.push_back(nbytes);
    header[spec.name] = std::move(item);
  }
  std::string text = header.dump();
  text.append((8 - text.size() % 8) % 8, ' ');

  uint8_t length_bytes[8];
  uint64_t length = text.size();
  for (int i = 0; i < 8; ++i) length_bytes[i] = static_cast<uint8_t>(length >> (8 * i));

  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  VLM_CHECK(out, Io, path.string() << ": cannot open for writing");
  out.write(reinterpret_cast<const char*>(length_bytes), sizeof length_bytes);
  out.write(text.data(), static_cast<std::streamsize>(text.size()));
  constexpr size_t kChunk = 8u << 20;
  std::vector<uint8_t> chunk;
  for (size_t i = 0; i < specs.size(); ++i) {
    for (uint64_t done = 0; done < sizes[i];) {
      size_t n = static_cast<size_t>(std::min<uint64_t>(kChunk, sizes[i] - done));
      chunk.resize(n);
      fill(specs[i], i, done, chunk.data(), n);
      out.write(reinterpret_cast<const char*>(chunk.data()), static_cast<std::streamsize>(n));
      VLM_CHECK(out, Io, path.string() << ": write failed in tensor '" << specs[i].name << "'");
      done += n;
    }
  }
  out.flush();
  VLM_CHECK(out, Io, path.string() << ": write failed");
}

}  // namespace vlm
