// config.json loader tests. Layouts the reference (transformers 4.51.3) can read are compared with
// what it resolves them to (fixtures in tests/fixtures/io/configs/, made by
// make_config_fixtures.py); the 5.x nested layout and every validation error are checked with
// small hand-written documents whose expected values follow spec §1.3.
#include <gtest/gtest.h>

#include <cmath>
#include <fstream>
#include <sstream>

#include <nlohmann/json.hpp>

#include "io_test_util.h"
#include "vlm/config.h"
#include "vlm/log.h"

namespace vlm {
namespace {

using test::expect_error;

std::filesystem::path fixture_dir() {
  const char* root = std::getenv("VLM_FIXTURES");
  return std::filesystem::path(root ? root : "") / "io" / "configs";
}

nlohmann::json read_json(const std::filesystem::path& path) {
  std::ifstream in(path);
  EXPECT_TRUE(in.good()) << path;
  return nlohmann::json::parse(in);
}

class ConfigFixture : public ::testing::TestWithParam<std::string> {};

TEST_P(ConfigFixture, MatchesReferenceResolution) {
  const std::filesystem::path dir = fixture_dir();
  ModelConfig config = load_model_config(dir / (GetParam() + ".json"));
  nlohmann::json expected = read_json(dir / (GetParam() + ".expected.json"));
  const nlohmann::json& t = expected["text"];
  EXPECT_EQ(config.text.hidden_size, t["hidden_size"].get<int>());
  EXPECT_EQ(config.text.intermediate_size, t["intermediate_size"].get<int>());
  EXPECT_EQ(config.text.num_hidden_layers, t["num_hidden_layers"].get<int>());
  EXPECT_EQ(config.text.num_attention_heads, t["num_attention_heads"].get<int>());
  EXPECT_EQ(config.text.num_key_value_heads, t["num_key_value_heads"].get<int>());
  EXPECT_EQ(config.text.head_dim, t["head_dim"].get<int>());
  EXPECT_EQ(config.text.vocab_size, t["vocab_size"].get<int>());
  EXPECT_FLOAT_EQ(config.text.rms_norm_eps, t["rms_norm_eps"].get<float>());
  EXPECT_DOUBLE_EQ(config.text.rope_theta, t["rope_theta"].get<double>());
  EXPECT_EQ(std::vector<int>(config.text.mrope_section.begin(), config.text.mrope_section.end()),
            t["mrope_section"].get<std::vector<int>>());
  EXPECT_EQ(config.text.tie_word_embeddings, t["tie_word_embeddings"].get<bool>());
  EXPECT_EQ(config.text.max_position_embeddings, t["max_position_embeddings"].get<int>());
  EXPECT_EQ(config.text.hidden_act, t["hidden_act"].get<std::string>());
  EXPECT_EQ(config.eos_token_ids, expected["eos_token_ids"].get<std::vector<int32_t>>());
  EXPECT_EQ(config.bos_token_id, expected["bos_token_id"].get<int32_t>());
  EXPECT_EQ(config.image_token_id, expected["image_token_id"].get<int32_t>());
  EXPECT_EQ(config.video_token_id, expected["video_token_id"].get<int32_t>());

  const nlohmann::json& v = expected["vision"];
  EXPECT_EQ(config.vision.depth, v["depth"].get<int>());
  EXPECT_EQ(config.vision.hidden_size, v["hidden_size"].get<int>());
  EXPECT_EQ(config.vision.intermediate_size, v["intermediate_size"].get<int>());
  EXPECT_EQ(config.vision.num_heads, v["num_heads"].get<int>());
  EXPECT_EQ(config.vision.in_channels, v["in_channels"].get<int>());
  EXPECT_EQ(config.vision.patch_size, v["patch_size"].get<int>());
  EXPECT_EQ(config.vision.temporal_patch_size, v["temporal_patch_size"].get<int>());
  EXPECT_EQ(config.vision.spatial_merge_size, v["spatial_merge_size"].get<int>());
  EXPECT_EQ(config.vision.out_hidden_size, v["out_hidden_size"].get<int>());
  EXPECT_EQ(config.vision.hidden_act, v["hidden_act"].get<std::string>());
  if (v.contains("window_size")) {
    EXPECT_EQ(config.family, ModelFamily::Qwen2_5VL);
    EXPECT_EQ(config.vision.window_size, v["window_size"].get<int>());
    EXPECT_EQ(config.vision.fullatt_block_indexes, v["fullatt_block_indexes"].get<std::vector<int>>());
    EXPECT_FLOAT_EQ(config.vision.tokens_per_second, v["tokens_per_second"].get<float>());
  } else {
    EXPECT_EQ(config.family, ModelFamily::Qwen2VL);
    EXPECT_EQ(config.vision.window_size, 0);  // Qwen2-VL: no window attention
    for (int block = 0; block < config.vision.depth; ++block) {
      EXPECT_TRUE(config.vision.is_full_attention_block(block)) << block;
    }
  }
}

INSTANTIATE_TEST_SUITE_P(Layouts, ConfigFixture,
                         ::testing::Values("official_3b", "resaved_7b", "diff_72b", "hybrid_3b",
                                           "trap_7b", "qwen2vl_2b"));

// Official 3B values (spec §1.1/§1.2), rewritten by hand in the nested HF 5.x layout.
nlohmann::json nested_5x_3b() {
  return nlohmann::json::parse(R"({
    "model_type": "qwen2_5_vl", "image_token_id": 151655, "video_token_id": 151656,
    "vision_start_token_id": 151652, "vision_end_token_id": 151653,
    "text_config": {
      "model_type": "qwen2_5_vl_text", "hidden_size": 2048, "intermediate_size": 11008,
      "num_hidden_layers": 36, "num_attention_heads": 16, "num_key_value_heads": 2,
      "vocab_size": 151936, "rms_norm_eps": 1e-06, "tie_word_embeddings": true,
      "max_position_embeddings": 128000, "bos_token_id": 151643, "eos_token_id": 151645,
      "dtype": "bfloat16",
      "rope_parameters": {"rope_type": "default", "rope_theta": 1000000.0,
                          "mrope_section": [16, 24, 24]}},
    "vision_config": {"depth": 32, "hidden_size": 1280, "intermediate_size": 3420,
      "num_heads": 16, "in_channels": 3, "out_hidden_size": 2048, "patch_size": 14,
      "spatial_merge_size": 2, "temporal_patch_size": 2, "window_size": 112,
      "fullatt_block_indexes": [7, 15, 23, 31], "tokens_per_second": 2, "hidden_act": "silu"}
  })");
}

ModelConfig parse(const nlohmann::json& doc) { return parse_model_config(doc.dump(), "cfg.json"); }

void expect_config_error(const nlohmann::json& doc, std::initializer_list<std::string> parts,
                         ErrorCode code = ErrorCode::InvalidModel) {
  expect_error([&] { parse(doc); }, code, parts);
}

TEST(ModelConfig, NestedLayoutReadsTextConfigAndRopeParameters) {
  ModelConfig config = parse(nested_5x_3b());
  EXPECT_EQ(config.family, ModelFamily::Qwen2_5VL);
  EXPECT_EQ(config.text.hidden_size, 2048);
  EXPECT_EQ(config.text.num_hidden_layers, 36);
  EXPECT_EQ(config.text.num_key_value_heads, 2);
  EXPECT_EQ(config.text.head_dim, 128);
  EXPECT_EQ(config.text.vocab_size, 151936);
  EXPECT_TRUE(config.text.tie_word_embeddings);
  EXPECT_FLOAT_EQ(config.text.rms_norm_eps, 1e-6f);
  EXPECT_DOUBLE_EQ(config.text.rope_theta, 1e6);
  EXPECT_EQ(config.text.mrope_section, (std::array<int, 3>{16, 24, 24}));
  EXPECT_EQ(config.eos_token_ids, (std::vector<int32_t>{151645}));
  EXPECT_EQ(config.vision.out_hidden_size, 2048);
  EXPECT_FLOAT_EQ(config.vision.tokens_per_second, 2.0f);
  EXPECT_EQ(config.vision.window_merged(), 4);  // 112 / 2 / 14
  EXPECT_EQ(config.torch_dtype, "bfloat16");
}

TEST(ModelConfig, NestedTextDiffTakesTextClassDefaults) {
  nlohmann::json doc = nested_5x_3b();
  doc["text_config"].erase("rms_norm_eps");
  doc["text_config"].erase("max_position_embeddings");
  doc["text_config"]["rope_parameters"].erase("rope_theta");
  ModelConfig config = parse(doc);
  EXPECT_FLOAT_EQ(config.text.rms_norm_eps, 1e-5f);  // the class default, not the checkpoint 1e-6
  EXPECT_EQ(config.text.max_position_embeddings, 32768);
  EXPECT_DOUBLE_EQ(config.text.rope_theta, 1e6);
}

TEST(ModelConfig, RopeThetaPriorityRopeParametersFirst) {
  nlohmann::json doc = nested_5x_3b();
  doc["text_config"]["rope_parameters"]["rope_theta"] = 5e5;
  EXPECT_DOUBLE_EQ(parse(doc).text.rope_theta, 5e5);
  doc["text_config"]["rope_parameters"].erase("rope_theta");
  doc["rope_theta"] = 2e5;
  EXPECT_DOUBLE_EQ(parse(doc).text.rope_theta, 2e5);
}

TEST(ModelConfig, MissingDefaultsAreLoggedNotSilent) {
  std::vector<std::string> messages;
  set_log_level(LogLevel::Debug);
  set_log_callback([&](LogLevel, std::string_view text) { messages.emplace_back(text); });
  nlohmann::json doc = nested_5x_3b();
  doc["vision_config"].erase("tokens_per_second");
  doc["vision_config"].erase("depth");
  parse(doc);
  set_log_callback(nullptr);
  set_log_level(LogLevel::Info);
  std::string all;
  for (const std::string& message : messages) all += message + "\n";
  EXPECT_NE(all.find("vision_config.tokens_per_second=4"), std::string::npos) << all;
  EXPECT_NE(all.find("vision_config.depth=32"), std::string::npos) << all;
}

TEST(ModelConfig, EosTokenIdMayBeAList) {
  nlohmann::json doc = nested_5x_3b();
  doc["text_config"]["eos_token_id"] = {151645, 151643};
  EXPECT_EQ(parse(doc).eos_token_ids, (std::vector<int32_t>{151645, 151643}));
  doc["text_config"]["eos_token_id"] = nlohmann::json::array();
  expect_config_error(doc, {"text_config.eos_token_id", "empty"});
}

TEST(ModelConfig, NullKeyValueHeadsMeansOnePerHead) {
  nlohmann::json doc = nested_5x_3b();
  doc["text_config"]["num_key_value_heads"] = nullptr;  // HF: None -> num_attention_heads
  EXPECT_EQ(parse(doc).text.num_key_value_heads, 16);
}

TEST(ModelConfig, JsonSyntaxErrorNamesFileAndPosition) {
  expect_error([] { parse_model_config("{\n  \"model_type\": \"qwen2_5_vl\",\n  oops\n}", "x/config.json"); },
               ErrorCode::InvalidModel, {"x/config.json", "JSON syntax error", "line 3"});
}

TEST(ModelConfig, DuplicateKeyRefused) {
  expect_error([] { parse_model_config(R"({"model_type":"qwen2_5_vl","hidden_size":1,"hidden_size":2})"); },
               ErrorCode::InvalidModel, {"config.json", "duplicate key 'hidden_size'"});
}

TEST(ModelConfig, MissingOrUnknownModelTypeRefused) {
  nlohmann::json doc = nested_5x_3b();
  doc.erase("model_type");
  expect_config_error(doc, {"cfg.json", "missing field 'model_type'"});
  doc["model_type"] = "qwen3_vl";
  expect_config_error(doc, {"'model_type'", "qwen3_vl"}, ErrorCode::Unsupported);
}

TEST(ModelConfig, WrongTypeNamesField) {
  nlohmann::json doc = nested_5x_3b();
  doc["vision_config"]["depth"] = "32";
  expect_config_error(doc, {"cfg.json", "'vision_config.depth' must be an integer"});
}

TEST(ModelConfig, InconsistentDuplicatedTextFieldRefused) {
  nlohmann::json doc = nested_5x_3b();
  doc["hidden_size"] = 3584;  // hybrid layout whose flat copy disagrees with text_config
  expect_config_error(doc, {"inconsistent", "text_config.hidden_size", "2048", "3584"});
}

TEST(ModelConfig, InconsistentMropeSectionsRefused) {
  nlohmann::json doc = nested_5x_3b();
  doc["rope_scaling"] = {{"type", "mrope"}, {"mrope_section", {24, 20, 20}}};
  expect_config_error(doc, {"inconsistent", "text_config.rope_parameters.mrope_section",
                            "rope_scaling.mrope_section"});
}

TEST(ModelConfig, YarnAndDynamicRopeRefusedNamingField) {
  nlohmann::json doc = nested_5x_3b();
  doc["text_config"]["rope_parameters"]["rope_type"] = "yarn";
  expect_config_error(doc, {"text_config.rope_parameters.rope_type", "yarn"}, ErrorCode::Unsupported);
  nlohmann::json flat = read_json(fixture_dir() / "official_3b.json");
  flat["rope_scaling"]["type"] = "dynamic";
  expect_config_error(flat, {"'rope_scaling.type'", "dynamic"}, ErrorCode::Unsupported);
}

TEST(ModelConfig, MissingMropeSectionRefused) {
  nlohmann::json doc = nested_5x_3b();
  doc["text_config"]["rope_parameters"].erase("mrope_section");
  expect_config_error(doc, {"missing field 'rope_scaling.mrope_section'"});
}

TEST(ModelConfig, MropeSectionMustSumToHalfHeadDim) {
  nlohmann::json doc = nested_5x_3b();
  doc["text_config"]["rope_parameters"]["mrope_section"] = {16, 24, 16};
  expect_config_error(doc, {"text_config.rope_parameters.mrope_section", "sums to 56", "128"});
  doc["text_config"]["rope_parameters"]["mrope_section"] = {32, 32};
  expect_config_error(doc, {"must have 3 entries"});
}

TEST(ModelConfig, HiddenSizeMustDivideByHeads) {
  nlohmann::json doc = nested_5x_3b();
  doc["text_config"]["num_attention_heads"] = 15;
  expect_config_error(doc, {"'text_config.hidden_size' = 2048", "not divisible",
                            "'text_config.num_attention_heads' = 15"});
}

TEST(ModelConfig, HeadsMustDivideByKeyValueHeads) {
  nlohmann::json doc = nested_5x_3b();
  doc["text_config"]["num_key_value_heads"] = 3;
  expect_config_error(doc, {"'text_config.num_attention_heads' = 16", "not divisible",
                            "'text_config.num_key_value_heads' = 3"});
}

TEST(ModelConfig, SizesMustBePositive) {
  nlohmann::json doc = nested_5x_3b();
  doc["text_config"]["num_hidden_layers"] = 0;
  expect_config_error(doc, {"'text_config.num_hidden_layers' = 0 must be positive"});
  doc = nested_5x_3b();
  doc["vision_config"]["depth"] = -2;
  expect_config_error(doc, {"'vision_config.depth' = -2 must be positive"});
}

TEST(ModelConfig, DeclaredHeadDimMustAgree) {
  nlohmann::json doc = nested_5x_3b();
  doc["text_config"]["head_dim"] = 64;
  expect_config_error(doc, {"'text_config.head_dim' = 64", "128"});
}

TEST(ModelConfig, VisionHiddenMustDivideByHeads) {
  nlohmann::json doc = nested_5x_3b();
  doc["vision_config"]["num_heads"] = 12;
  expect_config_error(doc, {"'vision_config.hidden_size' = 1280", "not divisible",
                            "'vision_config.num_heads' = 12"});
}

TEST(ModelConfig, FullAttentionIndexMustBeBelowDepth) {
  nlohmann::json doc = nested_5x_3b();
  doc["vision_config"]["fullatt_block_indexes"] = {7, 15, 23, 32};
  expect_config_error(doc, {"vision_config.fullatt_block_indexes[3]", "32", "depth = 32"});
}

TEST(ModelConfig, WindowSizeMustBeMultipleOfMergedPatch) {
  nlohmann::json doc = nested_5x_3b();
  doc["vision_config"]["window_size"] = 100;
  expect_config_error(doc, {"'vision_config.window_size' = 100", "multiple of", "28"});
}

TEST(ModelConfig, OutHiddenSizeMustEqualTextHidden) {
  nlohmann::json doc = nested_5x_3b();
  doc["vision_config"]["out_hidden_size"] = 3584;
  expect_config_error(doc, {"'vision_config.out_hidden_size' = 3584", "text_config.hidden_size",
                            "2048"});
  doc = nested_5x_3b();
  doc["vision_config"].erase("out_hidden_size");  // class default 3584 != 2048: caught, not used
  expect_config_error(doc, {"vision_config.out_hidden_size (class default)", "3584"});
}

TEST(ModelConfig, LegacyAliasesMustAgree) {
  nlohmann::json doc = nested_5x_3b();
  doc["vision_config"]["in_chans"] = 4;
  expect_config_error(doc, {"inconsistent", "vision_config.in_channels", "vision_config.in_chans"});
  doc = nested_5x_3b();
  doc["vision_config"]["spatial_patch_size"] = 16;
  expect_config_error(doc, {"inconsistent", "vision_config.patch_size", "spatial_patch_size"});
}

TEST(ModelConfig, TokenIdsMustBeInsideVocabulary) {
  nlohmann::json doc = nested_5x_3b();
  doc["image_token_id"] = 151936;
  expect_config_error(doc, {"'image_token_id' = 151936", "outside the vocabulary"});
}

TEST(ModelConfig, UnsupportedActivationsRefused) {
  nlohmann::json doc = nested_5x_3b();
  doc["vision_config"]["hidden_act"] = "gelu";
  expect_config_error(doc, {"vision_config.hidden_act", "gelu"}, ErrorCode::Unsupported);
  doc = nested_5x_3b();
  doc["text_config"]["hidden_act"] = "relu";
  expect_config_error(doc, {"text_config.hidden_act", "relu"}, ErrorCode::Unsupported);
}

TEST(ModelConfig, Qwen2VlMlpRatioGivesIntermediateSize) {
  nlohmann::json doc = read_json(fixture_dir() / "qwen2vl_2b.json");
  doc["vision_config"]["mlp_ratio"] = 2.5;
  EXPECT_EQ(parse(doc).vision.intermediate_size, 3200);  // int(1280 * 2.5)
  doc["vision_config"]["hidden_size"] = 2048;  // merger output != LLM hidden 1536
  expect_config_error(doc, {"'vision_config.hidden_size' = 2048", "1536"});
}

TEST(ModelConfig, LoadReportsMissingFile) {
  expect_error([] { load_model_config("/nonexistent/dir/config.json"); }, ErrorCode::NotFound,
               {"/nonexistent/dir/config.json"});
}

}  // namespace
}  // namespace vlm
