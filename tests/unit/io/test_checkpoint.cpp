// Checkpoint folder tests: single file and sharded index, both tensor-name families of spec §2.2,
// tied embeddings, and the refusals (escaping shard paths, tensors present twice, index entries
// pointing at the wrong shard). Folders are built with SafetensorsWriter in a temporary directory.
#include <gtest/gtest.h>

#include <cstring>
#include <fstream>

#include "io_test_util.h"
#include "vlm/checkpoint.h"

namespace vlm {
namespace {

using test::expect_error;

// Writes `names` as small F32 tensors [2] whose values are (i, i + 0.5), i = position in `names`
// plus `first_value`.
void write_shard(const std::filesystem::path& path, const std::vector<std::string>& names,
                 int first_value = 0) {
  SafetensorsWriter writer;
  for (size_t i = 0; i < names.size(); ++i) {
    float values[2] = {static_cast<float>(first_value + static_cast<int>(i)),
                       static_cast<float>(first_value + static_cast<int>(i)) + 0.5f};
    writer.add(names[i], DType::F32, {2}, values);
  }
  writer.write(path);
}

float first_value(const Tensor& tensor) { return tensor.data_as<float>()[0]; }

void write_index(const std::filesystem::path& dir, const std::string& weight_map_json) {
  test::write_file(dir / "model.safetensors.index.json",
                   R"({"metadata": {"total_size": 0}, "weight_map": )" + weight_map_json + "}");
}

TEST(Checkpoint, CanonicalNameMapsNewFamilyToOriginal) {
  EXPECT_EQ(Checkpoint::canonical_name("model.visual.blocks.0.attn.qkv.weight"),
            "visual.blocks.0.attn.qkv.weight");
  EXPECT_EQ(Checkpoint::canonical_name("model.language_model.layers.3.mlp.up_proj.weight"),
            "model.layers.3.mlp.up_proj.weight");
  EXPECT_EQ(Checkpoint::canonical_name("model.language_model.embed_tokens.weight"),
            "model.embed_tokens.weight");
  EXPECT_EQ(Checkpoint::canonical_name("visual.merger.ln_q.weight"), "visual.merger.ln_q.weight");
  EXPECT_EQ(Checkpoint::canonical_name("model.norm.weight"), "model.norm.weight");
  EXPECT_EQ(Checkpoint::canonical_name("lm_head.weight"), "lm_head.weight");
}

TEST(Checkpoint, SingleFileWithOriginalNames) {
  test::TempDir dir;
  write_shard(dir / "model.safetensors",
              {"visual.patch_embed.proj.weight", "model.embed_tokens.weight", "lm_head.weight"});
  Checkpoint checkpoint = Checkpoint::open(dir.path());
  EXPECT_EQ(checkpoint.names(), (std::vector<std::string>{"lm_head.weight",
                                                           "model.embed_tokens.weight",
                                                           "visual.patch_embed.proj.weight"}));
  EXPECT_EQ(first_value(checkpoint.tensor("lm_head.weight")), 2.0f);
  EXPECT_EQ(checkpoint.total_bytes(), 3u * 2u * 4u);
  EXPECT_EQ(checkpoint.dir(), dir.path());
}

TEST(Checkpoint, NewNameFamilyIsServedUnderCanonicalNames) {
  test::TempDir dir;
  write_shard(dir / "model.safetensors",
              {"model.visual.blocks.0.norm1.weight", "model.language_model.layers.0.input_layernorm.weight",
               "model.language_model.embed_tokens.weight", "lm_head.weight"});
  Checkpoint checkpoint = Checkpoint::open(dir.path());
  EXPECT_TRUE(checkpoint.contains("visual.blocks.0.norm1.weight"));
  EXPECT_TRUE(checkpoint.contains("model.layers.0.input_layernorm.weight"));
  EXPECT_FALSE(checkpoint.contains("model.visual.blocks.0.norm1.weight"));
  EXPECT_EQ(first_value(checkpoint.tensor("model.embed_tokens.weight")), 2.0f);
  EXPECT_EQ(checkpoint.info("visual.blocks.0.norm1.weight").name, "model.visual.blocks.0.norm1.weight");
}

TEST(Checkpoint, SameTensorUnderBothFamiliesRefused) {
  test::TempDir dir;
  write_shard(dir / "model.safetensors", {"visual.merger.ln_q.weight", "model.visual.merger.ln_q.weight"});
  expect_error([&] { Checkpoint::open(dir.path()); }, ErrorCode::InvalidModel,
               {"'visual.merger.ln_q.weight' appears twice", "model.visual.merger.ln_q.weight"});
}

TEST(Checkpoint, ShardedIndexOpensEveryShard) {
  test::TempDir dir;
  write_shard(dir / "model-00001-of-00002.safetensors", {"visual.a", "model.b"}, 10);
  std::filesystem::create_directories(dir / "sub");
  write_shard(dir / "sub/model-00002-of-00002.safetensors", {"model.c", "lm_head.weight"}, 20);
  write_index(dir.path(), R"({"visual.a": "model-00001-of-00002.safetensors",
      "model.b": "model-00001-of-00002.safetensors", "model.c": "sub/model-00002-of-00002.safetensors",
      "lm_head.weight": "sub/model-00002-of-00002.safetensors"})");
  Checkpoint checkpoint = Checkpoint::open(dir.path());
  EXPECT_EQ(checkpoint.names().size(), 4u);
  EXPECT_EQ(first_value(checkpoint.tensor("model.b")), 11.0f);
  EXPECT_EQ(first_value(checkpoint.tensor("lm_head.weight")), 21.0f);
  EXPECT_EQ(checkpoint.tensor("model.c", {2}).shape(), (std::vector<int64_t>{2}));
  expect_error([&] { checkpoint.tensor("model.c", {1, 2}); }, ErrorCode::InvalidModel,
               {"'model.c'", "[2]", "expected [1, 2]"});
  expect_error([&] { checkpoint.tensor("model.missing"); }, ErrorCode::NotFound, {"'model.missing'"});
}

TEST(Checkpoint, SingleFileIsPreferredOverIndexLikeTransformers) {
  test::TempDir dir;
  write_shard(dir / "model.safetensors", {"model.single"});
  write_shard(dir / "shard.safetensors", {"model.sharded"});
  write_index(dir.path(), R"({"model.sharded": "shard.safetensors"})");
  Checkpoint checkpoint = Checkpoint::open(dir.path());
  EXPECT_TRUE(checkpoint.contains("model.single"));
  EXPECT_FALSE(checkpoint.contains("model.sharded"));
}

TEST(Checkpoint, IndexEntryPointingAtWrongShardRefused) {
  test::TempDir dir;
  write_shard(dir / "a.safetensors", {"model.x"});
  write_shard(dir / "b.safetensors", {"model.y"});
  write_index(dir.path(), R"({"model.x": "b.safetensors", "model.y": "b.safetensors"})");
  // a.safetensors is not referenced, so model.x is nowhere the index says.
  expect_error([&] { Checkpoint::open(dir.path()); }, ErrorCode::InvalidModel,
               {"'model.x'", "'b.safetensors'", "does not contain it"});
}

TEST(Checkpoint, TensorInTwoShardsRefused) {
  test::TempDir dir;
  write_shard(dir / "a.safetensors", {"model.x", "model.y"});
  write_shard(dir / "b.safetensors", {"model.language_model.y"});
  write_index(dir.path(), R"({"model.x": "a.safetensors", "model.language_model.y": "b.safetensors"})");
  expect_error([&] { Checkpoint::open(dir.path()); }, ErrorCode::InvalidModel,
               {"'model.y' appears twice", "a.safetensors", "b.safetensors"});
}

TEST(Checkpoint, IndexWithoutWeightMapRefused) {
  test::TempDir dir;
  test::write_file(dir / "model.safetensors.index.json", R"({"metadata": {}})");
  expect_error([&] { Checkpoint::open(dir.path()); }, ErrorCode::InvalidModel,
               {"model.safetensors.index.json", "'weight_map'"});
}

TEST(Checkpoint, ShardPathLeavingFolderRefused) {
  test::TempDir outer;
  std::filesystem::create_directories(outer / "model");
  const std::filesystem::path dir = outer / "model";
  write_shard(outer / "evil.safetensors", {"model.x"});
  write_shard(dir / "ok.safetensors", {"model.y"});

  write_index(dir, R"({"model.x": "../evil.safetensors"})");
  expect_error([&] { Checkpoint::open(dir); }, ErrorCode::InvalidModel, {"'../evil.safetensors'", "'..'"});
  write_index(dir, R"({"model.x": "sub/../../evil.safetensors"})");
  expect_error([&] { Checkpoint::open(dir); }, ErrorCode::InvalidModel, {"'..'"});
  write_index(dir, "{\"model.x\": \"" + (outer / "evil.safetensors").string() + "\"}");
  expect_error([&] { Checkpoint::open(dir); }, ErrorCode::InvalidModel, {"is absolute"});
  // A symlink inside the folder that points outside it.
  std::filesystem::create_symlink(outer / "evil.safetensors", dir / "link.safetensors");
  write_index(dir, R"({"model.x": "link.safetensors"})");
  expect_error([&] { Checkpoint::open(dir); }, ErrorCode::InvalidModel,
               {"'link.safetensors'", "outside the model folder"});
  // A symlinked directory that escapes too.
  std::filesystem::create_directory_symlink(outer.path(), dir / "up");
  write_index(dir, R"({"model.x": "up/evil.safetensors"})");
  expect_error([&] { Checkpoint::open(dir); }, ErrorCode::InvalidModel, {"outside the model folder"});
  // A plain name inside the folder is accepted.
  write_index(dir, R"({"model.y": "ok.safetensors"})");
  EXPECT_TRUE(Checkpoint::open(dir).contains("model.y"));
}

TEST(Checkpoint, TiedEmbeddingsResolveLmHeadToEmbedTokens) {
  test::TempDir dir;
  write_shard(dir / "model.safetensors", {"model.norm.weight", "model.language_model.embed_tokens.weight"});
  // Not tied (no config.json): lm_head is simply absent.
  EXPECT_FALSE(Checkpoint::open(dir.path()).contains("lm_head.weight"));
  test::write_file(dir / "config.json", R"({"model_type": "qwen2_5_vl", "tie_word_embeddings": true})");
  Checkpoint tied = Checkpoint::open(dir.path());
  ASSERT_TRUE(tied.contains("lm_head.weight"));
  EXPECT_EQ(tied.tensor("lm_head.weight").data(), tied.tensor("model.embed_tokens.weight").data());
  EXPECT_EQ(first_value(tied.tensor("lm_head.weight")), 1.0f);
  // total_bytes counts the shared tensor once.
  EXPECT_EQ(tied.total_bytes(), 2u * 2u * 4u);
}

TEST(Checkpoint, TiedFlagInTextConfigWinsOverSavedLmHead) {
  test::TempDir dir;
  write_shard(dir / "model.safetensors", {"model.embed_tokens.weight", "lm_head.weight"});
  test::write_file(dir / "config.json",
                   R"({"model_type": "qwen2_5_vl", "text_config": {"tie_word_embeddings": true}})");
  Checkpoint tied = Checkpoint::open(dir.path());
  // Tied: lm_head IS embed_tokens, the saved lm_head is not used.
  EXPECT_EQ(first_value(tied.tensor("lm_head.weight")), 0.0f);
  test::write_file(dir / "config.json", R"({"model_type": "qwen2_5_vl", "tie_word_embeddings": false})");
  EXPECT_EQ(first_value(Checkpoint::open(dir.path()).tensor("lm_head.weight")), 1.0f);
}

TEST(Checkpoint, TiedWithoutEmbeddingRefused) {
  test::TempDir dir;
  write_shard(dir / "model.safetensors", {"model.norm.weight"});
  test::write_file(dir / "config.json", R"({"tie_word_embeddings": true})");
  expect_error([&] { Checkpoint::open(dir.path()); }, ErrorCode::InvalidModel,
               {"tie_word_embeddings", "model.embed_tokens.weight"});
}

TEST(Checkpoint, MissingFolderOrFilesIsNotFound) {
  test::TempDir dir;
  expect_error([&] { Checkpoint::open(dir / "nope"); }, ErrorCode::NotFound, {"nope"});
  expect_error([&] { Checkpoint::open(dir.path()); }, ErrorCode::NotFound,
               {"model.safetensors", "model.safetensors.index.json"});
}

}  // namespace
}  // namespace vlm
