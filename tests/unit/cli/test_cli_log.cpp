// The vlm CLI shows libvlm's log on standard error (examples/vlm/cli_log.h): a note the library
// logs while loading a checkpoint without generation_config.json appears with VLM_LOG_LEVEL=info,
// not at the default level (warning), and an unknown level is a usage error (exit 2).
#include <gtest/gtest.h>

#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <string>

#include "../run_command.h"

namespace {

namespace fs = std::filesystem;

// Runs `vlm describe` on `model` with `env` ("" or NAME=value); its output is the CLI's standard
// error (standard output is dropped).
vlm_test::CommandRun describe(const fs::path& model, const std::string& env) {
  const char* cli = std::getenv("VLM_CLI");
  std::string command = env.empty() ? "" : "env " + env + " ";
  command += "'";
  command += cli != nullptr ? cli : "vlm";
  command += "' describe --model '";
  command += model.string();
  command += "' --prompt hi --max-new-tokens 1 --greedy 2>&1 >/dev/null";
  return vlm_test::run_command(command);
}

class CliLog : public ::testing::Test {
 protected:
  void SetUp() override {
    const char* fixtures = std::getenv("VLM_FIXTURES");
    ASSERT_NE(fixtures, nullptr);
    model_ = fs::temp_directory_path() / ("vlm_cli_log_" + std::to_string(::getpid()));
    fs::remove_all(model_);
    fs::copy(fs::path(fixtures) / "models" / "tiny-a", model_);
    ASSERT_TRUE(fs::remove(model_ / "generation_config.json"));
  }
  void TearDown() override { fs::remove_all(model_); }
  fs::path model_;
};

TEST_F(CliLog, LibraryNotesReachStandardErrorAtTheLevelAsked) {
  const vlm_test::CommandRun info = describe(model_, "VLM_LOG_LEVEL=info");
  EXPECT_EQ(info.status, 0) << info.output;
  EXPECT_NE(info.output.find("vlm: info: "), std::string::npos) << info.output;
  EXPECT_NE(info.output.find("generation_config.json not found"), std::string::npos) << info.output;

  const vlm_test::CommandRun quiet = describe(model_, "");
  EXPECT_EQ(quiet.status, 0) << quiet.output;
  EXPECT_EQ(quiet.output.find("vlm: info: "), std::string::npos) << quiet.output;
}

TEST_F(CliLog, UnknownLevelIsAUsageError) {
  const vlm_test::CommandRun run = describe(model_, "VLM_LOG_LEVEL=loud");
  EXPECT_EQ(run.status, 2);
  EXPECT_NE(run.output.find("VLM_LOG_LEVEL=loud: expected debug, info, warning or error"), std::string::npos)
      << run.output;
}

}  // namespace
