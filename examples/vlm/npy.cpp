// .npy writer: magic, version 1.0, a padded Python-dict header, then raw little-endian float32.
#include "npy.h"

#include <fstream>
#include <string>

#include "vlm/error.h"

namespace vlm_cli {

void write_npy_f32(const std::filesystem::path& path, const std::vector<float>& values,
                   const std::vector<int64_t>& shape) {
  int64_t count = 1;
  for (int64_t d : shape) count *= d;
  VLM_CHECK(count == static_cast<int64_t>(values.size()), Internal,
            "npy shape does not match " << values.size() << " values");
  std::string dims;
  for (size_t i = 0; i < shape.size(); ++i) dims += std::to_string(shape[i]) + ", ";
  if (shape.size() > 1) dims.resize(dims.size() - 2);  // "(3, 4)" but "(3,)"
  std::string header = "{'descr': '<f4', 'fortran_order': False, 'shape': (" + dims + "), }";
  size_t total = 10 + header.size() + 1;
  header.append((64 - total % 64) % 64, ' ');
  header.push_back('\n');
  std::ofstream out(path, std::ios::binary);
  VLM_CHECK(out.good(), Io, "cannot write " << path.string());
  out.write("\x93NUMPY\x01\x00", 8);
  uint16_t header_len = static_cast<uint16_t>(header.size());
  char len_bytes[2] = {static_cast<char>(header_len & 0xff), static_cast<char>(header_len >> 8)};
  out.write(len_bytes, 2);
  out.write(header.data(), static_cast<std::streamsize>(header.size()));
  out.write(reinterpret_cast<const char*>(values.data()),
            static_cast<std::streamsize>(values.size() * sizeof(float)));
  VLM_CHECK(out.good(), Io, "failed writing " << path.string());
}

}  // namespace vlm_cli
