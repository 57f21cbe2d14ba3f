// Added (and special) tokens of tokenizer.json, found in text before any normalisation or
// splitting, the way HF tokenizers' AddedVocabulary does it: leftmost match wins, the longest
// token among those starting there, then the single_word / lstrip / rstrip rules.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace vlm::tokenizer_detail {

struct AddedToken {
  int32_t id = 0;
  std::string content;
  std::string pattern;  // what is searched for: content, NFC-normalized when `normalized`
  bool special = false;
  bool normalized = false;  // matched on normalized text instead of the raw input
  bool single_word = false;
  bool lstrip = false;
  bool rstrip = false;
};

// One stretch of text: either an added token (id >= 0) or plain text to tokenize (id < 0).
struct TextSegment {
  std::string_view text;
  int32_t id = -1;
};

class AddedTokenMatcher {
 public:
  AddedTokenMatcher() = default;
  // Builds the matcher over `tokens` (kept by pointer: they must outlive the matcher).
  explicit AddedTokenMatcher(std::vector<const AddedToken*> tokens);

  bool empty() const { return tokens_.empty(); }
  // Splits `text` (valid UTF-8) into segments, appending to `out`; empty text segments are dropped.
  void split(std::string_view text, std::vector<TextSegment>& out) const;

 private:
  struct Node {
    std::vector<std::pair<unsigned char, int32_t>> children;  // byte -> node index
    int32_t token = -1;                                         // index into tokens_
  };
  // Longest token starting at text[pos]: index into tokens_ and its length, or -1.
  int32_t longest_at(std::string_view text, size_t pos, size_t* length) const;

  std::vector<const AddedToken*> tokens_;
  std::vector<Node> nodes_;
  bool first_byte_[256] = {};
};

}  // namespace vlm::tokenizer_detail
