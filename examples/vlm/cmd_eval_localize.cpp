// `vlm eval-localize`: scores `vlm localize` result files against ground-truth spans
// (Charades-STA / ActivityNet-Captions JSON, a list of {query, start, end}, or Charades-STA text) with the figures
// temporal-grounding papers report: R@1 at IoU 0.3 / 0.5 / 0.7 and mean IoU, as JSON on stdout.
#include <cstdio>
#include <fstream>
#include <iostream>
#include <sstream>

#include <nlohmann/json.hpp>

#include "args.h"
#include "commands.h"
#include "vlm/error.h"
#include "vlm/localize.h"

namespace vlm_cli {
namespace {

const char kUsage[] =
    "usage: vlm eval-localize --result events.json [--result more.json...] --truth TRUTH\n"
    "  TRUTH: Charades-STA / ActivityNet-Captions JSON ({video: {timestamps, sentences}}), a JSON\n"
    "  list of {video?, query, start, end}, or Charades-STA text ('VIDEO START END##SENTENCE').\n"
    "  Each truth item is matched to the top span of the result query with the same text (and\n"
    "  the same video file stem when both name one); unanswered items count as IoU 0.\n";

std::string read_text(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  VLM_CHECK(in.good(), NotFound, "cannot read " << path);
  std::stringstream buffer;
  buffer << in.rdbuf();
  return buffer.str();
}

}  // namespace

int run_eval_localize(int argc, char** argv) {
  try {
    Args args(argc, argv, {"result", "truth"}, {"help"});
    if (args.flag("help")) {
      std::fputs(kUsage, stdout);
      return 0;
    }
    std::vector<std::string> result_paths = args.all("result");
    if (result_paths.empty()) throw UsageError("give at least one --result");
    std::string truth_path = args.require("truth");
    std::vector<vlm::LocalizeResult> results;
    std::vector<std::string> videos;
    for (const std::string& path : result_paths) {
      std::string text = read_text(path);
      try {
        results.push_back(vlm::parse_localize_result_json(text));
      } catch (const vlm::Error& e) {
        VLM_THROW(InvalidInput, path << ": " << e.message());
      }
      nlohmann::json j = nlohmann::json::parse(text, nullptr, false);
      videos.push_back(j.is_object() ? j.value("video", std::string()) : std::string());
    }
    std::vector<vlm::TruthSpan> truth;
    try {
      truth = vlm::parse_truth_json(read_text(truth_path));
    } catch (const vlm::Error& e) {
      VLM_THROW(InvalidInput, truth_path << ": " << e.message());
    }
    vlm::LocalizeScores s = vlm::evaluate_localization(results, videos, truth);
    nlohmann::json out = {{"count", s.count},
                          {"missing", s.missing},
                          {"R@1,IoU=0.3", s.recall_at_03},
                          {"R@1,IoU=0.5", s.recall_at_05},
                          {"R@1,IoU=0.7", s.recall_at_07},
                          {"mIoU", s.mean_iou}};
    std::cout << out.dump(2) << std::endl;
    return 0;
  } catch (...) {
    return report_command_failure("eval-localize", kUsage);
  }
}

}  // namespace vlm_cli
