// NFC through ICU's Normalizer2 on UTF-8 directly (no UTF-16 round trip); see normalizer.h.
#include "tokenizer/normalizer.h"

#include <unicode/bytestream.h>
#include <unicode/normalizer2.h>
#include <unicode/stringpiece.h>

#include <nlohmann/json.hpp>

#include "vlm/error.h"

namespace vlm::tokenizer_detail {

namespace {

const icu::Normalizer2& nfc() {
  UErrorCode status = U_ZERO_ERROR;
  const icu::Normalizer2* instance = icu::Normalizer2::getNFCInstance(status);
  VLM_CHECK(U_SUCCESS(status) && instance != nullptr, Internal,
            "ICU NFC normalizer unavailable: " << u_errorName(status));
  return *instance;
}

bool is_ascii(std::string_view text) {
  for (char byte : text) {
    if (static_cast<unsigned char>(byte) >= 0x80) return false;
  }
  return true;
}

}  // namespace

Normalizer Normalizer::from_json(const nlohmann::json& node, const std::string& source) {
  if (node.is_null()) return Normalizer(Kind::None);
  VLM_CHECK(node.is_object() && node.contains("type") && node["type"].is_string(), InvalidModel,
            source << ": \"normalizer\" must be null or an object with a \"type\"");
  const std::string type = node["type"].get<std::string>();
  if (type == "NFC") return Normalizer(Kind::Nfc);
  if (type == "Sequence") {
    VLM_CHECK(node.contains("normalizers") && node["normalizers"].is_array(), InvalidModel,
              source << ": Sequence normalizer without a \"normalizers\" array");
    Kind kind = Kind::None;
    for (const auto& child : node["normalizers"]) {
      if (from_json(child, source).kind() == Kind::Nfc) kind = Kind::Nfc;
    }
    return Normalizer(kind);
  }
  VLM_THROW(Unsupported, source << ": normalizer type \"" << type
                                << "\" is not supported (only NFC or none)");
}

std::string_view Normalizer::apply(std::string_view text, std::string& storage) const {
  if (kind_ == Kind::None || is_ascii(text)) return text;
  const icu::Normalizer2& normalizer = nfc();
  UErrorCode status = U_ZERO_ERROR;
  const icu::StringPiece piece(text.data(), static_cast<int32_t>(text.size()));
  if (normalizer.isNormalizedUTF8(piece, status) && U_SUCCESS(status)) return text;
  status = U_ZERO_ERROR;
  storage.clear();
  icu::StringByteSink<std::string> sink(&storage, static_cast<int32_t>(text.size()));
  normalizer.normalizeUTF8(0, piece, sink, nullptr, status);
  VLM_CHECK(U_SUCCESS(status), Internal, "ICU NFC normalisation failed: " << u_errorName(status));
  return storage;
}

}  // namespace vlm::tokenizer_detail
