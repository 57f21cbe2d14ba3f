// Byte trie over the added tokens' contents; the scan only stops at bytes that can start a token,
// so plain text runs at memchr-like speed. Mirrors AddedVocabulary::find_matches of HF tokenizers
// (aho-corasick LeftmostLongest, then single_word/lstrip/rstrip); see added_tokens.h.
#include "tokenizer/added_tokens.h"

#include <unicode/uchar.h>

#include <algorithm>

#include "tokenizer/utf8.h"

namespace vlm::tokenizer_detail {

namespace {

// Rust's char::is_alphanumeric() || '_' (the word test of single_word tokens).
bool is_word_char(char32_t c) {
  if (c == U'_') return true;
  const auto value = static_cast<UChar32>(c);
  return u_hasBinaryProperty(value, UCHAR_ALPHABETIC) || (U_GET_GC_MASK(value) & U_GC_N_MASK) != 0;
}

bool is_white_space(char32_t c) { return u_hasBinaryProperty(static_cast<UChar32>(c), UCHAR_WHITE_SPACE); }

// Last code point before `end` (text valid UTF-8, end > 0).
char32_t code_point_before(std::string_view text, size_t end, size_t* start) {
  size_t pos = end - 1;
  while (pos > 0 && (static_cast<unsigned char>(text[pos]) & 0xC0) == 0x80) --pos;
  *start = pos;
  size_t cursor = pos;
  return utf8_next(text, cursor);
}

}  // namespace

AddedTokenMatcher::AddedTokenMatcher(std::vector<const AddedToken*> tokens) : tokens_(std::move(tokens)) {
  nodes_.emplace_back();
  for (size_t index = 0; index < tokens_.size(); ++index) {
    const std::string& content = tokens_[index]->pattern;
    if (content.empty()) continue;
    int32_t node = 0;
    for (char byte_char : content) {
      const auto byte = static_cast<unsigned char>(byte_char);
      auto& children = nodes_[node].children;
      auto found = std::find_if(children.begin(), children.end(),
                                [byte](const auto& child) { return child.first == byte; });
      if (found != children.end()) {
        node = found->second;
      } else {
        const auto next = static_cast<int32_t>(nodes_.size());
        nodes_[node].children.emplace_back(byte, next);
        nodes_.emplace_back();
        node = next;
      }
    }
    // Duplicate contents: the first listed token wins, as in a map built in file order.
    if (nodes_[node].token < 0) nodes_[node].token = static_cast<int32_t>(index);
    first_byte_[static_cast<unsigned char>(content[0])] = true;
  }
}

int32_t AddedTokenMatcher::longest_at(std::string_view text, size_t pos, size_t* length) const {
  int32_t node = 0;
  int32_t best = -1;
  for (size_t i = pos; i < text.size(); ++i) {
    const auto byte = static_cast<unsigned char>(text[i]);
    int32_t next = -1;
    for (const auto& child : nodes_[node].children) {
      if (child.first == byte) {
        next = child.second;
        break;
      }
    }
    if (next < 0) break;
    node = next;
    if (nodes_[node].token >= 0) {
      best = nodes_[node].token;
      *length = i + 1 - pos;
    }
  }
  return best;
}

void AddedTokenMatcher::split(std::string_view text, std::vector<TextSegment>& out) const {
  size_t segment_start = 0;  // start of the text not yet emitted
  size_t pos = 0;
  while (pos < text.size()) {
    if (!first_byte_[static_cast<unsigned char>(text[pos])]) {
      ++pos;
      continue;
    }
    size_t length = 0;
    const int32_t index = longest_at(text, pos, &length);
    if (index < 0) {
      ++pos;
      continue;
    }
    const AddedToken& token = *tokens_[index];
    size_t start = pos;
    size_t stop = pos + length;
    if (token.single_word) {
      size_t unused = 0;
      const bool space_before = start == 0 || !is_word_char(code_point_before(text, start, &unused));
      size_t cursor = stop;
      const bool space_after = stop == text.size() || !is_word_char(utf8_next(text, cursor));
      if (!space_before || !space_after) {
        // Not a match: aho-corasick resumes after this match, so the scan does too.
        pos = stop;
        continue;
      }
    }
    if (token.lstrip) {
      while (start > segment_start) {
        size_t previous = 0;
        if (!is_white_space(code_point_before(text, start, &previous))) break;
        start = previous;
      }
    }
    if (token.rstrip) {
      while (stop < text.size()) {
        size_t cursor = stop;
        if (!is_white_space(utf8_next(text, cursor))) break;
        stop = cursor;
      }
    }
    if (start > segment_start) out.push_back({text.substr(segment_start, start - segment_start), -1});
    out.push_back({text.substr(start, stop - start), token.id});
    segment_start = stop;
    pos = stop;
  }
  if (segment_start < text.size()) out.push_back({text.substr(segment_start), -1});
}

}  // namespace vlm::tokenizer_detail
