// Progress display of `vlm localize`: a one-line bar with elapsed time, rate (seconds of video per
// second, or candidates per second in the refine pass) and ETA when stderr is a terminal; JSON
// lines on stderr for scripts (--progress json); nothing otherwise.
#pragma once

#include <chrono>
#include <string>

#include "vlm/localize.h"

namespace vlm_cli {

enum class ProgressMode { Bar, Json, None };

// "auto" picks Bar on a terminal and None otherwise; throws UsageError for unknown names.
ProgressMode parse_progress_mode(const std::string& name, bool stderr_is_terminal);

class ProgressPrinter {
 public:
  explicit ProgressPrinter(ProgressMode mode);
  void update(const vlm::LocalizeProgress& progress);
  void finish();  // ends the bar's line

 private:
  ProgressMode mode_;
  std::chrono::steady_clock::time_point start_, phase_start_, last_print_;
  std::string phase_;
  bool printed_ = false;
};

std::string format_clock(double seconds);  // "1:02:03" / "2:03"

}  // namespace vlm_cli
