// Test stand-ins for the localisation search: a frame source that plays a synthetic timeline
// through the real FrameSampler (a 29.97 fps "file" of any length, frames without pixels, optional
// damage at a given time), and a scripted model that knows the true event times and answers the
// way Qwen2.5-VL does (yes-probability; "happens in A - B seconds" or mm:ss.ff JSON), seeing only
// the frames it is given. Header-only so each test file can use it.
#pragma once

#include <algorithm>
#include <cstdio>
#include <map>
#include <stdexcept>
#include <string>
#include <vector>

#include "vlm/error.h"
#include "vlm/frame_sampler.h"
#include "vlm/localize.h"

namespace localize_test {

struct Event {
  double start, end;
};

class TimelineSource : public vlm::FrameSource {
 public:
  TimelineSource(double duration_seconds, double damaged_at_seconds = -1)
      : duration_(duration_seconds), damaged_at_(damaged_at_seconds) {}
  // Frames in [from, to) are missing (a gap in the stream's timestamps).
  void set_gap(double from, double to) { gap_from_ = from, gap_to_ = to; }
  void read(double fps, const std::function<bool(vlm::TimedFrame&&)>& on_frame) override {
    ++reads;
    vlm::FrameSampler sampler(fps);
    for (int64_t n = 0;; ++n) {
      int64_t pts_ns = n * 1001000000LL / 30000;  // 29.97 fps
      double seconds = static_cast<double>(pts_ns) / 1e9;
      if (seconds >= duration_) return;
      if (damaged_at_ >= 0 && seconds >= damaged_at_) {
        VLM_THROW(Io, "decoding timeline failed at " << seconds << " s: broken packet");
      }
      if (seconds >= gap_from_ && seconds < gap_to_) continue;
      if (!sampler.offer(pts_ns)) continue;
      if (!on_frame({seconds, nullptr})) return;
    }
  }
  int reads = 0;

 private:
  double duration_;
  double damaged_at_;
  double gap_from_ = -1, gap_to_ = -1;
};

class ScriptedModel : public vlm::LocalizeModel {
 public:
  explicit ScriptedModel(std::map<std::string, std::vector<Event>> truth, int fail_after_calls = -1)
      : truth_(std::move(truth)), fail_after_(fail_after_calls) {}

  double score(std::span<const vlm::TimedFrame> clip, const std::string& query) override {
    count_call();
    ++score_calls;
    if (clip.empty()) throw std::logic_error("the search asked about an empty clip");
    double best = 0.0;
    for (const Event& e : truth_.at(query)) best = std::max(best, fraction_inside(clip, e));
    return best > 0 ? 0.6 + 0.3 * best : 0.1;
  }

  std::string locate(std::span<const vlm::TimedFrame> clip, const std::string& query) override {
    count_call();
    ++locate_calls;
    if (clip.empty()) throw std::logic_error("the search asked about an empty clip");
    if (clip.size() < 2) return "I cannot tell.";
    double interval = clip[1].seconds - clip[0].seconds;
    const Event* best = nullptr;
    double best_fraction = 0.0;
    for (const Event& e : truth_.at(query)) {
      double f = fraction_inside(clip, e);
      if (f > best_fraction) best_fraction = f, best = &e;
    }
    if (best == nullptr) return "The described content does not occur in the video.";
    double first = -1, last = -1;
    for (const vlm::TimedFrame& f : clip) {
      if (f.seconds >= best->start && f.seconds < best->end) {
        if (first < 0) first = f.seconds;
        last = f.seconds;
      }
    }
    double a = first - clip[0].seconds, b = last + interval - clip[0].seconds;
    char text[256];
    if (json_answers) {
      std::snprintf(text, sizeof text,
                    "```json\n[{\"start_time\": \"%02d:%05.2f\", \"end_time\": \"%02d:%05.2f\", "
                    "\"description\": \"%s\"}]\n```",
                    static_cast<int>(a / 60), a - 60 * static_cast<int>(a / 60),
                    static_cast<int>(b / 60), b - 60 * static_cast<int>(b / 60), query.c_str());
    } else {
      std::snprintf(text, sizeof text, "The given query happens in %.3f - %.3f seconds.", a, b);
    }
    return text;
  }

  bool json_answers = false;
  int score_calls = 0, locate_calls = 0;

 private:
  static double fraction_inside(std::span<const vlm::TimedFrame> clip, const Event& e) {
    if (clip.empty()) return 0.0;
    int inside = 0;
    for (const vlm::TimedFrame& f : clip) inside += f.seconds >= e.start && f.seconds < e.end;
    return static_cast<double>(inside) / static_cast<double>(clip.size());
  }
  void count_call() {
    if (fail_after_ >= 0 && calls_ >= fail_after_) throw std::runtime_error("killed (scripted)");
    ++calls_;
  }

  std::map<std::string, std::vector<Event>> truth_;
  int fail_after_;
  int calls_ = 0;
};

}  // namespace localize_test
