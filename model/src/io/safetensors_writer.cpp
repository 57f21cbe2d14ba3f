// safetensors writer (tests and benchmark checkpoints). The layout matches what the Hugging Face
// writers produce: 8-byte little-endian header length, a JSON header ("__metadata__" first, then
// tensors in add() order) padded with spaces to a multiple of 8 bytes so the data area starts
// 8-aligned, then the tensor bytes back to back in add() order.
#include <cstring>
#include <fstream>

#include <nlohmann/json.hpp>

#include "vlm/error.h"
#include "vlm/safetensors.h"

namespace vlm {

void SafetensorsWriter::add(const std::string& name, DType dtype, std::vector<int64_t> shape,
                            const void* data) {
  VLM_CHECK(!name.empty() && name != "__metadata__", InvalidInput,
            "safetensors writer: invalid tensor name '" << name << "'");
  for (const Entry& entry : entries_) {
    VLM_CHECK(entry.name != name, InvalidInput,
              "safetensors writer: tensor '" << name << "' added twice");
  }
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
  nlohmann::ordered_json header = nlohmann::ordered_json::object();
  if (!metadata_.empty()) {
    nlohmann::ordered_json meta = nlohmann::ordered_json::object();
    for (const auto& [key, value] : metadata_) meta[key] = value;
    header["__metadata__"] = std::move(meta);
  }
  uint64_t offset = 0;
  for (const Entry& entry : entries_) {
    nlohmann::ordered_json item = nlohmann::ordered_json::object();
    item["dtype"] = dtype_name(entry.dtype);
    item["shape"] = entry.shape;
    item["data_offsets"] = {offset, offset + entry.bytes.size()};
    offset += entry.bytes.size();
    header[entry.name] = std::move(item);
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
  for (const Entry& entry : entries_) {
    out.write(reinterpret_cast<const char*>(entry.bytes.data()),
              static_cast<std::streamsize>(entry.bytes.size()));
  }
  out.flush();
  VLM_CHECK(out, Io, path.string() << ": write failed");
}

}  // namespace vlm
