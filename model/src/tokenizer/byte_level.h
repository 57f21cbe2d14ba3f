// GPT-2's byte-to-unicode table (the ByteLevel pre-tokenizer/decoder of HF tokenizers): printable
// Latin-1 bytes map to themselves, the other 68 bytes to U+0100.. in byte order, so every byte
// has a visible one-character stand-in in vocab strings.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace vlm::tokenizer_detail {

// Code point that stands for `byte` in vocab strings.
char32_t byte_to_char(uint8_t byte);
// The byte a code point stands for, or nothing when it is not one of the 256 stand-ins.
std::optional<uint8_t> char_to_byte(char32_t code_point);

// The UTF-8 vocab string for raw bytes (each byte -> its stand-in).
std::string bytes_to_token_string(std::string_view bytes);
// The raw bytes a vocab string stands for, the way the ByteLevel decoder does it: every character
// mapped back, or (if any character is not a stand-in) the string's own UTF-8 bytes.
std::string token_string_to_bytes(std::string_view token);

}  // namespace vlm::tokenizer_detail
