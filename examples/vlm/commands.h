// Entry points of the vlm subcommands; each returns the process exit code (0 ok, 1 failure,
// 2 usage error) and catches vlm::Error itself so main() stays a dispatcher.
#pragma once

namespace vlm_cli {

int run_tokenize(int argc, char** argv);  // cmd_tokenize.cpp
int run_describe(int argc, char** argv);  // cmd_describe.cpp
int run_inspect(int argc, char** argv);  // cmd_inspect.cpp
int run_bench(int argc, char** argv);  // cmd_bench.cpp
int run_make_checkpoint(int argc, char** argv);  // cmd_make_checkpoint.cpp
int run_localize(int argc, char** argv);  // cmd_localize.cpp
int run_eval_localize(int argc, char** argv);  // cmd_eval_localize.cpp
}  // namespace vlm_cli
