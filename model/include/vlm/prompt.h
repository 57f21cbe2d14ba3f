// Qwen2.5-VL's chat template (spec §6): the default system prompt, one user turn whose images
// and videos come before the text, the generation prompt, and each vision placeholder expanded to
// the number of tokens its grid yields. Produces ids directly so placeholders never go through BPE.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "vlm/preprocess.h"
#include "vlm/tokenizer.h"

namespace vlm {

enum class VisionKind { Image, Video };

struct PromptVision {
  VisionKind kind = VisionKind::Image;
  GridThw grid;
};

struct ChatPrompt {
  std::string system = "You are a helpful assistant.";
  std::vector<PromptVision> visions;  // in prompt order, placed before `text`
  std::string text;
};

// The rendered template with one placeholder per vision item (what HF's apply_chat_template
// returns), e.g. "<|im_start|>system\n…<|vision_start|><|image_pad|><|vision_end|>Describe…".
std::string render_chat_template(const ChatPrompt& prompt);
// Token ids with placeholders expanded to grid.tokens(merge) copies.
std::vector<int32_t> build_prompt_ids(const Tokenizer& tokenizer, const ChatPrompt& prompt,
                                      int merge_size = 2);

}  // namespace vlm
