// UTF-8 helpers shared by the tokenizer: repair of ill-formed input (one U+FFFD per maximal
// subpart, the rule both Python's bytes.decode('utf-8', 'replace') and Rust's
// String::from_utf8_lossy follow), and detection of an unfinished character at the end of a
// buffer (what IncrementalDecoder must hold back).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace vlm::tokenizer_detail {

// Length of the well-formed sequence starting at text[pos], or 0 when the bytes there are not a
// complete well-formed character. `subpart` receives the length of the maximal subpart (>= 1) to
// skip when the result is 0.
size_t utf8_sequence_length(std::string_view text, size_t pos, size_t* subpart);

bool utf8_is_valid(std::string_view text);

// Appends text to out with every maximal ill-formed subpart replaced by U+FFFD.
void utf8_append_lossy(std::string_view text, std::string& out);
std::string utf8_lossy(std::string_view text);

// Number of trailing bytes that form a proper prefix of a well-formed character (0..3): bytes
// that may still become valid once more input arrives.
size_t utf8_incomplete_tail(std::string_view text);

// Decodes the code point at text[pos] (text must be valid UTF-8); advances pos.
char32_t utf8_next(std::string_view text, size_t& pos);
void utf8_append(char32_t code_point, std::string& out);

}  // namespace vlm::tokenizer_detail
