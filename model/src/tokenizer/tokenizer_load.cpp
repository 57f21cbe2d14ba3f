// tokenizer.json -> Tokenizer::Impl. Accepts the structure of the Qwen2 family (BPE model,
// optional NFC normalizer, Split(Regex, Isolated) and/or ByteLevel pre-tokenizers, ByteLevel
// decoder, no post-processor ids) for any vocabulary; rejects anything else with Unsupported rather
// than tokenizing differently from the reference.
#include <algorithm>

#include <nlohmann/json.hpp>

#include "tokenizer/byte_level.h"
#include "tokenizer/utf8.h"
#include "tokenizer/tokenizer_impl.h"
#include "tokenizer/tokenizer_json_reader.h"
#include "vlm/error.h"

namespace vlm::tokenizer_detail {

namespace {

using nlohmann::json;
using tokenizer_detail::AddedToken;
using tokenizer_detail::SplitRegex;

// GPT-2's pattern, used by ByteLevel(use_regex = true).
constexpr const char* kGpt2Pattern =
    R"('s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+)";

std::string type_of(const json& node) {
  if (!node.is_object() || !node.contains("type") || !node["type"].is_string()) return {};
  return node["type"].get<std::string>();
}

bool flag(const json& node, const char* key, bool fallback) {
  if (!node.contains(key) || node[key].is_null()) return fallback;
  return node[key].get<bool>();
}

void add_pre_tokenizer(const json& node, const std::string& source, TokenizerModel& impl, bool* byte_level) {
  const std::string type = type_of(node);
  if (type == "Sequence") {
    VLM_CHECK(node.contains("pretokenizers") && node["pretokenizers"].is_array(), InvalidModel,
              source << ": Sequence pre_tokenizer without a \"pretokenizers\" array");
    for (const json& child : node["pretokenizers"]) add_pre_tokenizer(child, source, impl, byte_level);
    return;
  }
  if (type == "Split") {
    const json& pattern = node.at("pattern");
    VLM_CHECK(pattern.contains("Regex") && pattern["Regex"].is_string(), Unsupported,
              source << ": Split pre_tokenizer: only {\"Regex\": ...} patterns are supported");
    VLM_CHECK(node.value("behavior", std::string()) == "Isolated", Unsupported,
              source << ": Split pre_tokenizer: only behavior \"Isolated\" is supported");
    VLM_CHECK(!flag(node, "invert", false), Unsupported, source << ": Split pre_tokenizer: invert is not supported");
    VLM_CHECK(!*byte_level, Unsupported, source << ": a Split after ByteLevel is not supported");
    impl.pre_tokenizer.push_back({std::make_unique<SplitRegex>(pattern["Regex"].get<std::string>(), source)});
    return;
  }
  if (type == "ByteLevel") {
    VLM_CHECK(!*byte_level, Unsupported, source << ": ByteLevel pre_tokenizer given twice");
    *byte_level = true;
    if (flag(node, "add_prefix_space", true)) impl.pre_tokenizer.push_back({nullptr});
    if (flag(node, "use_regex", true)) {
      impl.pre_tokenizer.push_back({std::make_unique<SplitRegex>(kGpt2Pattern, source)});
    }
    return;
  }
  VLM_THROW(Unsupported, source << ": pre_tokenizer type \"" << type << "\" is not supported");
}

// Ids index dense tables (id -> bytes, flags), so a file may not name ids far beyond its token count:
// HF files are dense (vocab 0..n-1, added tokens right after); this bound only stops a hostile file
// from making the loader allocate gigabytes.
int64_t id_limit(const TokenizerJson& data) {
  const json& added = data.rest.contains("added_tokens") ? data.rest["added_tokens"] : json();
  return static_cast<int64_t>(data.vocab.size() + (added.is_array() ? added.size() : 0) + 1024);
}

void load_model(const json& model, TokenizerJson& data, const std::string& source, TokenizerModel& impl) {
  VLM_CHECK(type_of(model) == "BPE" || (model.is_object() && !model.contains("type") && data.has_merges),
            Unsupported, source << ": model type \"" << type_of(model) << "\" is not supported (BPE only)");
  VLM_CHECK(model.value("continuing_subword_prefix", json()).is_null() ||
                model["continuing_subword_prefix"].get<std::string>().empty(),
            Unsupported, source << ": model.continuing_subword_prefix is not supported");
  VLM_CHECK(model.value("end_of_word_suffix", json()).is_null() || model["end_of_word_suffix"].get<std::string>().empty(),
            Unsupported, source << ": model.end_of_word_suffix is not supported");
  VLM_CHECK(model.value("dropout", json()).is_null(), Unsupported, source << ": model.dropout is not supported");
  VLM_CHECK(model.value("unk_token", json()).is_null(), Unsupported,
            source << ": model.unk_token is not supported (byte-level models need none)");
  VLM_CHECK(!flag(model, "byte_fallback", false), Unsupported, source << ": model.byte_fallback is not supported");
  VLM_CHECK(data.has_vocab, InvalidModel, source << ": model.vocab must be an object");
  VLM_CHECK(data.has_merges, InvalidModel, source << ": model.merges must be an array");

  int32_t max_id = -1;
  const int64_t limit = id_limit(data);
  impl.token_ids.reserve(data.vocab.size() + 64);
  for (auto& [token, id] : data.vocab) {
    VLM_CHECK(id >= 0 && id < limit, InvalidModel,
              source << ": model.vocab[\"" << token << "\"] = " << id << " is out of range (ids must be below "
                     << limit << ", the token count + 1024)");
    max_id = std::max(max_id, static_cast<int32_t>(id));
    impl.token_ids[std::move(token)] = static_cast<int32_t>(id);
  }

  std::vector<int32_t> byte_ids(256, -1);
  for (int byte = 0; byte < 256; ++byte) {
    std::string stand_in;
    tokenizer_detail::utf8_append(tokenizer_detail::byte_to_char(static_cast<uint8_t>(byte)), stand_in);
    if (const auto found = impl.token_ids.find(stand_in); found != impl.token_ids.end()) byte_ids[byte] = found->second;
  }

  std::vector<tokenizer_detail::BpeModel::Merge> merges;
  merges.reserve(data.merges.size());
  size_t rank = 0;
  auto lookup = [&](const std::string& token, size_t at) {
    const auto found = impl.token_ids.find(token);
    VLM_CHECK(found != impl.token_ids.end(), InvalidModel,
              source << ": merges[" << at << "] uses \"" << token << "\", which is not in model.vocab");
    return found->second;
  };
  std::string joined;
  for (const auto& [left, right] : data.merges) {
    joined.assign(left).append(right);
    merges.push_back({lookup(left, rank), lookup(right, rank), lookup(joined, rank)});
    ++rank;
  }
  const bool ignore_merges = flag(model, "ignore_merges", false);
  std::unordered_map<std::string, int32_t> whole;
  if (ignore_merges) whole = impl.token_ids;
  impl.bpe = tokenizer_detail::BpeModel(byte_ids, merges, ignore_merges, std::move(whole));
  impl.id_bytes.assign(static_cast<size_t>(max_id + 1), std::string());
  impl.id_flags.assign(static_cast<size_t>(max_id + 1), 0);
}

void load_added_tokens(const json& list, int64_t limit, const std::string& source, TokenizerModel& impl) {
  if (list.is_null()) return;
  VLM_CHECK(list.is_array(), InvalidModel, source << ": added_tokens must be an array");
  for (const json& node : list) {
    VLM_CHECK(node.is_object() && node.contains("id") && node["id"].is_number_integer() && node.contains("content") &&
                  node["content"].is_string(),
              InvalidModel, source << ": every added_tokens entry needs an integer id and a string content");
    AddedToken token;
    const auto id = node["id"].get<int64_t>();
    VLM_CHECK(id >= 0 && id < limit, InvalidModel,
              source << ": added token id " << id << " is out of range (ids must be below " << limit << ")");
    token.id = static_cast<int32_t>(id);
    token.content = node["content"].get<std::string>();
    VLM_CHECK(tokenizer_detail::utf8_is_valid(token.content), InvalidModel, source << ": added token " << id << " is not UTF-8");
    token.special = flag(node, "special", false);
    token.normalized = flag(node, "normalized", !token.special);
    token.single_word = flag(node, "single_word", false);
    token.lstrip = flag(node, "lstrip", false);
    token.rstrip = flag(node, "rstrip", false);
    impl.added_tokens.push_back(std::move(token));
  }
}

}  // namespace

void load_tokenizer_model(std::string_view json_text, const std::string& source, TokenizerModel& model) {
  TokenizerJson data = read_tokenizer_json(json_text, source);
  const json& root = data.rest;
  VLM_CHECK(root.is_object(), InvalidModel, source << ": top level must be an object");
  TokenizerModel* impl = &model;
  try {
    VLM_CHECK(root.contains("model"), InvalidModel, source << ": no \"model\"");
    load_model(root["model"], data, source, *impl);
    impl->normalizer = tokenizer_detail::Normalizer::from_json(root.value("normalizer", json()), source);
    bool byte_level = false;
    if (!root.value("pre_tokenizer", json()).is_null()) add_pre_tokenizer(root["pre_tokenizer"], source, *impl, &byte_level);
    VLM_CHECK(byte_level, Unsupported, source << ": only byte-level BPE (a ByteLevel pre_tokenizer) is supported");
    const std::string decoder = type_of(root.value("decoder", json()));
    VLM_CHECK(decoder == "ByteLevel", Unsupported, source << ": decoder must be ByteLevel, not \"" << decoder << "\"");
    const json post = root.value("post_processor", json());
    VLM_CHECK(post.is_null() || type_of(post) == "ByteLevel", Unsupported,
              source << ": post_processor \"" << type_of(post) << "\" is not supported (it could add ids)");
    load_added_tokens(root.value("added_tokens", json()), id_limit(data), source, *impl);
  } catch (const json::exception& error) {
    VLM_THROW(InvalidModel, source << ": unexpected structure (" << error.what() << ")");
  }

  // Decoding table: every vocab string and added token through the ByteLevel decoder.
  int32_t max_id = static_cast<int32_t>(impl->id_bytes.size()) - 1;
  for (const AddedToken& token : impl->added_tokens) max_id = std::max(max_id, token.id);
  impl->id_bytes.resize(static_cast<size_t>(max_id + 1));
  impl->id_flags.resize(static_cast<size_t>(max_id + 1), 0);
  for (const auto& [token, id] : impl->token_ids) {
    impl->id_bytes[id] = tokenizer_detail::token_string_to_bytes(token);
    impl->id_flags[id] = 1;
  }
  for (const AddedToken& token : impl->added_tokens) {
    impl->id_bytes[token.id] = tokenizer_detail::token_string_to_bytes(token.content);
    impl->id_flags[token.id] = static_cast<uint8_t>(1 | (token.special ? 2 : 0));
    impl->token_ids[token.content] = token.id;
  }
  std::vector<const AddedToken*> raw;
  std::vector<const AddedToken*> normalized;
  for (AddedToken& token : impl->added_tokens) {
    std::string storage;
    token.pattern = token.normalized ? std::string(impl->normalizer.apply(token.content, storage)) : token.content;
    (token.normalized ? normalized : raw).push_back(&token);
  }
  impl->raw_added = tokenizer_detail::AddedTokenMatcher(std::move(raw));
  impl->normalized_added = tokenizer_detail::AddedTokenMatcher(std::move(normalized));
}

}  // namespace vlm::tokenizer_detail
