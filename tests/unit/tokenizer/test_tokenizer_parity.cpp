// Token ids and decoded text against HF tokenizers 0.21.4 (fixtures from
// tests/fixtures/make_tokenizer_fixtures.py): the Qwen2 tokenizer on the whole corpus (scripts,
// digits, contractions, whitespace runs, CRLF, emoji, combining marks, special tokens in text,
// invalid UTF-8), HF decode of id sequences that cut characters, and two small trained tokenizers
// of the same model type with other options (legacy merges, GPT-2 regex, added-token rules).
#include <gtest/gtest.h>

#include <atomic>
#include <thread>

#include "tokenizer_fixtures.h"

namespace {

using vlm_test::case_input;
using vlm_test::ids_of;
using vlm_test::load_fixture;
using vlm_test::qwen_tokenizer;

TEST(TokenizerParity, QwenCorpusIdsMatchReference) {
  const auto corpus = load_fixture("corpus.json");
  ASSERT_GT(corpus["cases"].size(), 200u);
  int mismatches = 0;
  for (const auto& entry : corpus["cases"]) {
    const auto ids = qwen_tokenizer().encode(case_input(entry));
    if (ids != ids_of(entry["ids"])) ++mismatches;
    EXPECT_EQ(ids, ids_of(entry["ids"])) << "case " << entry["name"];
  }
  EXPECT_EQ(mismatches, 0);
}

TEST(TokenizerParity, QwenCorpusDecodeMatchesReference) {
  const auto corpus = load_fixture("corpus.json");
  for (const auto& entry : corpus["cases"]) {
    const auto ids = ids_of(entry["ids"]);
    EXPECT_EQ(qwen_tokenizer().decode(ids, false), entry["decode"].get<std::string>()) << "case " << entry["name"];
    EXPECT_EQ(qwen_tokenizer().decode(ids, true), entry["decode_skip_special"].get<std::string>())
        << "case " << entry["name"];
  }
}

TEST(TokenizerParity, DecodeOfCutCharactersMatchesReference) {
  const auto cases = load_fixture("decode.json");
  ASSERT_GT(cases["cases"].size(), 100u);
  for (const auto& entry : cases["cases"]) {
    const auto ids = ids_of(entry["ids"]);
    EXPECT_EQ(qwen_tokenizer().decode(ids, false), entry["decode"].get<std::string>()) << entry["ids"].dump();
    EXPECT_EQ(qwen_tokenizer().decode(ids, true), entry["decode_skip_special"].get<std::string>())
        << entry["ids"].dump();
  }
}

TEST(TokenizerParity, RoundTripReturnsTheTextForValidNfcInput) {
  // decode(encode(x)) == x whenever the reference's own round trip gives x back (valid UTF-8 that
  // NFC leaves unchanged); most of the corpus is such text.
  const auto corpus = load_fixture("corpus.json");
  size_t checked = 0;
  for (const auto& entry : corpus["cases"]) {
    if (entry.contains("bytes_b64")) continue;
    const std::string text = entry["text"].get<std::string>();
    if (entry["decode"].get<std::string>() != text) continue;
    ++checked;
    EXPECT_EQ(qwen_tokenizer().decode(qwen_tokenizer().encode(text)), text) << "case " << entry["name"];
  }
  EXPECT_GT(checked, 150u);
}

TEST(TokenizerParity, SpecialTokenFlagsFollowTheFile) {
  // spec §1.4: 151643-151656 special, <tool_call> (151657) and the fim tokens are not.
  const auto& tokenizer = qwen_tokenizer();
  EXPECT_EQ(tokenizer.token_to_id("<|im_start|>"), 151644);
  EXPECT_EQ(tokenizer.token_to_id("<|image_pad|>"), 151655);
  for (int32_t id = 151643; id <= 151656; ++id) EXPECT_TRUE(tokenizer.is_special(id)) << id;
  for (int32_t id = 151657; id <= 151664; ++id) EXPECT_FALSE(tokenizer.is_special(id)) << id;
  EXPECT_FALSE(tokenizer.is_special(0));
  EXPECT_EQ(tokenizer.vocab_size(), 151669u);  // 151643 BPE ids + 26 added tokens (Qwen3 release)
  EXPECT_EQ(tokenizer.token_bytes(151644), "<|im_start|>");
  EXPECT_EQ(tokenizer.token_bytes(-1), "");
  EXPECT_EQ(tokenizer.token_to_id("no such token"), std::nullopt);
}

TEST(TokenizerParity, ConcurrentEncodesGiveReferenceIds) {
  // encode() is const and shared between threads (piece cache behind a lock, per-call regex state).
  const auto corpus = load_fixture("corpus.json");
  std::vector<std::thread> threads;
  std::atomic<int> mismatches{0};
  for (int thread = 0; thread < 4; ++thread) {
    threads.emplace_back([&corpus, &mismatches, thread] {
      for (size_t round = 0; round < 3; ++round) {
        for (size_t index = thread; index < corpus["cases"].size(); index += 1 + round) {
          const auto& entry = corpus["cases"][index];
          if (qwen_tokenizer().encode(case_input(entry)) != ids_of(entry["ids"])) ++mismatches;
        }
      }
    });
  }
  for (auto& thread : threads) thread.join();
  EXPECT_EQ(mismatches.load(), 0);
}

class TinyTokenizerParity : public ::testing::TestWithParam<const char*> {};

TEST_P(TinyTokenizerParity, CorpusIdsAndDecodeMatchReference) {
  const std::string name = GetParam();
  const auto tokenizer = vlm::Tokenizer::from_file(vlm_test::fixture_path(name));
  const auto reference = load_fixture("tiny_ids.json")["tokenizers"][name];
  const auto corpus = load_fixture("corpus.json")["cases"];
  ASSERT_EQ(reference.size(), corpus.size());
  for (size_t index = 0; index < corpus.size(); ++index) {
    const auto ids = tokenizer.encode(case_input(corpus[index]));
    EXPECT_EQ(ids, ids_of(reference[index]["ids"])) << name << " case " << corpus[index]["name"];
    EXPECT_EQ(tokenizer.decode(ids_of(reference[index]["ids"])), reference[index]["decode"].get<std::string>())
        << name << " case " << corpus[index]["name"];
  }
}

INSTANTIATE_TEST_SUITE_P(TrainedFixtures, TinyTokenizerParity,
                         ::testing::Values("tiny_tokenizer.json", "tiny_gpt2style.json"));

}  // namespace
