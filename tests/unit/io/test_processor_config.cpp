// preprocessor_config.json and generation_config.json tests. Expected values are the official
// Qwen2.5-VL files (spec §3) and the HF class defaults (Qwen2VLImageProcessor, GenerationConfig),
// written out by hand.
#include <gtest/gtest.h>

#include "io_test_util.h"
#include "vlm/config.h"

namespace vlm {
namespace {

using test::expect_error;

// Official Qwen2.5-VL preprocessor_config.json (identical for every size, spec §3).
const char* const kOfficialPreprocessor = R"({
  "min_pixels": 3136, "max_pixels": 12845056, "patch_size": 14, "temporal_patch_size": 2,
  "merge_size": 2, "image_mean": [0.48145466, 0.4578275, 0.40821073],
  "image_std": [0.26862954, 0.26130258, 0.27577711],
  "image_processor_type": "Qwen2VLImageProcessor", "processor_class": "Qwen2_5_VLProcessor"
})";

TEST(PreprocessorConfig, OfficialFileParses) {
  PreprocessorConfig config = parse_preprocessor_config(kOfficialPreprocessor);
  EXPECT_EQ(config.min_pixels, 3136);
  EXPECT_EQ(config.max_pixels, 12845056);
  EXPECT_EQ(config.factor(), 28);
  EXPECT_FLOAT_EQ(config.image_mean[1], 0.4578275f);
  EXPECT_FLOAT_EQ(config.image_std[2], 0.27577711f);
  EXPECT_DOUBLE_EQ(config.rescale_factor, 1.0 / 255.0);
  EXPECT_EQ(config.resample, 3);
}

TEST(PreprocessorConfig, SizeFormIsRead) {
  PreprocessorConfig config = parse_preprocessor_config(
      R"({"size": {"shortest_edge": 200704, "longest_edge": 1003520}})");
  EXPECT_EQ(config.min_pixels, 200704);
  EXPECT_EQ(config.max_pixels, 1003520);
  // Both spellings, agreeing (what HF 4.5x save_pretrained writes).
  config = parse_preprocessor_config(R"({"min_pixels": 3136, "max_pixels": 12845056,
      "size": {"shortest_edge": 3136, "longest_edge": 12845056}})");
  EXPECT_EQ(config.max_pixels, 12845056);
}

TEST(PreprocessorConfig, DisagreeingSpellingsRefused) {
  expect_error([] {
    parse_preprocessor_config(R"({"max_pixels": 1003520, "size": {"shortest_edge": 3136, "longest_edge": 12845056}})",
                              "pp.json");
  }, ErrorCode::InvalidModel, {"pp.json", "inconsistent", "'max_pixels' = 1003520", "size.longest_edge"});
}

TEST(PreprocessorConfig, IncompleteSizeRefused) {
  expect_error([] { parse_preprocessor_config(R"({"size": {"shortest_edge": 3136}})"); },
               ErrorCode::InvalidModel, {"'size'", "longest_edge"});
}

TEST(PreprocessorConfig, MissingKeysTakeImageProcessorClassDefaults) {
  PreprocessorConfig config = parse_preprocessor_config("{}");
  EXPECT_EQ(config.min_pixels, 56 * 56);
  EXPECT_EQ(config.max_pixels, 28 * 28 * 1280);  // class default, not the checkpoint's 12845056
  EXPECT_EQ(config.patch_size, 14);
  EXPECT_EQ(config.merge_size, 2);
  EXPECT_FLOAT_EQ(config.image_mean[0], 0.48145466f);  // OPENAI_CLIP_MEAN
}

TEST(PreprocessorConfig, ScalarMeanAppliesToAllChannels) {
  PreprocessorConfig config = parse_preprocessor_config(R"({"image_mean": 0.5, "image_std": 0.5})");
  EXPECT_EQ(config.image_mean, (std::array<float, 3>{0.5f, 0.5f, 0.5f}));
  expect_error([] { parse_preprocessor_config(R"({"image_std": [0.5, 0.5]})"); },
               ErrorCode::InvalidModel, {"'image_std' must have 3 entries"});
}

TEST(PreprocessorConfig, InvalidValuesRefusedNamingField) {
  expect_error([] { parse_preprocessor_config(R"({"min_pixels": 5000, "max_pixels": 4000})"); },
               ErrorCode::InvalidModel, {"'max_pixels' = 4000", "'min_pixels' = 5000"});
  expect_error([] { parse_preprocessor_config(R"({"image_std": [0.5, 0.0, 0.5]})"); },
               ErrorCode::InvalidModel, {"'image_std[1]'"});
  expect_error([] { parse_preprocessor_config(R"({"merge_size": 0})"); }, ErrorCode::InvalidModel,
               {"'merge_size' = 0"});
}

