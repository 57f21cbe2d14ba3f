// UTF-8 repair and the incremental decoder. Expectations: hand-worked byte sequences (Unicode
// §3.9 maximal subparts, the rule of Python's 'replace' and Rust's from_utf8_lossy), and the
// reference decode of the fixtures: streaming every id sequence through IncrementalDecoder must
// give exactly HF's decode of the whole sequence, and no push may return half a character.
#include <gtest/gtest.h>

#include "tokenizer/utf8.h"
#include "tokenizer_fixtures.h"

namespace {

using vlm::tokenizer_detail::utf8_incomplete_tail;
using vlm::tokenizer_detail::utf8_is_valid;
using vlm::tokenizer_detail::utf8_lossy;

const std::string kReplacement = "\xEF\xBF\xBD";

TEST(Utf8Repair, MaximalSubpartsBecomeOneReplacementEach) {
  // Unicode 15 §3.9, Table 3-8 example: 61 F1 80 80 E1 80 C2 62 80 63 80 BF 64.
  EXPECT_EQ(utf8_lossy("\x61\xF1\x80\x80\xE1\x80\xC2\x62\x80\x63\x80\xBF\x64"),
            "a" + kReplacement + kReplacement + kReplacement + "b" + kReplacement + "c" + kReplacement +
                kReplacement + "d");
  EXPECT_EQ(utf8_lossy("\xED\xA0\x80"), kReplacement + kReplacement + kReplacement);  // surrogate
  EXPECT_EQ(utf8_lossy("\xC0\xAF"), kReplacement + kReplacement);                     // overlong
  EXPECT_EQ(utf8_lossy("\xE4\xB8"), kReplacement);                                    // truncated
  EXPECT_EQ(utf8_lossy("\xF4\x90\x80\x80"), kReplacement + kReplacement + kReplacement + kReplacement);
  EXPECT_EQ(utf8_lossy("ok \xE4\xB8\xAD"), "ok \xE4\xB8\xAD");
  EXPECT_TRUE(utf8_is_valid("\xF0\x9F\x98\x80"));
  EXPECT_FALSE(utf8_is_valid("\xF0\x9F\x98"));
}

TEST(Utf8Repair, IncompleteTailCountsOnlyValidPrefixes) {
  EXPECT_EQ(utf8_incomplete_tail("a\xE4\xB8"), 2u);
  EXPECT_EQ(utf8_incomplete_tail("a\xF0\x9F\x98"), 3u);
  EXPECT_EQ(utf8_incomplete_tail("a\xE4\xB8\xAD"), 0u);  // complete
  EXPECT_EQ(utf8_incomplete_tail("a\xE0\x80"), 0u);      // E0 80 can never become valid
  EXPECT_EQ(utf8_incomplete_tail("a\x80"), 0u);
  EXPECT_EQ(utf8_incomplete_tail("\xF5"), 0u);
  EXPECT_EQ(utf8_incomplete_tail(""), 0u);
}

void expect_stream_equals_decode(const vlm::Tokenizer& tokenizer, const std::vector<int32_t>& ids,
                                 const std::string& expected, bool skip_special, const std::string& label) {
  vlm::IncrementalDecoder decoder(tokenizer, skip_special);
  std::string streamed;
  for (int32_t id : ids) {
    const std::string piece = decoder.push(id);
    EXPECT_TRUE(utf8_is_valid(piece)) << label;
    streamed += piece;
  }
  streamed += decoder.flush();
  EXPECT_EQ(streamed, expected) << label;
}

TEST(IncrementalDecoder, StreamEqualsReferenceDecodeOfCutSequences) {
  const auto cases = vlm_test::load_fixture("decode.json");
  for (const auto& entry : cases["cases"]) {
    const auto ids = vlm_test::ids_of(entry["ids"]);
    expect_stream_equals_decode(vlm_test::qwen_tokenizer(), ids, entry["decode"].get<std::string>(), false,
                                entry["ids"].dump());
    expect_stream_equals_decode(vlm_test::qwen_tokenizer(), ids, entry["decode_skip_special"].get<std::string>(),
                                true, entry["ids"].dump());
  }
}

TEST(IncrementalDecoder, StreamEqualsReferenceDecodeOfCorpus) {
  const auto corpus = vlm_test::load_fixture("corpus.json");
  for (const auto& entry : corpus["cases"]) {
    expect_stream_equals_decode(vlm_test::qwen_tokenizer(), vlm_test::ids_of(entry["ids"]),
                                entry["decode_skip_special"].get<std::string>(), true,
                                entry["name"].get<std::string>());
  }
}

TEST(IncrementalDecoder, HoldsBackHalfCharactersUntilComplete) {
  const auto& tokenizer = vlm_test::qwen_tokenizer();
  // "中" is E4 B8 AD; feed the byte tokens one by one (stand-ins ä, ¸, Ń).
  const auto first = tokenizer.token_to_id("\xC3\xA4");   // ä
  const auto second = tokenizer.token_to_id("\xC2\xB8");  // ¸
  const auto third = tokenizer.token_to_id("\xC5\x83");   // Ń
  ASSERT_TRUE(first && second && third);
  vlm::IncrementalDecoder decoder(tokenizer);
  EXPECT_EQ(decoder.push(*first), "");
  EXPECT_EQ(decoder.push(*second), "");
  EXPECT_EQ(decoder.push(*third), "\xE4\xB8\xAD");
  EXPECT_EQ(decoder.push(*first), "");
  EXPECT_EQ(decoder.flush(), kReplacement);
  EXPECT_EQ(decoder.flush(), "");
}

}  // namespace
