// Runs the built `vlm tokenize` binary (VLM_CLI) on corpus texts and checks its output against
// the reference ids and decoded text of corpus.json.
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>

#include "../run_command.h"
#include "tokenizer_fixtures.h"

namespace {

// Runs `vlm tokenize --tokenizer <qwen> <extra>` with `input` on stdin (through a temp file).
vlm_test::CommandRun run_cli(const std::string& extra, const std::string& input) {
  const auto dir = std::filesystem::temp_directory_path();
  // Strings built by appends: GCC 12 -O3 warns falsely (-Wrestrict) on "literal" + std::string.
  std::string name = "vlm_tokenize_in_";
  name += std::to_string(::testing::UnitTest::GetInstance()->random_seed());
  name += '_';
  name += std::to_string(reinterpret_cast<uintptr_t>(&input));
  const auto input_path = dir / name;
  {
    std::ofstream file(input_path, std::ios::binary);
    file << input;
  }
  std::string command = "'";
  command += vlm_test::env_or_empty("VLM_CLI");
  command += "' tokenize --tokenizer '";
  command += vlm_test::env_or_empty("VLM_QWEN_TOKENIZER");
  command += "' " + extra + " < '";
  command += input_path.string();
  command += "'";
  vlm_test::CommandRun result = vlm_test::run_command(command);
  std::filesystem::remove(input_path);
  return result;
}

const nlohmann::json& corpus_case(const std::string& name) {
  static const auto corpus = vlm_test::load_fixture("corpus.json");
  for (const auto& entry : corpus["cases"]) {
    if (entry["name"] == name) return entry;
  }
  throw std::runtime_error("no corpus case " + name);
}

TEST(VlmTokenizeCli, EncodePrintsReferenceIds) {
  for (const char* name : {"special_inside_text", "emoji_zwj"}) {
    const auto& entry = corpus_case(name);
    const vlm_test::CommandRun result = run_cli("", entry["text"].get<std::string>());
    ASSERT_EQ(result.status, 0) << name;
    const auto parsed = nlohmann::json::parse(result.output);
    EXPECT_EQ(vlm_test::ids_of(parsed["ids"]), vlm_test::ids_of(entry["ids"])) << name;
  }
}

TEST(VlmTokenizeCli, DecodeAcceptsPlainAndJsonIds) {
  const auto& entry = corpus_case("special_inside_text");
  const std::vector<int32_t> ids = vlm_test::ids_of(entry["ids"]);
  std::string plain;
  for (int32_t id : ids) plain += std::to_string(id) + " ";
  const vlm_test::CommandRun from_plain = run_cli("--decode", plain);
  const vlm_test::CommandRun skipping = run_cli("--decode --skip-special", nlohmann::json{{"ids", ids}}.dump());
  ASSERT_EQ(from_plain.status, 0);
  EXPECT_EQ(from_plain.output, entry["decode"].get<std::string>());
  EXPECT_EQ(skipping.output, entry["decode_skip_special"].get<std::string>());
}

TEST(VlmTokenizeCli, BadInputGivesUsageError) {
  const vlm_test::CommandRun result = run_cli("--decode", "12 potato");
  EXPECT_EQ(result.status, 2);
  const vlm_test::CommandRun missing = run_cli("--no-such-option", "x");
  EXPECT_EQ(missing.status, 2);
}

}  // namespace
