// Entry points of the vlm subcommands; each returns the process exit code (0 ok, 1 failure,
// 2 usage error) and catches vlm::Error itself so main() stays a dispatcher.
#pragma once

namespace vlm_cli {

int run_tokenize(int argc, char** argv);  // cmd_tokenize.cpp
}  // namespace vlm_cli
