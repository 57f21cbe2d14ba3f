// Qwen2.5-VL chat template and placeholder expansion (spec §6.1-6.2). The ids are assembled piece
// by piece around the vision blocks; because added tokens split the text before BPE, this gives
// the same ids as tokenizing the processor's expanded string, without N placeholder strings.
#include "vlm/prompt.h"

#include "vlm/error.h"

namespace vlm {

namespace {

constexpr const char* kVisionStart = "<|vision_start|>";
constexpr const char* kVisionEnd = "<|vision_end|>";
constexpr const char* kImagePad = "<|image_pad|>";
constexpr const char* kVideoPad = "<|video_pad|>";

std::string template_head(const ChatPrompt& prompt) {
  return "<|im_start|>system\n" + prompt.system + "<|im_end|>\n<|im_start|>user\n";
}

std::string template_tail(const ChatPrompt& prompt) {
  return prompt.text + "<|im_end|>\n<|im_start|>assistant\n";
}

int32_t required_id(const Tokenizer& tokenizer, const char* token) {
  const auto id = tokenizer.token_to_id(token);
  VLM_CHECK(id.has_value(), InvalidModel, "tokenizer has no " << token << " token, needed by the Qwen2.5-VL prompt");
  return *id;
}

}  // namespace

std::string render_chat_template(const ChatPrompt& prompt) {
  std::string text = template_head(prompt);
  for (const PromptVision& vision : prompt.visions) {
    text += kVisionStart;
    text += vision.kind == VisionKind::Image ? kImagePad : kVideoPad;
    text += kVisionEnd;
  }
  return text + template_tail(prompt);
}

std::vector<int32_t> build_prompt_ids(const Tokenizer& tokenizer, const ChatPrompt& prompt, int merge_size) {
  VLM_CHECK(merge_size > 0, InvalidInput, "build_prompt_ids: merge_size must be positive, got " << merge_size);
  std::vector<int32_t> ids = tokenizer.encode(template_head(prompt));
  if (!prompt.visions.empty()) {
    const int32_t start = required_id(tokenizer, kVisionStart);
    const int32_t end = required_id(tokenizer, kVisionEnd);
    const int32_t image_pad = required_id(tokenizer, kImagePad);
    const int32_t video_pad = required_id(tokenizer, kVideoPad);
    for (size_t index = 0; index < prompt.visions.size(); ++index) {
      const GridThw& grid = prompt.visions[index].grid;
      VLM_CHECK(grid.t > 0 && grid.h > 0 && grid.w > 0 && grid.h % merge_size == 0 && grid.w % merge_size == 0,
                InvalidInput,
                "build_prompt_ids: visions[" << index << "] grid (" << grid.t << ", " << grid.h << ", " << grid.w
                                             << ") must be positive with h and w multiples of merge_size "
                                             << merge_size);
      const int64_t count = grid.tokens(merge_size);
      ids.push_back(start);
      ids.insert(ids.end(), static_cast<size_t>(count),
                 prompt.visions[index].kind == VisionKind::Image ? image_pad : video_pad);
      ids.push_back(end);
    }
  }
  const std::vector<int32_t> tail = tokenizer.encode(template_tail(prompt));
  ids.insert(ids.end(), tail.begin(), tail.end());
  return ids;
}

}  // namespace vlm
