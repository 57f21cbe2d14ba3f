// The tokenizer.json normalizer: none or NFC (what the Qwen2 family uses), done with ICU. Text that
// is ASCII or already NFC (ICU's quick check) is passed through without a copy.
#pragma once

#include <string>
#include <string_view>

#include <nlohmann/json_fwd.hpp>

namespace vlm::tokenizer_detail {

class Normalizer {
 public:
  enum class Kind { None, Nfc };
  // From the "normalizer" member (null, {"type": "NFC"}, or a Sequence of those); throws
  // Unsupported for other normalizers.
  static Normalizer from_json(const nlohmann::json& node, const std::string& source);
  explicit Normalizer(Kind kind = Kind::None) : kind_(kind) {}

  // Returns the normalized text: a view of `text` when nothing changes, else a view of `storage`.
  // `text` must be valid UTF-8.
  std::string_view apply(std::string_view text, std::string& storage) const;
  Kind kind() const { return kind_; }

 private:
  Kind kind_;
};

}  // namespace vlm::tokenizer_detail
