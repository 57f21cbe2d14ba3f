// libFuzzer target for the tokenizer: encodes arbitrary bytes (valid or not), decodes arbitrary id
// lists, and checks the invariants that need no reference: ids in range, a stable result on the
// second (cached) encode, decode(encode(x)) == x for NFC text, decode output always valid UTF-8,
// and the incremental decoder's stream equal to the one-shot decode.
// Tokenizer: the tokenizer.json named by VLM_FUZZ_TOKENIZER (e.g. the Qwen one the unit tests
// decompress into the build dir), else a small built-in byte-level BPE with the Qwen2 pre-tokenizer.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "tokenizer/byte_level.h"
#include "tokenizer/normalizer.h"
#include "tokenizer/utf8.h"
#include "vlm/error.h"
#include "vlm/tokenizer.h"

namespace {

using namespace vlm::tokenizer_detail;

std::string builtin_tokenizer_json() {
  nlohmann::json vocab = nlohmann::json::object();
  int32_t next_id = 0;
  for (int byte = 0; byte < 256; ++byte) {
    std::string stand_in;
    utf8_append(byte_to_char(static_cast<uint8_t>(byte)), stand_in);
    vocab[stand_in] = next_id++;
  }
  // A few merges in the GPT-2 spelling (Ġ = space), some chained, some yielding the same token.
  const char* pairs[][2] = {{"\xC4\xA0", "t"}, {"h", "e"}, {"\xC4\xA0t", "he"}, {"i", "n"}, {"in", "g"},
                            {"a", "b"},        {"ab", "c"}, {"b", "c"},            {"a", "bc"}, {"\xC4\xA0", "\xC4\xA0"},
                            {"e", "r"},        {"\xC4\xA0", "a"}};
  nlohmann::json merges = nlohmann::json::array();
  for (const auto& pair : pairs) {
    const std::string merged = std::string(pair[0]) + pair[1];
    if (!vocab.contains(merged)) vocab[merged] = next_id++;
    merges.push_back(std::string(pair[0]) + " " + pair[1]);
  }
  nlohmann::json added = nlohmann::json::array();
  for (const char* token : {"<|endoftext|>", "<|im_start|>", "<|im_end|>", "<tool_call>"}) {
    added.push_back({{"id", next_id++}, {"content", token}, {"special", token[1] == '|'}, {"normalized", false}});
  }
  const std::string pattern =
      R"((?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+)";
  nlohmann::json file = {
      {"added_tokens", added},
      {"normalizer", {{"type", "NFC"}}},
      {"pre_tokenizer",
       {{"type", "Sequence"},
        {"pretokenizers",
         {{{"type", "Split"}, {"pattern", {{"Regex", pattern}}}, {"behavior", "Isolated"}, {"invert", false}},
          {{"type", "ByteLevel"}, {"add_prefix_space", false}, {"use_regex", false}}}}}},
      {"decoder", {{"type", "ByteLevel"}}},
      {"model", {{"type", "BPE"}, {"vocab", vocab}, {"merges", merges}}},
  };
  return file.dump();
}

const vlm::Tokenizer& tokenizer() {
  static const std::unique_ptr<vlm::Tokenizer> instance = [] {
    const char* path = std::getenv("VLM_FUZZ_TOKENIZER");
    if (path != nullptr && *path != '\0') return std::make_unique<vlm::Tokenizer>(vlm::Tokenizer::from_file(path));
    return std::make_unique<vlm::Tokenizer>(vlm::Tokenizer::from_json(builtin_tokenizer_json(), "builtin"));
  }();
  return *instance;
}

void check(bool condition, const char* what) {
  if (!condition) {
    std::fprintf(stderr, "fuzz_tokenizer: invariant broken: %s\n", what);
    std::abort();
  }
}

void check_stream(const std::vector<int32_t>& ids, bool skip_special) {
  const std::string whole = tokenizer().decode(ids, skip_special);
  check(utf8_is_valid(whole), "decode output is valid UTF-8");
  vlm::IncrementalDecoder decoder(tokenizer(), skip_special);
  std::string streamed;
  for (int32_t id : ids) {
    const std::string piece = decoder.push(id);
    check(utf8_is_valid(piece), "incremental pieces are valid UTF-8");
    streamed += piece;
  }
  streamed += decoder.flush();
  check(streamed == whole, "incremental stream equals one-shot decode");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  const auto& tok = tokenizer();
  const std::vector<int32_t> ids = tok.encode(input);
  for (int32_t id : ids) check(id >= 0 && static_cast<size_t>(id) < tok.vocab_size(), "ids within vocab");
  check(tok.encode(input) == ids, "second (cached) encode gives the same ids");
  check_stream(ids, false);
  check_stream(ids, true);

  if (utf8_is_valid(input)) {
    std::string storage;
    const std::string nfc(Normalizer(Normalizer::Kind::Nfc).apply(input, storage));
    check(tok.decode(tok.encode(nfc)) == nfc, "decode(encode(x)) == x for NFC text");
  }

  // The same bytes as a list of (possibly invalid) ids.
  std::vector<int32_t> raw_ids(size / 4);
  if (!raw_ids.empty()) std::memcpy(raw_ids.data(), data, raw_ids.size() * 4);
  for (int32_t& id : raw_ids) {
    if (id >= 0) id %= static_cast<int32_t>(tok.vocab_size() + 8);  // mostly valid, a few holes
  }
  check_stream(raw_ids, false);
  check_stream(raw_ids, true);
  return 0;
}
