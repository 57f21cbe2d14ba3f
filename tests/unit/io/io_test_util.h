// Helpers for the io tests: a self-deleting temporary folder, raw file writing (to build hostile
// safetensors files byte by byte) and an "expect this vlm::Error" assertion.
#pragma once

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdint>
#include <filesystem>
#include <fstream>
#include <functional>
#include <random>
#include <string>

#include "vlm/error.h"

namespace vlm::test {

class TempDir {
 public:
  TempDir() {
    std::random_device random;
    path_ = std::filesystem::temp_directory_path() /
            ("vlm-io-test-" + std::to_string(::getpid()) + "-" + std::to_string(random()));
    std::filesystem::create_directories(path_);
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::filesystem::path& path() const { return path_; }
  std::filesystem::path operator/(const std::string& name) const { return path_ / name; }

 private:
  std::filesystem::path path_;
};

inline void write_file(const std::filesystem::path& path, const std::string& bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  ASSERT_TRUE(out.good()) << path;
}

// 8-byte little-endian length + header text + data, with the length given explicitly.
inline std::string safetensors_bytes_with_length(uint64_t length, const std::string& header,
                                                 const std::string& data) {
  std::string bytes(8, '\0');
  for (int i = 0; i < 8; ++i) bytes[i] = static_cast<char>((length >> (8 * i)) & 0xff);
  return bytes + header + data;
}

// A file whose length field matches the header text.
inline std::string safetensors_bytes(const std::string& header, const std::string& data) {
  return safetensors_bytes_with_length(header.size(), header, data);
}

// Runs `body`, expects a vlm::Error with `code` whose message contains every one of `parts`.
inline void expect_error(const std::function<void()>& body, ErrorCode code,
                         std::initializer_list<std::string> parts) {
  try {
    body();
  } catch (const Error& error) {
    EXPECT_EQ(error_code_name(error.code()), std::string(error_code_name(code)))
        << "message: " << error.message();
    for (const std::string& part : parts) {
      EXPECT_NE(error.message().find(part), std::string::npos)
          << "expected '" << part << "' in: " << error.message();
    }
    return;
  }
  ADD_FAILURE() << "expected a vlm::Error (" << error_code_name(code) << "), none was thrown";
}

}  // namespace vlm::test
