// libFuzzer target for the tokenizer.json loader (untrusted file input): any bytes must either load
// or raise vlm::Error, never crash, hang or trip a sanitizer; what loads must then encode and decode.
// Seeds: tests/fuzz/tokenizer/corpus_json/ (small trained tokenizers and a minimal file).
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "vlm/error.h"
#include "vlm/tokenizer.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  try {
    const vlm::Tokenizer tokenizer = vlm::Tokenizer::from_json(text, "fuzz");
    const auto ids = tokenizer.encode("Hello <|im_start|>wörld 123 \xF0\x9F\x98\x80\r\n  x");
    (void)tokenizer.decode(ids, true);
    vlm::IncrementalDecoder decoder(tokenizer);
    for (int32_t id : ids) (void)decoder.push(id);
    (void)decoder.flush();
  } catch (const vlm::Error&) {
    // Rejected with a message: the expected outcome for most mutations.
  }
  return 0;
}
