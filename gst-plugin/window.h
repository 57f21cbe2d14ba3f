// The unit of work of vlmdescribe: a window of sampled frames (raw + real timestamps) and the job
// that asks the model about it. Plain C++ (no GStreamer types) so the windowing, the worker and
// the runners are testable without a pipeline; times are int64 nanoseconds as everywhere in libvlm.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "vlm/image.h"

namespace vlm::gst {

// One sampled frame. running_ns orders frames and drives sampling: it is the running time scaled
// by the segment's |rate × applied_rate|, i.e. media time elapsed, so windows and sample rates mean
// media seconds at any playback rate (it equals the running time at rate 1) and it increases in
// reverse playback too. stream_ns is what results report (positions in the media, survive seeks).
// The pixels stay in the negotiated format (NV12, I420, RGBx…) until the inference thread needs
// them: the GPU converts RGB and NV12 itself, other paths call vlm::to_rgb8 there.
struct WindowFrame {
  RawFrame pixels;
  int64_t running_ns = 0;
  int64_t stream_ns = 0;
};

// Frames shared between overlapping windows (a frame belongs to window/stride windows).
using FramePtr = std::shared_ptr<const WindowFrame>;

struct Window {
  uint64_t index = 0;         // per element, never reused (window ids are built from it)
  int64_t start_rt_ns = 0;    // grid start (running_ns scale)
  int64_t end_rt_ns = 0;      // grid end, or last frame + one sample interval for a partial window
  bool partial = false;       // closed early (EOS, new segment, gap, resolution change…)
  int direction = 1;          // -1: reverse playback, stream time decreases as frames arrive
  int64_t stride_ns = 0;      // the grid's stride
  std::vector<FramePtr> frames;  // in arrival order

  // Stream time at a point of the grid (running_ns scale), anchored on the first frame.
  int64_t stream_at(int64_t grid_ns) const {
    if (frames.empty()) return grid_ns;
    return frames.front()->stream_ns + direction * (grid_ns - frames.front()->running_ns);
  }
  // The window's bounds in stream time, earliest first whatever the playback direction.
  int64_t start_stream_ns() const {
    return direction >= 0 ? stream_at(start_rt_ns) : stream_at(end_rt_ns);
  }
  int64_t end_stream_ns() const {
    return direction >= 0 ? stream_at(end_rt_ns) : stream_at(start_rt_ns);
  }
  // Forward playback: no window answered after this one starts before this stream time (the next
  // window of the grid starts a stride later; a new grid starts at or after this one's last frame).
  int64_t later_text_from_stream_ns() const {
    if (frames.empty()) return start_stream_ns();
    return stream_at(std::min(start_rt_ns + stride_ns, frames.back()->running_ns));
  }
  // The frames as the media plays forward: what the model sees (reverse playback is un-reversed).
  std::vector<FramePtr> media_order() const {
    return direction >= 0 ? frames : std::vector<FramePtr>(frames.rbegin(), frames.rend());
  }
  // The first frame as the media plays forward (model time 0); frames must not be empty.
  const FramePtr& media_first() const { return direction >= 0 ? frames.front() : frames.back(); }
};

enum class Task { Describe, Events, Query };

// Everything the model needs besides the frames, snapshotted from the properties when the window
// is queued (so property changes apply from the next window).
struct WindowTask {
  Task task = Task::Describe;
  std::string prompt;          // the text sent to the model (already expanded for the task)
  std::string user_prompt;     // the prompt property (query text for Task::Query)
  double sample_fps = 2.0;
  int64_t min_pixels = 0;      // 0 = the reference default
  int64_t max_pixels = 0;      // 0 = the reference budget rule
  int max_new_tokens = 128;
  double query_threshold = 0.5;  // Task::Query: windows scoring at least this are refined
};

struct WindowJob {
  Window window;
  WindowTask task;
  uint64_t epoch = 0;  // flush generation it belongs to; results of older epochs are discarded
};

// Start time (seconds from the window's first frame in media order, model time 0) of each temporal
// patch, from the frames' real stream times: what the engine receives as
// VisionItem::patch_start_seconds.
std::vector<double> patch_start_seconds(const Window& window, int temporal_patch_size = 2);

}  // namespace vlm::gst
