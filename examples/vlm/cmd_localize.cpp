// `vlm localize`: find when things happen in a long video file (issue 7). Streams the file twice
// through the two-pass search of vlm/localize.h with the real engine, writes the spans as JSON
// (stdout or --out), SRT and a self-contained HTML report. While it runs, a checkpoint next to
// --out records finished work so `--resume` continues a killed run to the identical result. A
// damaged file keeps the spans found before the damage, names where decoding failed and exits 1.
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <fstream>
#include <iostream>

#include "args.h"
#include "commands.h"
#include "localize_progress.h"
#include "localize_report.h"
#include "localize_source.h"
#include "vlm/engine.h"
#include "vlm/error.h"
#include "vlm/localize.h"
#include "vlm/tokenizer.h"

namespace vlm_cli {
namespace {

const char kUsage[] =
    "usage: vlm localize --model DIR --video FILE --query TEXT [--query TEXT...]\n"
    "                    [--window S] [--stride S] [--fps F] [--coarse-fps F] [--max-pixels N]\n"
    "                    [--coarse-max-pixels N]\n"
    "                    [--candidates N] [--threshold P] [--out events.json] [--srt FILE]\n"
    "                    [--html report.html] [--device cpu|cuda] [--threads N] [--resume]\n"
    "                    [--progress auto|bar|json|none] [--vision-tokens N]\n"
    "  Pass 1 scores --window-second windows every --stride seconds at --coarse-fps (default 1)\n"
    "  by the model's probability of answering yes; pass 2 asks for start/end times at --fps\n"
    "  (default 2) around the best --candidates windows per query. Defaults: window 16, stride 8.\n"
    "  Pass 1 frames have at most --coarse-max-pixels (default a quarter of pass 2's cap:\n"
    "  --max-pixels, or 602112 when it is 0).\n"
    "  --resume continues from the checkpoint kept next to --out (OUT.partial.json).\n"
    "  --vision-tokens (default 6144) bounds each clip's vision tokens: long refine clips get\n"
    "  smaller frames so that they fit the context.\n";

void write_file(const std::string& path, const std::string& text) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << text;
  out.flush();
  VLM_CHECK(out.good(), Io, "cannot write " << path);
}

}  // namespace

int run_localize(int argc, char** argv) {
  try {
    Args args(argc, argv,
              {"model", "video", "query", "window", "stride", "fps", "coarse-fps", "max-pixels", "coarse-max-pixels",
               "candidates", "threshold", "out", "srt", "html", "device", "threads", "progress",
               "vision-tokens"},
              {"resume", "help"});
    if (args.flag("help")) {
      std::fputs(kUsage, stdout);
      return 0;
    }
    std::vector<std::string> queries = args.all("query");
    if (queries.empty()) throw UsageError("give at least one --query");
    for (const std::string& q : queries) {
      if (q.empty()) throw UsageError("--query must not be empty");
    }
    const std::string video = args.require("video");
    const std::string model_dir = args.require("model");
    vlm::LocalizeOptions options;
    options.window_seconds = args.get_double("window", options.window_seconds);
    options.stride_seconds = args.get_double("stride", options.stride_seconds);
    options.refine_fps = args.get_double("fps", options.refine_fps);
    options.coarse_fps = args.get_double("coarse-fps", options.coarse_fps);
    options.max_candidates = args.get_int("candidates", options.max_candidates);
    options.candidate_threshold = args.get_double("threshold", options.candidate_threshold);
    try {
      vlm::validate_localize_options(options);
    } catch (const vlm::Error& e) {
      throw UsageError(e.message());
    }
    const int64_t max_pixels = args.get_int("max-pixels", 0);
    if (max_pixels < 0) throw UsageError("--max-pixels must not be negative");
    // qwen-vl-utils' per-frame cap for short clips; the coarse pass looks at a quarter of it.
    constexpr int64_t kShortClipFramePixels = 602112;
    const int64_t coarse_max_pixels = args.get_int(
        "coarse-max-pixels", (max_pixels > 0 ? max_pixels : kShortClipFramePixels) / 4);
    if (coarse_max_pixels < 0) throw UsageError("--coarse-max-pixels must not be negative");
    const int vision_tokens = args.get_int("vision-tokens", 6144);
    if (vision_tokens < 64) throw UsageError("--vision-tokens must be at least 64");
    const std::string out_path = args.get_or("out", "");
    if (args.flag("resume") && out_path.empty()) {
      throw UsageError("--resume needs --out (the checkpoint is kept next to it)");
    }
    const ProgressMode progress_mode = parse_progress_mode(args.get_or("progress", "auto"), ::isatty(2) != 0);

    vlm::EngineOptions engine_options;
    engine_options.device = args.get_or("device", "cpu");
    engine_options.n_threads = args.get_int("threads", 0);
    auto engine = vlm::Engine::load(model_dir, engine_options);
    vlm::Tokenizer tokenizer = vlm::Tokenizer::from_file(std::filesystem::path(model_dir) / "tokenizer.json");
    vlm::EngineLocalizeModel model(*engine, tokenizer, max_pixels, /*max_new_tokens=*/64, vision_tokens);
    model.set_score_max_pixels(coarse_max_pixels);

    vlm::LocalizeRun run;
    ProbeResult probe = probe_video(video);
    run.total_seconds_hint = probe.duration_seconds;
    // qwen-vl-utils never gives a video frame more than 768·28² pixels; keep no more than that.
    constexpr int64_t kVideoFrameMaxPixels = 768 * 28 * 28;
    VideoFileSource source(video, probe.duration_seconds, probe.error,
                           max_pixels > 0 ? std::min(max_pixels, kVideoFrameMaxPixels) : kVideoFrameMaxPixels);
    // The pixel settings change the scores: a checkpoint made with others must not be resumed.
    run.input_id = file_identity(video) + "|pixels " + std::to_string(max_pixels) + "/" +
                   std::to_string(coarse_max_pixels) + "/" + std::to_string(vision_tokens);
    run.resume = args.flag("resume");
    if (!out_path.empty()) run.checkpoint = out_path + ".partial.json";
    ProgressPrinter progress(progress_mode);
    run.on_progress = [&](const vlm::LocalizeProgress& p) { progress.update(p); };
    vlm::LocalizeResult result = vlm::localize(source, model, queries, options, run);
    progress.finish();

    std::string json = vlm::localize_result_json(result, video);
    if (out_path.empty()) {
      std::cout << json << std::flush;
    } else {
      write_file(out_path, json);
    }
    if (args.has("srt")) write_file(*args.get("srt"), vlm::localize_result_srt(result));
    if (args.has("html")) {
      std::vector<double> starts;
      for (const vlm::QueryResult& q : result.queries) {
        for (const vlm::LocalizedSpan& s : q.spans) starts.push_back(s.start);
      }
      auto thumbnails = span_thumbnails(video, starts, options.refine_fps, 192);
      write_file(*args.get("html"), localize_report_html(result, video, thumbnails));
    }
    if (!run.checkpoint.empty()) {
      std::error_code ec;
      std::filesystem::remove(run.checkpoint, ec);
    }
    if (!result.complete) {
      std::fprintf(stderr,
                   "vlm localize: decoding %s stopped after %.2f s: %s\n"
                   "vlm localize: the spans found before that point were written\n",
                   video.c_str(), result.decoded_until_seconds, result.decode_error.c_str());
      return 1;
    }
    return 0;
  } catch (...) {
    return report_command_failure("localize", kUsage, /*newline_first=*/true);
  }
}

}  // namespace vlm_cli
