// What a loaded tokenizer.json becomes (TokenizerModel, the body of Tokenizer::Impl): the pieces of the encode pipeline in the
// order HF tokenizers applies them, plus the id -> bytes table used for decoding. Internal header,
// shared by the loader (tokenizer_load.cpp) and the public API (tokenizer.cpp).
#pragma once

#include <cstdint>
#include <deque>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "tokenizer/added_tokens.h"
#include "tokenizer/bpe.h"
#include "tokenizer/normalizer.h"
#include "tokenizer/split_regex.h"
#include "vlm/tokenizer.h"

namespace vlm {

namespace tokenizer_detail {

struct TokenizerModel {
  // One pre-tokenizer step: a regex split (Isolated) or ByteLevel's add_prefix_space.
  struct PreTokenizerStep {
    std::unique_ptr<SplitRegex> regex;  // null for a prefix-space step
  };

  Normalizer normalizer;
  std::vector<PreTokenizerStep> pre_tokenizer;
  BpeModel bpe;

  std::vector<AddedToken> added_tokens;
  AddedTokenMatcher raw_added;         // normalized == false, on the input
  AddedTokenMatcher normalized_added;  // normalized == true, after NFC

  std::unordered_map<std::string, int32_t> token_ids;  // vocab string -> id (added tokens too)
  std::vector<std::string> id_bytes;                   // id -> decoded bytes ("" for holes)
  std::vector<uint8_t> id_flags;                       // bit 0: id exists, bit 1: special

  // Pieces of one text segment after the pre-tokenizer; `arena` owns pieces that were changed.
  void pre_tokenize(std::string_view text, std::vector<std::string_view>& pieces,
                    std::deque<std::string>& arena) const;
  void encode_text(std::string_view text, std::vector<int32_t>& out) const;
  void encode_normalized(std::string_view text, std::vector<int32_t>& out) const;
};

// Fills `model` from tokenizer.json text; throws InvalidModel / Unsupported.
void load_tokenizer_model(std::string_view json_text, const std::string& source, TokenizerModel& model);

}  // namespace tokenizer_detail

struct Tokenizer::Impl : tokenizer_detail::TokenizerModel {};

}  // namespace vlm
