// Runs a shell command for the CLI tests (the vlm CLI run as users run it) and returns its exit
// status and what it wrote to its standard output (redirect inside the command to capture stderr).
// Header-only, shared by tests/unit/cli and tests/unit/tokenizer.
#pragma once

#include <sys/wait.h>

#include <cstdio>
#include <string>

namespace vlm_test {

struct CommandRun {
  int status = -1;  // the exit status; -1 when the command could not start or did not exit
  std::string output;
};

inline CommandRun run_command(const std::string& command) {
  CommandRun run;
  FILE* pipe = popen(command.c_str(), "r");
  if (pipe == nullptr) return run;
  char buffer[4096];
  size_t count = 0;
  while ((count = fread(buffer, 1, sizeof buffer, pipe)) > 0) run.output.append(buffer, count);
  const int status = pclose(pipe);
  run.status = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return run;
}

}  // namespace vlm_test
