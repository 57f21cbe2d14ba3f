// The vlm command-line tool: dispatches to one subcommand per file (cmd_<name>.cpp), with libvlm's
// log on standard error (cli_log.h).
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include "cli_log.h"
#include "commands.h"

namespace {

struct Command {
  const char* name;
  int (*run)(int argc, char** argv);
  const char* summary;
};

const std::vector<Command> kCommands = {
    // Subcommands register here.
    {"describe", vlm_cli::run_describe, "answer a prompt about images, a video or frames"},
    {"inspect", vlm_cli::run_inspect, "summarise a checkpoint: architecture, parameters, memory"},
    {"bench", vlm_cli::run_bench, "measure vision, prefill and decode speed on synthetic inputs"},
    {"make-checkpoint", vlm_cli::run_make_checkpoint, "write a random-weight checkpoint of a real shape (3b, 7b)"},
    {"localize", vlm_cli::run_localize, "find when queried events happen in a long video file"},
    {"eval-localize", vlm_cli::run_eval_localize, "score localize results against ground truth (R@1, mIoU)"},
    {"tokenize", vlm_cli::run_tokenize, "encode stdin to token ids, or --decode ids to text"},
};

void print_usage() {
  std::fprintf(stderr, "usage: vlm <command> [options]\n\ncommands:\n");
  for (const Command& command : kCommands) std::fprintf(stderr, "  %-12s %s\n", command.name, command.summary);
  std::fprintf(stderr, "\nvlm <command> --help shows a command's options.\n");
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2 || std::strcmp(argv[1], "--help") == 0 || std::strcmp(argv[1], "-h") == 0) {
    print_usage();
    return argc < 2 ? 2 : 0;
  }
  if (!vlm_cli::install_log_sink()) return 2;
  for (const Command& command : kCommands) {
    if (std::strcmp(argv[1], command.name) == 0) return command.run(argc - 1, argv + 1);
  }
  std::fprintf(stderr, "vlm: unknown command '%s'\n", argv[1]);
  print_usage();
  return 2;
}
