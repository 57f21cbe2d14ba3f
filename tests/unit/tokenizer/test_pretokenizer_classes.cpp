// The PCRE2 port of the Qwen2 split pattern against HF tokenizers (Oniguruma) over every Unicode
// code point: for each one, HF's split of a probe string built around it is recorded as ranges in
// pretokenizer_classes.json; here the same probe goes through SplitRegex and the piece lengths
// (in code points) must agree. Also checks the pattern rewrite on hand-worked examples.
#include <gtest/gtest.h>

#include "tokenizer/split_regex.h"
#include "vlm/error.h"
#include "tokenizer/utf8.h"
#include "tokenizer_fixtures.h"

namespace {

using vlm::tokenizer_detail::SplitRegex;

std::string probe_string(const std::string& c) {
  // Must equal probe_string() of make_tokenizer_fixtures.py.
  return "a" + c + "!" + c + "1" + c + c + " " + c + "\n" + c + "'" + c + c + c + "a" + c + " ";
}

size_t code_points(std::string_view text) {
  size_t count = 0;
  for (char byte : text) count += (static_cast<unsigned char>(byte) & 0xC0) != 0x80;
  return count;
}

std::vector<std::string> split(const SplitRegex& regex, std::string_view text) {
  std::vector<std::string_view> pieces;
  regex.split_isolated(text, pieces);
  return {pieces.begin(), pieces.end()};
}

TEST(PreTokenizerClasses, EveryCodePointSplitsLikeTheReference) {
  const auto fixture = vlm_test::load_fixture("pretokenizer_classes.json");
  const SplitRegex regex(fixture["pattern"].get<std::string>(), "pretokenizer_classes.json");
  const auto signatures = fixture["signatures"].get<std::vector<std::string>>();
  size_t checked = 0;
  std::vector<uint32_t> mismatched;
  std::vector<std::string_view> pieces;
  for (const auto& range : fixture["ranges"]) {
    const auto first = range[0].get<uint32_t>();
    const auto last = range[1].get<uint32_t>();
    const std::string& expected = signatures.at(range[2].get<size_t>());
    for (uint32_t cp = first; cp <= last; ++cp) {
      if (cp >= 0xD800 && cp <= 0xDFFF) continue;
      std::string c;
      vlm::tokenizer_detail::utf8_append(cp, c);
      const std::string probe = probe_string(c);
      pieces.clear();
      regex.split_isolated(probe, pieces);
      std::string signature;
      for (std::string_view piece : pieces) {
        if (!signature.empty()) signature += ',';
        signature += std::to_string(code_points(piece));
      }
      ++checked;
      if (signature != expected) mismatched.push_back(cp);
    }
  }
  EXPECT_EQ(checked, 0x110000u - 0x800u);
  std::string listing;
  for (size_t i = 0; i < mismatched.size() && i < 40; ++i) listing += std::to_string(mismatched[i]) + " ";
  EXPECT_TRUE(mismatched.empty()) << mismatched.size() << " code points split differently, e.g. " << listing;
}

TEST(PreTokenizerClasses, PatternRewriteKeepsOnigurumaSemantics) {
  const std::string qwen =
      R"((?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+)";
  const SplitRegex regex(qwen, "test");
  // Worked by hand from the pattern: contractions are caseless; a space takes the apostrophe.
  EXPECT_EQ(split(regex, "HE'S it's 'x"), (std::vector<std::string>{"HE", "'S", " it", "'s", " '", "x"}));
  // HF splits "x'ſſ" as x | 'ſ | ſ: Oniguruma folds U+017F with 's', and so must we.
  EXPECT_EQ(split(regex, "x'\xC5\xBF\xC5\xBF"), (std::vector<std::string>{"x", "'\xC5\xBF", "\xC5\xBF"}));
  // Digits one by one; a space before a digit stays alone; letters take one leading non-letter.
  EXPECT_EQ(split(regex, "x 123"), (std::vector<std::string>{"x", " ", "1", "2", "3"}));
  // Whitespace: a run before a word leaves its last space to the word.
  EXPECT_EQ(split(regex, "a   b"), (std::vector<std::string>{"a", "  ", " b"}));
  // U+180E is punctuation-like for Oniguruma (PCRE2's UCP \s would call it space and split it).
  EXPECT_EQ(split(regex, "a\xE1\xA0\x8E\xE1\xA0\x8E" "b"),
            (std::vector<std::string>{"a", "\xE1\xA0\x8E\xE1\xA0\x8E", "b"}));
  EXPECT_EQ(split(regex, "a\r\n\r\nb"), (std::vector<std::string>{"a", "\r\n\r\n", "b"}));
}

TEST(PreTokenizerClasses, UnsupportedPatternConstructsAreRejected) {
  EXPECT_THROW(SplitRegex("[\\S]", "test"), vlm::Error);
  EXPECT_THROW(SplitRegex("[\\P{L}x]", "test"), vlm::Error);
  EXPECT_THROW(SplitRegex("(unclosed", "test"), vlm::Error);
}

}  // namespace
