// Prompt builder against transformers' Qwen2_5_VLProcessor (fixture prompts.json): the rendered
// chat template text, and the ids with placeholders expanded from the grids the processor computed.
#include <gtest/gtest.h>

#include <algorithm>

#include "vlm/error.h"
#include "vlm/prompt.h"
#include "tokenizer_fixtures.h"

namespace {

vlm::ChatPrompt prompt_from(const nlohmann::json& entry) {
  vlm::ChatPrompt prompt;
  if (!entry["system"].is_null()) prompt.system = entry["system"].get<std::string>();
  prompt.text = entry["text"].get<std::string>();
  for (const auto& vision : entry["visions"]) {
    vlm::PromptVision item;
    item.kind = vision["kind"] == "image" ? vlm::VisionKind::Image : vlm::VisionKind::Video;
    item.grid = vlm::GridThw{vision["grid"][0].get<int64_t>(), vision["grid"][1].get<int64_t>(),
                             vision["grid"][2].get<int64_t>()};
    prompt.visions.push_back(item);
  }
  return prompt;
}

TEST(PromptBuilder, RenderedTemplateMatchesProcessor) {
  const auto fixture = vlm_test::load_fixture("prompts.json");
  ASSERT_GE(fixture["prompts"].size(), 4u);
  for (const auto& entry : fixture["prompts"]) {
    EXPECT_EQ(vlm::render_chat_template(prompt_from(entry)), entry["rendered"].get<std::string>())
        << entry["name"];
  }
}

TEST(PromptBuilder, IdsWithExpandedPlaceholdersMatchProcessor) {
  const auto fixture = vlm_test::load_fixture("prompts.json");
  for (const auto& entry : fixture["prompts"]) {
    EXPECT_EQ(vlm::build_prompt_ids(vlm_test::qwen_tokenizer(), prompt_from(entry)),
              vlm_test::ids_of(entry["ids"]))
        << entry["name"];
  }
}

TEST(PromptBuilder, SpecExampleRendersVerbatim) {
  // spec §6.1 example, one image and a question.
  vlm::ChatPrompt prompt;
  prompt.visions.push_back({vlm::VisionKind::Image, vlm::GridThw{1, 4, 4}});
  prompt.text = "Describe this image.";
  EXPECT_EQ(vlm::render_chat_template(prompt),
            "<|im_start|>system\nYou are a helpful assistant.<|im_end|>\n<|im_start|>user\n"
            "<|vision_start|><|image_pad|><|vision_end|>Describe this image.<|im_end|>\n"
            "<|im_start|>assistant\n");
}

TEST(PromptBuilder, PlaceholderCountIsGridTokens) {
  vlm::ChatPrompt prompt;
  prompt.visions.push_back({vlm::VisionKind::Video, vlm::GridThw{3, 6, 10}});
  const auto ids = vlm::build_prompt_ids(vlm_test::qwen_tokenizer(), prompt);
  const int32_t video_pad = *vlm_test::qwen_tokenizer().token_to_id("<|video_pad|>");
  EXPECT_EQ(std::count(ids.begin(), ids.end(), video_pad), 3 * 6 * 10 / 4);
}

TEST(PromptBuilder, RejectsGridsThatDoNotMerge) {
  vlm::ChatPrompt prompt;
  prompt.visions.push_back({vlm::VisionKind::Image, vlm::GridThw{1, 3, 4}});
  EXPECT_THROW(vlm::build_prompt_ids(vlm_test::qwen_tokenizer(), prompt), vlm::Error);
}

}  // namespace
