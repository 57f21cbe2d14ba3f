// tokenizer.json files that break a rule must raise vlm::Error with the right code (never crash,
// never tokenize differently from the reference): malformed JSON, other model types, merges that
// name unknown tokens, unsupported pre-tokenizers; and invalid UTF-8 input is repaired, not fatal.
#include <gtest/gtest.h>

#include "vlm/error.h"
#include "tokenizer_fixtures.h"

namespace {

// Smallest valid byte-level BPE file: the ASCII letters a/b, one merge, one special token.
nlohmann::json minimal_tokenizer() {
  return nlohmann::json::parse(R"({
    "added_tokens": [{"id": 3, "content": "<s>", "special": true, "normalized": false}],
    "normalizer": null,
    "pre_tokenizer": {"type": "ByteLevel", "add_prefix_space": false, "use_regex": true},
    "post_processor": null,
    "decoder": {"type": "ByteLevel"},
    "model": {"type": "BPE", "vocab": {"a": 0, "b": 1, "ab": 2}, "merges": ["a b"]}
  })");
}

vlm::ErrorCode load_error(const nlohmann::json& file) {
  try {
    vlm::Tokenizer::from_json(file.dump(), "test.json");
  } catch (const vlm::Error& error) {
    return error.code();
  }
  return vlm::ErrorCode::Internal;  // "no error" sentinel
}

TEST(TokenizerErrors, MinimalFileEncodesByHand) {
  const auto tokenizer = vlm::Tokenizer::from_json(minimal_tokenizer().dump());
  // "ab" merges; "ba" has no merge; bytes without a token ('c') are dropped like HF without unk.
  EXPECT_EQ(tokenizer.encode("ab<s>bac"), (std::vector<int32_t>{2, 3, 1, 0}));
  EXPECT_EQ(tokenizer.decode(std::vector<int32_t>{2, 3, 1}, true), "abb");
}

TEST(TokenizerErrors, MalformedJsonIsInvalidModel) {
  EXPECT_THROW(vlm::Tokenizer::from_json("{not json", "x"), vlm::Error);
  try {
    vlm::Tokenizer::from_json("[1, 2]", "x");
    FAIL() << "no error";
  } catch (const vlm::Error& error) {
    EXPECT_EQ(error.code(), vlm::ErrorCode::InvalidModel);
  }
}

TEST(TokenizerErrors, RuleBreakingFilesAreRejected) {
  auto file = minimal_tokenizer();
  file["model"]["type"] = "WordPiece";
  EXPECT_EQ(load_error(file), vlm::ErrorCode::Unsupported);

  file = minimal_tokenizer();
  file["model"]["merges"] = {"a c"};
  EXPECT_EQ(load_error(file), vlm::ErrorCode::InvalidModel);

  file = minimal_tokenizer();
  file["model"]["merges"] = {"abc"};
  EXPECT_EQ(load_error(file), vlm::ErrorCode::InvalidModel);

  file = minimal_tokenizer();
  file["pre_tokenizer"] = {{"type", "Whitespace"}};
  EXPECT_EQ(load_error(file), vlm::ErrorCode::Unsupported);

  file = minimal_tokenizer();
  file["normalizer"] = {{"type", "Lowercase"}};
  EXPECT_EQ(load_error(file), vlm::ErrorCode::Unsupported);

  file = minimal_tokenizer();
  file["post_processor"] = {{"type", "TemplateProcessing"}};
  EXPECT_EQ(load_error(file), vlm::ErrorCode::Unsupported);

  file = minimal_tokenizer();
  file["model"]["vocab"]["a"] = -5;
  EXPECT_EQ(load_error(file), vlm::ErrorCode::InvalidModel);

  // Far beyond the token count: rejected before any table is sized by it.
  file = minimal_tokenizer();
  file["model"]["vocab"]["ab"] = 1000000000;
  EXPECT_EQ(load_error(file), vlm::ErrorCode::InvalidModel);

  file = minimal_tokenizer();
  file["added_tokens"][0]["id"] = 2000000000;
  EXPECT_EQ(load_error(file), vlm::ErrorCode::InvalidModel);

  file = minimal_tokenizer();
  file["model"]["vocab"] = "oops";
  EXPECT_EQ(load_error(file), vlm::ErrorCode::InvalidModel);

  file = minimal_tokenizer();
  file["model"]["vocab"]["b"] = "1";
  EXPECT_EQ(load_error(file), vlm::ErrorCode::InvalidModel);

  file = minimal_tokenizer();
  file["model"]["merges"] = nlohmann::json::array({nlohmann::json::array({"a", "b", "c"})});
  EXPECT_EQ(load_error(file), vlm::ErrorCode::InvalidModel);

  file = minimal_tokenizer();
  file["model"]["merges"] = nlohmann::json::array({nlohmann::json::object({{"a", "b"}})});
  EXPECT_EQ(load_error(file), vlm::ErrorCode::InvalidModel);

  file = minimal_tokenizer();
  file["model"].erase("merges");
  EXPECT_EQ(load_error(file), vlm::ErrorCode::InvalidModel);
}

TEST(TokenizerErrors, PairMergesAndLegacyMergesLoadTheSame) {
  auto file = minimal_tokenizer();
  file["model"]["merges"] = nlohmann::json::array({nlohmann::json::array({"a", "b"})});
  const auto tokenizer = vlm::Tokenizer::from_json(file.dump());
  EXPECT_EQ(tokenizer.encode("ab"), (std::vector<int32_t>{2}));
}

TEST(TokenizerErrors, MissingFileIsNotFound) {
  try {
    vlm::Tokenizer::from_file("/nonexistent/tokenizer.json");
    FAIL() << "no error";
  } catch (const vlm::Error& error) {
    EXPECT_EQ(error.code(), vlm::ErrorCode::NotFound);
  }
}

TEST(TokenizerErrors, InvalidUtf8InputIsReplacedNotFatal) {
  const auto& tokenizer = vlm_test::qwen_tokenizer();
  // The reference for raw bytes is the ids of the text after Python's 'replace' decoding.
  EXPECT_EQ(tokenizer.encode("a\xFF" "b"), tokenizer.encode("a\xEF\xBF\xBD" "b"));
  EXPECT_EQ(tokenizer.encode("\xE4\xB8"), tokenizer.encode("\xEF\xBF\xBD"));
}

}  // namespace