TEST(PreprocessorConfig, UnimplementedOptionsRefused) {
  expect_error([] { parse_preprocessor_config(R"({"resample": 2})"); }, ErrorCode::Unsupported,
               {"'resample' = 2"});
  expect_error([] { parse_preprocessor_config(R"({"do_normalize": false})"); },
               ErrorCode::Unsupported, {"'do_normalize' = false"});
}

TEST(PreprocessorConfig, MissingFileGivesCheckpointValues) {
  test::TempDir dir;
  PreprocessorConfig config = load_preprocessor_config(dir.path());
  EXPECT_EQ(config.max_pixels, 12845056);
  test::write_file(dir / "preprocessor_config.json", R"({"max_pixels": 802816})");
  EXPECT_EQ(load_preprocessor_config(dir.path()).max_pixels, 802816);
}

// Official Qwen2.5-VL-7B-Instruct generation_config.json.
const char* const kOfficialGeneration = R"({
  "bos_token_id": 151643, "pad_token_id": 151643, "do_sample": true,
  "eos_token_id": [151645, 151643], "repetition_penalty": 1.05, "temperature": 0.1,
  "top_p": 0.001, "top_k": 1, "transformers_version": "4.37.0"
})";

TEST(GenerationConfig, OfficialFileParses) {
  GenerationConfig config = parse_generation_config(kOfficialGeneration);
  EXPECT_TRUE(config.do_sample);
  EXPECT_FLOAT_EQ(config.temperature, 0.1f);
  EXPECT_EQ(config.top_k, 1);
  EXPECT_FLOAT_EQ(config.top_p, 0.001f);
  EXPECT_FLOAT_EQ(config.repetition_penalty, 1.05f);
  EXPECT_EQ(config.eos_token_ids, (std::vector<int32_t>{151645, 151643}));
}

TEST(GenerationConfig, MissingKeysTakeGenerationClassDefaults) {
  GenerationConfig config = parse_generation_config(R"({"eos_token_id": 151645})");
  EXPECT_FALSE(config.do_sample);
  EXPECT_FLOAT_EQ(config.temperature, 1.0f);
  EXPECT_EQ(config.top_k, 50);
  EXPECT_FLOAT_EQ(config.top_p, 1.0f);
  EXPECT_FLOAT_EQ(config.repetition_penalty, 1.0f);
  EXPECT_EQ(config.eos_token_ids, (std::vector<int32_t>{151645}));
}

TEST(GenerationConfig, InvalidValuesRefusedNamingField) {
  expect_error([] { parse_generation_config(R"({"top_p": 0})", "gen.json"); },
               ErrorCode::InvalidModel, {"gen.json", "'top_p'"});
  expect_error([] { parse_generation_config(R"({"temperature": -1})"); }, ErrorCode::InvalidModel,
               {"'temperature'"});
  expect_error([] { parse_generation_config(R"({"top_k": -1})"); }, ErrorCode::InvalidModel,
               {"'top_k' = -1"});
  expect_error([] { parse_generation_config(R"({"eos_token_id": "x"})"); },
               ErrorCode::InvalidModel, {"'eos_token_id'", "integer"});
}

TEST(GenerationConfig, LoadFallsBackToModelStopIds) {
  test::TempDir dir;
  ModelConfig model;
  model.eos_token_ids = {7, 9};
  GenerationConfig greedy = load_generation_config(dir.path(), model);
  EXPECT_FALSE(greedy.do_sample);
  EXPECT_EQ(greedy.eos_token_ids, (std::vector<int32_t>{7, 9}));
  test::write_file(dir / "generation_config.json", R"({"do_sample": true, "top_k": 5})");
  GenerationConfig sampled = load_generation_config(dir.path(), model);
  EXPECT_TRUE(sampled.do_sample);
  EXPECT_EQ(sampled.eos_token_ids, (std::vector<int32_t>{7, 9}));
  test::write_file(dir / "generation_config.json", kOfficialGeneration);
  EXPECT_EQ(load_generation_config(dir.path(), model).eos_token_ids,
            (std::vector<int32_t>{151645, 151643}));
}

}  // namespace
}  // namespace vlm
