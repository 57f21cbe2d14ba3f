// Public Tokenizer / IncrementalDecoder API over Tokenizer::Impl: the encode pipeline in HF
// tokenizers' order (UTF-8 repair, raw added tokens, NFC, normalized added tokens, pre-tokenizer,
// BPE) and byte-level decoding with lossy UTF-8 repair.
#include "vlm/tokenizer.h"

#include <fstream>
#include <sstream>
#include <string>
#include <utility>

#include "tokenizer/tokenizer_impl.h"
#include "tokenizer/utf8.h"
#include "vlm/error.h"

namespace vlm {

using tokenizer_detail::TextSegment;

void tokenizer_detail::TokenizerModel::pre_tokenize(std::string_view text, std::vector<std::string_view>& pieces,
                                   std::deque<std::string>& arena) const {
  if (pre_tokenizer.size() == 1 && pre_tokenizer[0].regex) {
    pre_tokenizer[0].regex->split_isolated(text, pieces);
    return;
  }
  std::vector<std::string_view> current{text};
  std::vector<std::string_view> next;
  for (const PreTokenizerStep& step : pre_tokenizer) {
    if (step.regex) {
      next.clear();
      for (std::string_view piece : current) step.regex->split_isolated(piece, next);
      current.swap(next);
    } else {
      for (std::string_view& piece : current) {
        if (!piece.empty() && piece.front() == ' ') continue;
        std::string spaced(1, ' ');  // not " " + std::string: GCC 12 -O3 -Wrestrict false positive
        spaced += piece;
        arena.push_back(std::move(spaced));
        piece = arena.back();
      }
    }
  }
  for (std::string_view piece : current) {
    if (!piece.empty()) pieces.push_back(piece);
  }
}

void tokenizer_detail::TokenizerModel::encode_normalized(std::string_view text, std::vector<int32_t>& out) const {
  std::vector<std::string_view> pieces;
  std::deque<std::string> arena;
  pre_tokenize(text, pieces, arena);
  for (std::string_view piece : pieces) bpe.encode_piece(piece, out);
}

void tokenizer_detail::TokenizerModel::encode_text(std::string_view text, std::vector<int32_t>& out) const {
  std::string storage;
  const std::string_view normalized = normalizer.apply(text, storage);
  if (normalized_added.empty()) {
    encode_normalized(normalized, out);
    return;
  }
  std::vector<TextSegment> segments;
  normalized_added.split(normalized, segments);
  for (const TextSegment& segment : segments) {
    if (segment.id >= 0) {
      out.push_back(segment.id);
    } else {
      encode_normalized(segment.text, out);
    }
  }
}

Tokenizer::Tokenizer(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Tokenizer::Tokenizer(Tokenizer&&) noexcept = default;
Tokenizer& Tokenizer::operator=(Tokenizer&&) noexcept = default;
Tokenizer::~Tokenizer() = default;

Tokenizer Tokenizer::from_file(const std::filesystem::path& tokenizer_json) {
  std::ifstream file(tokenizer_json, std::ios::binary);
  VLM_CHECK(file.good(), NotFound, "tokenizer file " << tokenizer_json << " cannot be opened");
  std::ostringstream text;
  text << file.rdbuf();
  VLM_CHECK(!file.bad(), Io, "tokenizer file " << tokenizer_json << ": read failed");
  return from_json(text.str(), tokenizer_json.string());
}

Tokenizer Tokenizer::from_json(std::string_view json_text, const std::string& source) {
  auto impl = std::make_unique<Impl>();
  tokenizer_detail::load_tokenizer_model(json_text, source, *impl);
  return Tokenizer(std::move(impl));
}

std::vector<int32_t> Tokenizer::encode(std::string_view utf8_text) const {
  std::string repaired;
  if (!tokenizer_detail::utf8_is_valid(utf8_text)) {
    repaired = tokenizer_detail::utf8_lossy(utf8_text);
    utf8_text = repaired;
  }
  std::vector<int32_t> ids;
  ids.reserve(utf8_text.size() / 3 + 8);
  if (impl_->raw_added.empty()) {
    impl_->encode_text(utf8_text, ids);
    return ids;
  }
  std::vector<TextSegment> segments;
  impl_->raw_added.split(utf8_text, segments);
  for (const TextSegment& segment : segments) {
    if (segment.id >= 0) {
      ids.push_back(segment.id);
    } else {
      impl_->encode_text(segment.text, ids);
    }
  }
  return ids;
}

std::string Tokenizer::decode(std::span<const int32_t> ids, bool skip_special_tokens) const {
  std::string bytes;
  for (int32_t id : ids) {
    if (id < 0 || static_cast<size_t>(id) >= impl_->id_flags.size()) continue;
    const uint8_t flags = impl_->id_flags[id];
    if ((flags & 1) == 0 || (skip_special_tokens && (flags & 2) != 0)) continue;
    bytes += impl_->id_bytes[id];
  }
  return tokenizer_detail::utf8_lossy(bytes);
}

std::string Tokenizer::token_bytes(int32_t id) const {
  if (id < 0 || static_cast<size_t>(id) >= impl_->id_bytes.size()) return {};
  return impl_->id_bytes[id];
}

std::optional<int32_t> Tokenizer::token_to_id(std::string_view token) const {
  const auto found = impl_->token_ids.find(std::string(token));
  if (found == impl_->token_ids.end()) return std::nullopt;
  return found->second;
}

bool Tokenizer::is_special(int32_t id) const {
  return id >= 0 && static_cast<size_t>(id) < impl_->id_flags.size() && (impl_->id_flags[id] & 2) != 0;
}

size_t Tokenizer::vocab_size() const { return impl_->id_flags.size(); }

IncrementalDecoder::IncrementalDecoder(const Tokenizer& tokenizer, bool skip_special_tokens)
    : tokenizer_(tokenizer), skip_special_tokens_(skip_special_tokens) {}

std::string IncrementalDecoder::push(int32_t id) {
  const auto& impl = *tokenizer_.impl_;
  if (id < 0 || static_cast<size_t>(id) >= impl.id_flags.size()) return {};
  const uint8_t flags = impl.id_flags[id];
  if ((flags & 1) == 0 || (skip_special_tokens_ && (flags & 2) != 0)) return {};
  pending_ += impl.id_bytes[id];
  const size_t keep = tokenizer_detail::utf8_incomplete_tail(pending_);
  const std::string_view ready = std::string_view(pending_).substr(0, pending_.size() - keep);
  std::string text = tokenizer_detail::utf8_lossy(ready);
  pending_.erase(0, pending_.size() - keep);
  return text;
}

std::string IncrementalDecoder::flush() {
  std::string text = tokenizer_detail::utf8_lossy(pending_);
  pending_.clear();
  return text;
}

}  // namespace vlm
