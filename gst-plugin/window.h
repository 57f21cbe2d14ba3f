// The unit of work of vlmdescribe: a window of sampled frames (RGB + real timestamps) and the job
// that asks the model about it. Plain C++ (no GStreamer types) so the windowing, the worker and
// the runners are testable without a pipeline; times are int64 nanoseconds as everywhere in libvlm.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "vlm/image.h"

namespace vlm::gst {

// One sampled frame. running_ns orders frames and drives sampling (monotonic within a segment);
// stream_ns is what results report (positions in the media, survive seeks).
struct WindowFrame {
  ImageRgb8 image;
  int64_t running_ns = 0;
  int64_t stream_ns = 0;
};

// Frames shared between overlapping windows (a frame belongs to window/stride windows).
using FramePtr = std::shared_ptr<const WindowFrame>;

struct Window {
  uint64_t index = 0;         // per element, never reused (window ids are built from it)
  int64_t start_rt_ns = 0;    // grid start (running time)
  int64_t end_rt_ns = 0;      // grid end, or last frame + one sample interval for a partial window
  bool partial = false;       // closed early (EOS, new segment, gap, resolution change…)
  std::vector<FramePtr> frames;

  // Running -> stream time of this window (constant within a segment at rate 1).
  int64_t stream_offset_ns() const {
    return frames.empty() ? 0 : frames.front()->stream_ns - frames.front()->running_ns;
  }
  int64_t start_stream_ns() const { return start_rt_ns + stream_offset_ns(); }
  int64_t end_stream_ns() const { return end_rt_ns + stream_offset_ns(); }
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
};

struct WindowJob {
  Window window;
  WindowTask task;
  uint64_t epoch = 0;  // flush generation it belongs to; results of older epochs are discarded
};

// Start time (seconds from the window's first frame, model time 0) of each temporal patch, from
// the frames' real running times: what the engine receives as VisionItem::patch_start_seconds.
std::vector<double> patch_start_seconds(const Window& window, int temporal_patch_size = 2);

}  // namespace vlm::gst
