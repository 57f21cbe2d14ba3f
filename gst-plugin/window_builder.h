// Turns a stream of timestamped frames into overlapping windows: frames are sampled by running
// time with vlm::FrameSampler (so variable frame rates and gaps are handled by real time, not by
// counting), and window k covers [origin + k·stride, origin + k·stride + window) where origin is
// the first sampled frame. A window is complete when a frame at or past its end arrives; finish()
// closes the pending ones early (EOS, new segment, gap…) keeping only windows that hold frames
// no earlier window covered, so a clip's tail is described once and never twice.
#pragma once

#include <cstdint>
#include <deque>
#include <optional>
#include <vector>

#include "vlm/frame_sampler.h"
#include "window.h"

namespace vlm::gst {

struct WindowSpec {
  double sample_fps = 2.0;
  int64_t window_ns = 4'000'000'000;
  int64_t stride_ns = 2'000'000'000;
  bool operator==(const WindowSpec&) const = default;
};

class WindowBuilder {
 public:
  explicit WindowBuilder(const WindowSpec& spec);

  // Windows completed by time running_ns (call before offering the frame at that time).
  std::vector<Window> advance(int64_t running_ns);
  // Whether the frame at running_ns is sampled (then convert it and add()).
  bool wants(int64_t running_ns) { return sampler_.offer(running_ns); }
  void add(FramePtr frame);
  // Closes pending windows early and starts a new grid.
  std::vector<Window> finish();
  // Drops pending frames and starts a new grid (flush).
  void reset();
  // Playback direction of the frames that follow (-1: reverse); windows carry it (see Window).
  // Call after finish() when a new segment changes it.
  void set_direction(int direction) { direction_ = direction < 0 ? -1 : 1; }

  const WindowSpec& spec() const { return spec_; }
  int64_t sample_interval_ns() const { return sampler_.interval_ns(); }
  size_t pending_frames() const { return frames_.size(); }

 private:
  int64_t start_of(int64_t k) const { return *origin_ns_ + k * spec_.stride_ns; }
  int64_t end_of(int64_t k) const { return start_of(k) + spec_.window_ns; }
  Window collect(int64_t k) const;
  void emit(Window window, std::vector<Window>& out);
  void prune();

  WindowSpec spec_;
  FrameSampler sampler_;
  std::optional<int64_t> origin_ns_;
  int64_t next_k_ = 0;
  std::deque<FramePtr> frames_;
  std::optional<int64_t> covered_until_ns_;  // last frame time inside an emitted window
  uint64_t next_index_ = 0;                  // survives reset(): window ids stay unique
  int direction_ = 1;
};

}  // namespace vlm::gst
