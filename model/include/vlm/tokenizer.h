// Byte-level BPE tokenizer read from a Hugging Face tokenizer.json (the Qwen2 family): added and
// special tokens matched atomically first, NFC normalisation, the Qwen2 pre-tokenizer split, the
// GPT-2 byte-to-unicode mapping and merges by rank. Decoding replaces invalid UTF-8 as the reference
// does; IncrementalDecoder streams text without ever emitting half a character.
#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace vlm {

class Tokenizer {
 public:
  static Tokenizer from_file(const std::filesystem::path& tokenizer_json);
  static Tokenizer from_json(std::string_view json_text, const std::string& source = "tokenizer.json");
  Tokenizer(Tokenizer&&) noexcept;
  Tokenizer& operator=(Tokenizer&&) noexcept;
  ~Tokenizer();

  // Special/added tokens written in the text (e.g. "<|im_start|>") become their ids.
  std::vector<int32_t> encode(std::string_view utf8_text) const;
  // Bytes of the ids joined; invalid UTF-8 sequences become U+FFFD like the reference.
  std::string decode(std::span<const int32_t> ids, bool skip_special_tokens = false) const;
  // Raw bytes of one token (no UTF-8 repair); empty for unknown ids.
  std::string token_bytes(int32_t id) const;

  std::optional<int32_t> token_to_id(std::string_view token) const;
  bool is_special(int32_t id) const;
  // Number of ids (regular vocabulary plus added tokens).
  size_t vocab_size() const;

 private:
  struct Impl;
  explicit Tokenizer(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
  friend class IncrementalDecoder;
};

// Feeds ids one at a time and returns only text that is complete UTF-8.
class IncrementalDecoder {
 public:
  explicit IncrementalDecoder(const Tokenizer& tokenizer, bool skip_special_tokens = true);
  std::string push(int32_t id);
  // Whatever is still pending (incomplete bytes become U+FFFD).
  std::string flush();

 private:
  const Tokenizer& tokenizer_;
  bool skip_special_tokens_;
  std::string pending_;
};

}  // namespace vlm
