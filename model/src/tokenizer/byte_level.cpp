// GPT-2 byte <-> unicode stand-ins, built once from the published rule (bytes_to_unicode in
// openai/gpt-2 encoder.py) rather than pasted as a table.
#include "tokenizer/byte_level.h"

#include "tokenizer/utf8.h"

namespace vlm::tokenizer_detail {

namespace {

struct ByteTables {
  std::array<char32_t, 256> to_char{};
  std::array<int16_t, 256 + 68> to_byte{};  // stand-in code point -> byte, -1 for none
  ByteTables() {
    to_byte.fill(-1);
    int extra = 0;
    for (int byte = 0; byte < 256; ++byte) {
      const bool printable = (byte >= '!' && byte <= '~') || (byte >= 0xA1 && byte <= 0xAC) ||
                             (byte >= 0xAE && byte <= 0xFF);
      to_char[byte] = printable ? static_cast<char32_t>(byte) : static_cast<char32_t>(256 + extra++);
      to_byte[to_char[byte]] = static_cast<int16_t>(byte);
    }
  }
};

const ByteTables& tables() {
  static const ByteTables instance;
  return instance;
}

}  // namespace

char32_t byte_to_char(uint8_t byte) { return tables().to_char[byte]; }

std::optional<uint8_t> char_to_byte(char32_t code_point) {
  if (code_point >= tables().to_byte.size() || tables().to_byte[code_point] < 0) return std::nullopt;
  return static_cast<uint8_t>(tables().to_byte[code_point]);
}

std::string bytes_to_token_string(std::string_view bytes) {
  std::string out;
  out.reserve(bytes.size() * 2);
  for (char byte : bytes) utf8_append(byte_to_char(static_cast<uint8_t>(byte)), out);
  return out;
}

std::string token_string_to_bytes(std::string_view token) {
  std::string out;
  out.reserve(token.size());
  if (!utf8_is_valid(token)) return std::string(token);
  size_t pos = 0;
  while (pos < token.size()) {
    const auto byte = char_to_byte(utf8_next(token, pos));
    if (!byte) return std::string(token);
    out.push_back(static_cast<char>(*byte));
  }
  return out;
}

}  // namespace vlm::tokenizer_detail
