// UTF-8 validation and lossy repair following the Unicode "maximal subpart" practice (Unicode
// 15, §3.9 U+FFFD substitution), which is what the reference (Rust from_utf8_lossy, Python
// 'replace') does; see utf8.h.
#include "tokenizer/utf8.h"

namespace vlm::tokenizer_detail {

namespace {

// Valid range of the second byte for a given lead byte (Table 3-7 of the Unicode standard);
// later continuation bytes are always 0x80..0xBF.
bool second_byte_ok(unsigned char lead, unsigned char byte) {
  switch (lead) {
    case 0xE0: return byte >= 0xA0 && byte <= 0xBF;
    case 0xED: return byte >= 0x80 && byte <= 0x9F;
    case 0xF0: return byte >= 0x90 && byte <= 0xBF;
    case 0xF4: return byte >= 0x80 && byte <= 0x8F;
    default: return byte >= 0x80 && byte <= 0xBF;
  }
}

size_t expected_length(unsigned char lead) {
  if (lead < 0x80) return 1;
  if (lead >= 0xC2 && lead <= 0xDF) return 2;
  if (lead >= 0xE0 && lead <= 0xEF) return 3;
  if (lead >= 0xF0 && lead <= 0xF4) return 4;
  return 0;  // 0x80..0xC1, 0xF5..0xFF never start a character
}

}  // namespace

size_t utf8_sequence_length(std::string_view text, size_t pos, size_t* subpart) {
  const auto lead = static_cast<unsigned char>(text[pos]);
  const size_t need = expected_length(lead);
  if (need == 1) return 1;
  if (need == 0) {
    *subpart = 1;
    return 0;
  }
  size_t have = 1;
  while (have < need && pos + have < text.size()) {
    const auto byte = static_cast<unsigned char>(text[pos + have]);
    const bool ok = have == 1 ? second_byte_ok(lead, byte) : (byte >= 0x80 && byte <= 0xBF);
    if (!ok) break;
    ++have;
  }
  if (have == need) return need;
  *subpart = have;
  return 0;
}

bool utf8_is_valid(std::string_view text) {
  size_t pos = 0;
  while (pos < text.size()) {
    if (static_cast<unsigned char>(text[pos]) < 0x80) {
      ++pos;
      continue;
    }
    size_t subpart = 0;
    const size_t length = utf8_sequence_length(text, pos, &subpart);
    if (length == 0) return false;
    pos += length;
  }
  return true;
}

void utf8_append_lossy(std::string_view text, std::string& out) {
  size_t pos = 0;
  size_t run_start = 0;
  while (pos < text.size()) {
    if (static_cast<unsigned char>(text[pos]) < 0x80) {
      ++pos;
      continue;
    }
    size_t subpart = 0;
    const size_t length = utf8_sequence_length(text, pos, &subpart);
    if (length != 0) {
      pos += length;
      continue;
    }
    out.append(text.substr(run_start, pos - run_start));
    out.append("\xEF\xBF\xBD");
    pos += subpart;
    run_start = pos;
  }
  out.append(text.substr(run_start));
}

std::string utf8_lossy(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  utf8_append_lossy(text, out);
  return out;
}

size_t utf8_incomplete_tail(std::string_view text) {
  // A proper prefix is at most 3 bytes: look for the last lead byte among them.
  const size_t limit = text.size() < 3 ? text.size() : 3;
  for (size_t back = 1; back <= limit; ++back) {
    const size_t pos = text.size() - back;
    const auto byte = static_cast<unsigned char>(text[pos]);
    if (byte >= 0x80 && byte <= 0xBF) continue;  // continuation: keep looking for the lead
    const size_t need = expected_length(byte);
    if (need <= back) return 0;  // ASCII, invalid lead, or a sequence that is already complete
    size_t subpart = 0;
    // Prefix of a valid sequence iff all present bytes pass the per-position checks.
    if (utf8_sequence_length(text, pos, &subpart) == 0 && subpart == back) return back;
    return 0;
  }
  return 0;
}

char32_t utf8_next(std::string_view text, size_t& pos) {
  const auto lead = static_cast<unsigned char>(text[pos]);
  if (lead < 0x80) {
    ++pos;
    return lead;
  }
  const size_t need = expected_length(lead);
  char32_t value = need == 2 ? (lead & 0x1F) : need == 3 ? (lead & 0x0F) : (lead & 0x07);
  for (size_t i = 1; i < need; ++i) value = (value << 6) | (static_cast<unsigned char>(text[pos + i]) & 0x3F);
  pos += need;
  return value;
}

void utf8_append(char32_t code_point, std::string& out) {
  if (code_point < 0x80) {
    out.push_back(static_cast<char>(code_point));
  } else if (code_point < 0x800) {
    out.push_back(static_cast<char>(0xC0 | (code_point >> 6)));
    out.push_back(static_cast<char>(0x80 | (code_point & 0x3F)));
  } else if (code_point < 0x10000) {
    out.push_back(static_cast<char>(0xE0 | (code_point >> 12)));
    out.push_back(static_cast<char>(0x80 | ((code_point >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (code_point & 0x3F)));
  } else {
    out.push_back(static_cast<char>(0xF0 | (code_point >> 18)));
    out.push_back(static_cast<char>(0x80 | ((code_point >> 12) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | ((code_point >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (code_point & 0x3F)));
  }
}

}  // namespace vlm::tokenizer_detail
