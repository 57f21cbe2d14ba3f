// The vlm CLI shows libvlm's log on standard error (examples/vlm/cli_log.h): a note the library
// logs while loading a checkpoint without generation_config.json appears with VLM_LOG_LEVEL=info,
// not at the default level (warning), and an unknown level is a usage error (exit 2).
#include <gtest/gtest.h>

#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>

namespace {

namespace fs = std::filesystem;

struct CliRun {
  int status = -1;
  std::string err;
};

// Runs `vlm describe` on `model` with `env` ("" or NAME=value) and returns its exit status and
// standard error (standard output is dropped).
CliRun describe(const fs::path& model, const std::string& env) {
  const char* cli = std::getenv("VLM_CLI");
  std::string command = env.empty() ? "" : "env " + env + " ";
  command += "'";
  command += cli != nullptr ? cli : "vlm";
  command += "' describe --model '";
  command += model.string();
  command += "' --prompt hi --max-new-tokens 1 --greedy 2>&1 >/dev/null";
  CliRun run;
  FILE* pipe = popen(command.c_str(), "r");
  if (pipe == nullptr) return run;
  char buffer[4096];
  size_t count = 0;
  while ((count = fread(buffer, 1, sizeof buffer, pipe)) > 0) run.err.append(buffer, count);
  const int status = pclose(pipe);
  run.status = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return run;
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
  const CliRun info = describe(model_, "VLM_LOG_LEVEL=info");
  EXPECT_EQ(info.status, 0) << info.err;
  EXPECT_NE(info.err.find("vlm: info: "), std::string::npos) << info.err;
  EXPECT_NE(info.err.find("generation_config.json not found"), std::string::npos) << info.err;

  const CliRun quiet = describe(model_, "");
  EXPECT_EQ(quiet.status, 0) << quiet.err;
  EXPECT_EQ(quiet.err.find("vlm: info: "), std::string::npos) << quiet.err;
}

TEST_F(CliLog, UnknownLevelIsAUsageError) {
  const CliRun run = describe(model_, "VLM_LOG_LEVEL=loud");
  EXPECT_EQ(run.status, 2);
  EXPECT_NE(run.err.find("VLM_LOG_LEVEL=loud: expected debug, info, warning or error"), std::string::npos)
      << run.err;
}

}  // namespace
