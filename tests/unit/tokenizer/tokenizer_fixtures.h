// Shared helpers of the tokenizer tests: the committed reference fixtures (VLM_FIXTURES) and the
// Qwen tokenizer decompressed by meson into the build dir (VLM_QWEN_TOKENIZER), loaded once.
#pragma once

#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "vlm/tokenizer.h"

namespace vlm_test {

inline std::string env_or_empty(const char* name) {
  const char* value = std::getenv(name);
  return value == nullptr ? std::string() : std::string(value);
}

inline std::string fixture_path(const std::string& relative) {
  return env_or_empty("VLM_FIXTURES") + "/tokenizer/" + relative;
}

inline std::string read_text_file(const std::string& path) {
  std::ifstream file(path, std::ios::binary);
  if (!file) throw std::runtime_error("cannot open " + path);
  std::ostringstream text;
  text << file.rdbuf();
  return text.str();
}

inline nlohmann::json load_fixture(const std::string& relative) {
  return nlohmann::json::parse(read_text_file(fixture_path(relative)));
}

inline const vlm::Tokenizer& qwen_tokenizer() {
  static const vlm::Tokenizer tokenizer = vlm::Tokenizer::from_file(env_or_empty("VLM_QWEN_TOKENIZER"));
  return tokenizer;
}

inline std::string base64_decode(const std::string& text) {
  static const std::string alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  unsigned value = 0;
  int bits = 0;
  for (char c : text) {
    if (c == '=') break;
    value = (value << 6) | static_cast<unsigned>(alphabet.find(c));
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out.push_back(static_cast<char>((value >> bits) & 0xFF));
    }
  }
  return out;
}

// The input bytes of a corpus case: raw bytes for the invalid-UTF-8 cases, else the text.
inline std::string case_input(const nlohmann::json& entry) {
  if (entry.contains("bytes_b64")) return base64_decode(entry["bytes_b64"].get<std::string>());
  return entry["text"].get<std::string>();
}

inline std::vector<int32_t> ids_of(const nlohmann::json& node) { return node.get<std::vector<int32_t>>(); }

}  // namespace vlm_test
