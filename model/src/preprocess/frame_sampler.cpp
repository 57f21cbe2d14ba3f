// Streaming frame choice for live video (frame_sampler.h): a grid of instants every
// 1/target_fps seconds, anchored at the first frame; the first frame at or after each instant is
// kept. The grid advances by whole intervals so a slightly late frame does not shift later picks;
// a frame that is late by a whole interval or more (a gap) restarts the grid at itself, and so
// does a frame from before the previous grid instant (time went backwards without a reset()).
#include <cmath>

#include "vlm/error.h"
#include "vlm/frame_sampler.h"

namespace vlm {

FrameSampler::FrameSampler(double target_fps) : target_fps_(target_fps), interval_ns_(0) {
  VLM_CHECK(target_fps > 0.0 && target_fps <= 1e6 && std::isfinite(target_fps), InvalidInput,
            "FrameSampler: target_fps must be in (0, 1e6], got " << target_fps);
  interval_ns_ = std::llround(1e9 / target_fps);
}

bool FrameSampler::offer(int64_t pts_ns) {
  if (!next_due_ns_) {
    next_due_ns_ = pts_ns + interval_ns_;
    return true;
  }
  // Earlier than the previous instant: every kept frame is at or after it, so time went back.
  const bool went_backwards = pts_ns < *next_due_ns_ - 2 * interval_ns_;
  if (went_backwards) {
    next_due_ns_ = pts_ns + interval_ns_;
    return true;
  }
  if (pts_ns < *next_due_ns_) return false;
  *next_due_ns_ += interval_ns_;
  if (pts_ns >= *next_due_ns_) next_due_ns_ = pts_ns + interval_ns_;  // gap: no catch-up burst
  return true;
}

void FrameSampler::reset() { next_due_ns_.reset(); }

std::vector<double> temporal_patch_starts(const std::vector<int64_t>& frame_pts_ns,
                                          int64_t origin_ns, int temporal_patch_size) {
  VLM_CHECK(temporal_patch_size > 0, InvalidInput,
            "temporal_patch_starts: temporal_patch_size must be positive, got "
                << temporal_patch_size);
  std::vector<double> starts;
  for (size_t i = 0; i < frame_pts_ns.size(); i += static_cast<size_t>(temporal_patch_size)) {
    starts.push_back(static_cast<double>(frame_pts_ns[i] - origin_ns) / 1e9);
  }
  return starts;
}

}  // namespace vlm
