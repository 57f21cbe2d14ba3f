// Streaming frame sampler: picks frames at a target rate from arbitrary timestamps (variable frame
// rate, gaps, bursts) and keeps each chosen frame's real time. Live video does not arrive with a
// frame count, so this replaces qwen-vl-utils' linspace for the GStreamer element and the CLI's
// --video path. Frames pair into temporal patches; a last unpaired frame is reported as such.
#pragma once

#include <cstdint>
#include <optional>
#include <vector>

namespace vlm {

class FrameSampler {
 public:
  // target_fps > 0. The sampling grid starts at the first frame seen (or after reset()).
  explicit FrameSampler(double target_fps);

  // Offers a frame at pts_ns (nanoseconds, monotonic within a segment). Returns true when the
  // frame should be kept: the first frame at or after the next grid instant. A frame is never
  // kept twice for one instant, and after a gap the grid resumes from the late frame (it does not
  // emit a burst of catch-up frames).
  bool offer(int64_t pts_ns);
  // Starts a new grid (new segment, flush, discontinuity).
  void reset();
  double target_fps() const { return target_fps_; }
  int64_t interval_ns() const { return interval_ns_; }

 private:
  double target_fps_;
  int64_t interval_ns_;
  std::optional<int64_t> next_due_ns_;
};

// Times (ns) of kept frames -> start time of each temporal patch (pairs), seconds relative to
// `origin_ns`. An odd trailing frame forms its own patch (it will be duplicated by patchify).
std::vector<double> temporal_patch_starts(const std::vector<int64_t>& frame_pts_ns, int64_t origin_ns,
                                          int temporal_patch_size = 2);

}  // namespace vlm
