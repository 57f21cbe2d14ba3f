// PCRE2-backed Isolated split with an Oniguruma-to-PCRE2 pattern rewrite; see split_regex.h.
#define PCRE2_CODE_UNIT_WIDTH 8
#include "tokenizer/split_regex.h"

#include <pcre2.h>

#include "vlm/error.h"

namespace vlm::tokenizer_detail {

namespace {

// Oniguruma's \s in UTF-8 mode = the Unicode White_Space property (checked against HF tokenizers
// over all code points by the pretokenizer_classes fixture test).
constexpr const char* kWhiteSpaceRanges =
    "\\x{09}-\\x{0D}\\x{20}\\x{85}\\x{A0}\\x{1680}\\x{2000}-\\x{200A}\\x{2028}\\x{2029}"
    "\\x{202F}\\x{205F}\\x{3000}";

// Letters and numbers added in Unicode 15.0-16.0: Oniguruma in HF tokenizers knows them, PCRE2
// 10.42 (Unicode 14) does not. Printed by tests/fixtures/make_tokenizer_fixtures.py --unicode-delta
// from HF's own splits over all code points; a newer PCRE2 already has them, which is harmless.
constexpr const char* kNewLetters =
    "\\x{1C89}-\\x{1C8A}\\x{A7CB}-\\x{A7CD}\\x{A7DA}-\\x{A7DC}\\x{105C0}-\\x{105F3}"
    "\\x{10D4A}-\\x{10D65}\\x{10D6F}-\\x{10D85}\\x{10EC2}-\\x{10EC4}\\x{1123F}-\\x{11240}"
    "\\x{11380}-\\x{11389}\\x{1138B}\\x{1138E}\\x{11390}-\\x{113B5}\\x{113B7}\\x{113D1}"
    "\\x{113D3}\\x{11BC0}-\\x{11BE0}\\x{11F02}\\x{11F04}-\\x{11F10}\\x{11F12}-\\x{11F33}"
    "\\x{1342F}\\x{13441}-\\x{13446}\\x{13460}-\\x{143FA}\\x{16100}-\\x{1611D}"
    "\\x{16D40}-\\x{16D6C}\\x{18CFF}\\x{1B132}\\x{1B155}\\x{1DF25}-\\x{1DF2A}"
    "\\x{1E030}-\\x{1E06D}\\x{1E4D0}-\\x{1E4EB}\\x{1E5D0}-\\x{1E5ED}\\x{1E5F0}\\x{2B739}"
    "\\x{2EBF0}-\\x{2EE5D}\\x{31350}-\\x{323AF}";
constexpr const char* kNewNumbers =
    "\\x{10D40}-\\x{10D49}\\x{116D0}-\\x{116E3}\\x{11BF0}-\\x{11BF9}\\x{11F50}-\\x{11F59}"
    "\\x{16130}-\\x{16139}\\x{16D70}-\\x{16D79}\\x{1CCF0}-\\x{1CCF9}\\x{1D2C0}-\\x{1D2D3}"
    "\\x{1E4F0}-\\x{1E4F9}\\x{1E5F1}-\\x{1E5FA}";

std::string pcre2_message(int code) {
  PCRE2_UCHAR buffer[256];
  pcre2_get_error_message(code, buffer, sizeof(buffer));
  return reinterpret_cast<const char*>(buffer);
}

}  // namespace

std::string translate_oniguruma_pattern(std::string_view pattern) {
  std::string out;
  out.reserve(pattern.size() * 4);
  bool in_class = false;
  for (size_t i = 0; i < pattern.size(); ++i) {
    const char c = pattern[i];
    if (c == '\\' && i + 1 < pattern.size()) {
      const char next = pattern[i + 1];
      if (next == 's' || next == 'S') {
        VLM_CHECK(!in_class || next == 's', Unsupported,
                  "split pattern: \\S inside a character class cannot be translated for PCRE2");
        out += in_class ? std::string(kWhiteSpaceRanges)
                        : std::string(next == 's' ? "[" : "[^") + kWhiteSpaceRanges + "]";
        ++i;
        continue;
      }
      if ((next == 'p' || next == 'P') && i + 2 < pattern.size() && pattern[i + 2] == '{') {
        const size_t close = pattern.find('}', i + 2);
        VLM_CHECK(close != std::string_view::npos, InvalidModel, "split pattern: unclosed \\" << next << "{");
        const std::string_view name = pattern.substr(i + 3, close - (i + 3));
        const char* extra = name == "L" ? kNewLetters : name == "N" ? kNewNumbers : nullptr;
        const std::string property = "\\p{" + std::string(name) + "}";
        if (extra == nullptr) {
          out.append(pattern.substr(i, close - i + 1));
        } else if (next == 'p') {
          out += in_class ? property + extra : "[" + property + extra + "]";
        } else {
          VLM_CHECK(!in_class, Unsupported,
                    "split pattern: \\P{" << name << "} inside a character class cannot be translated for PCRE2");
          out += "[^" + property + extra + "]";
        }
        i = close;
        continue;
      }
      out += c;
      out += next;
      ++i;
      continue;
    }
    if (in_class) {
      if (c == ']') in_class = false;
      out += c;
      continue;
    }
    if (c == '[') {
      in_class = true;
      out += c;
      if (i + 1 < pattern.size() && pattern[i + 1] == '^') out += pattern[++i];
      if (i + 1 < pattern.size() && pattern[i + 1] == ']') out += pattern[++i];  // literal ]
      continue;
    }
    out += c;
  }
  return out;
}

struct SplitRegex::Compiled {
  pcre2_code* code = nullptr;
  bool jit = false;
  ~Compiled() {
    if (code != nullptr) pcre2_code_free(code);
  }
};

SplitRegex::SplitRegex(std::string_view pattern, const std::string& source)
    : pattern_(pattern), compiled_(std::make_unique<Compiled>()) {
  const std::string translated = translate_oniguruma_pattern(pattern);
  int error = 0;
  PCRE2_SIZE offset = 0;
  compiled_->code = pcre2_compile(reinterpret_cast<PCRE2_SPTR>(translated.data()), translated.size(),
                                  PCRE2_UTF | PCRE2_UCP, &error, &offset, nullptr);
  VLM_CHECK(compiled_->code != nullptr, InvalidModel,
            source << ": split pattern does not compile (" << pcre2_message(error) << " at offset "
                   << offset << ")");
  compiled_->jit = pcre2_jit_compile(compiled_->code, PCRE2_JIT_COMPLETE) == 0;
}

SplitRegex::SplitRegex(SplitRegex&&) noexcept = default;
SplitRegex& SplitRegex::operator=(SplitRegex&&) noexcept = default;
SplitRegex::~SplitRegex() = default;

void SplitRegex::split_isolated(std::string_view text, std::vector<std::string_view>& pieces) const {
  if (text.empty()) return;
  struct MatchResources {
    pcre2_match_data* data = nullptr;
    pcre2_jit_stack* stack = nullptr;
    pcre2_match_context* context = nullptr;
    ~MatchResources() {
      if (data != nullptr) pcre2_match_data_free(data);
      if (context != nullptr) pcre2_match_context_free(context);
      if (stack != nullptr) pcre2_jit_stack_free(stack);
    }
  } resources;
  resources.data = pcre2_match_data_create(1, nullptr);
  VLM_CHECK(resources.data != nullptr, OutOfMemory, "split regex: match data allocation failed");
  const auto* subject = reinterpret_cast<PCRE2_SPTR>(text.data());
  size_t gap_start = 0;
  size_t offset = 0;
  while (offset < text.size()) {
    int rc = compiled_->jit
                 ? pcre2_jit_match(compiled_->code, subject, text.size(), offset, 0, resources.data,
                                   resources.context)
                 : pcre2_match(compiled_->code, subject, text.size(), offset, PCRE2_NO_UTF_CHECK,
                               resources.data, resources.context);
    if (rc == PCRE2_ERROR_JIT_STACKLIMIT && resources.stack == nullptr) {
      // Long runs may exceed the default 32 KiB JIT stack: retry this match with a larger one.
      resources.stack = pcre2_jit_stack_create(32 * 1024, 64 * 1024 * 1024, nullptr);
      resources.context = pcre2_match_context_create(nullptr);
      VLM_CHECK(resources.stack != nullptr && resources.context != nullptr, OutOfMemory,
                "split regex: JIT stack allocation failed");
      pcre2_jit_stack_assign(resources.context, nullptr, resources.stack);
      continue;
    }
    if (rc == PCRE2_ERROR_NOMATCH) break;
    VLM_CHECK(rc >= 0, InvalidModel,
              "split regex /" << pattern_ << "/: matching failed (" << pcre2_message(rc) << ")");
    const PCRE2_SIZE* ovector = pcre2_get_ovector_pointer(resources.data);
    const size_t start = ovector[0];
    size_t end = ovector[1];
    if (start > gap_start) pieces.push_back(text.substr(gap_start, start - gap_start));
    if (end > start) {
      pieces.push_back(text.substr(start, end - start));
      gap_start = end;
      offset = end;
    } else {
      // Empty match: step over one character so the scan advances (as Oniguruma's find_iter does).
      gap_start = start;
      offset = start + 1;
      while (offset < text.size() && (static_cast<unsigned char>(text[offset]) & 0xC0) == 0x80) ++offset;
    }
  }
  if (gap_start < text.size()) pieces.push_back(text.substr(gap_start));
}

}  // namespace vlm::tokenizer_detail
