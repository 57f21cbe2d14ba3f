// Progress rendering for `vlm localize` (see localize_progress.h). Bar updates are limited to
// five per second so a fast scripted run does not spend its time writing to the terminal.
#include "localize_progress.h"

#include <cmath>
#include <cstdio>

#include <nlohmann/json.hpp>

#include "args.h"

namespace vlm_cli {

ProgressMode parse_progress_mode(const std::string& name, bool stderr_is_terminal) {
  if (name == "auto") return stderr_is_terminal ? ProgressMode::Bar : ProgressMode::None;
  if (name == "bar") return ProgressMode::Bar;
  if (name == "json") return ProgressMode::Json;
  if (name == "none") return ProgressMode::None;
  throw UsageError("--progress must be auto, bar, json or none, got '" + name + "'");
}

std::string format_clock(double seconds) {
  if (!(seconds >= 0) || !std::isfinite(seconds)) return "--:--";
  long total = std::lround(seconds);
  char buffer[32];
  if (total >= 3600) {
    std::snprintf(buffer, sizeof buffer, "%ld:%02ld:%02ld", total / 3600, total / 60 % 60, total % 60);
  } else {
    std::snprintf(buffer, sizeof buffer, "%ld:%02ld", total / 60, total % 60);
  }
  return buffer;
}

ProgressPrinter::ProgressPrinter(ProgressMode mode)
    : mode_(mode), start_(std::chrono::steady_clock::now()), phase_start_(start_), last_print_() {}

void ProgressPrinter::update(const vlm::LocalizeProgress& p) {
  if (mode_ == ProgressMode::None) return;
  auto now = std::chrono::steady_clock::now();
  if (phase_ != p.phase) {
    phase_ = p.phase;
    phase_start_ = now;
  } else if (mode_ == ProgressMode::Bar && now - last_print_ < std::chrono::milliseconds(200) &&
             p.steps_done != p.steps_total) {
    return;
  }
  last_print_ = now;
  double elapsed = std::chrono::duration<double>(now - start_).count();
  double phase_elapsed = std::chrono::duration<double>(now - phase_start_).count();
  bool coarse = phase_ == "coarse";
  double done = coarse ? p.position_seconds : static_cast<double>(p.steps_done);
  double total = coarse ? p.total_seconds : static_cast<double>(p.steps_total);
  double rate = phase_elapsed > 0 ? done / phase_elapsed : 0.0;
  double eta = total > 0 && rate > 0 ? (total - done) / rate : -1.0;
  if (mode_ == ProgressMode::Json) {
    nlohmann::json line = {{"phase", phase_}, {"done", done},       {"total", total},
                           {"elapsed", elapsed}, {"rate", rate},   {"eta", eta},
                           {"unit", coarse ? "video_seconds" : "candidates"}};
    std::fprintf(stderr, "%s\n", line.dump().c_str());
    std::fflush(stderr);
    return;
  }
  constexpr int kWidth = 28;
  double fraction = total > 0 ? std::min(1.0, done / total) : 0.0;
  std::string bar(static_cast<size_t>(std::lround(fraction * kWidth)), '#');
  bar.resize(kWidth, '.');
  std::string position = coarse ? format_clock(done) + "/" + format_clock(total)
                                : std::to_string(p.steps_done) + "/" + std::to_string(p.steps_total);
  char rate_text[48];
  if (coarse) {
    std::snprintf(rate_text, sizeof rate_text, "%.1fx real time", rate);
  } else {
    std::snprintf(rate_text, sizeof rate_text, "%.2f candidates/s", rate);
  }
  std::fprintf(stderr, "\r%-6s [%s] %3.0f%% %s  elapsed %s  %s  ETA %s\x1b[K", phase_.c_str(),
               bar.c_str(), fraction * 100, position.c_str(), format_clock(elapsed).c_str(), rate_text,
               format_clock(eta).c_str());
  std::fflush(stderr);
  printed_ = true;
}

void ProgressPrinter::finish() {
  if (mode_ == ProgressMode::Bar && printed_) std::fputc('\n', stderr);
  printed_ = false;
}

}  // namespace vlm_cli
