// Streaming (SAX) read of tokenizer.json: model.vocab and model.merges, which hold ~150k entries
// each in the Qwen files, go straight into flat vectors instead of a JSON DOM (a std::map per object
// and a node per string made DOM loading the slow part); everything else becomes a normal DOM.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

namespace vlm::tokenizer_detail {

struct TokenizerJson {
  nlohmann::json rest;  // the document without model.vocab / model.merges (when they were captured)
  bool has_vocab = false;   // model.vocab was an object (captured into `vocab`)
  bool has_merges = false;  // model.merges was an array (captured into `merges`)
  std::vector<std::pair<std::string, int64_t>> vocab;        // in file order
  std::vector<std::pair<std::string, std::string>> merges;  // rank order, "a b" or ["a", "b"]
};

// Throws InvalidModel naming `source` for malformed JSON, non-integer vocab ids and malformed merges.
TokenizerJson read_tokenizer_json(std::string_view text, const std::string& source);

}  // namespace vlm::tokenizer_detail
