// The pre-tokenizer's split regex, compiled with PCRE2 (UTF + UCP, JIT when available). HF
// tokenizers runs these patterns with Oniguruma, so the pattern is first translated where the two
// engines differ (see translate_oniguruma_pattern), then matches are cut out "Isolated": every
// match and every gap between matches becomes its own piece.
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace vlm::tokenizer_detail {

// Rewrites an Oniguruma pattern (as found in tokenizer.json) into a PCRE2 pattern that matches the
// same strings: \s/\S become the exact White_Space class Oniguruma uses (PCRE2's UCP \s adds
// U+180E), and \p{L}/\p{N} gain the Unicode 15-16 additions Oniguruma knows and PCRE2 10.42 does
// not. Caseless groups need nothing: both engines fold 's' with U+017F. Throws Unsupported for
// constructs the rewrite cannot keep equivalent (\S or \P{L} inside a character class).
std::string translate_oniguruma_pattern(std::string_view pattern);

class SplitRegex {
 public:
  // `pattern` is in Oniguruma syntax (tokenizer.json); `source` names it in errors.
  SplitRegex(std::string_view pattern, const std::string& source);
  SplitRegex(SplitRegex&&) noexcept;
  SplitRegex& operator=(SplitRegex&&) noexcept;
  ~SplitRegex();

  // Appends the pieces of `text` (valid UTF-8): matches and the gaps between them, in order,
  // empty pieces dropped.
  void split_isolated(std::string_view text, std::vector<std::string_view>& pieces) const;
  const std::string& pattern() const { return pattern_; }

 private:
  struct Compiled;
  std::string pattern_;
  std::unique_ptr<Compiled> compiled_;
};

}  // namespace vlm::tokenizer_detail
