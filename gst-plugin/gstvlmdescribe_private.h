// The C++ state of a vlmdescribe instance, shared by its two source files: gstvlmdescribe.cpp
// (GObject boilerplate, properties, documentation) and vlmdescribe_stream.cpp (what happens to
// buffers, events and results). Settings are guarded by the GstObject lock; the streaming state
// is touched only by the streaming thread and by start/stop (when no streaming thread runs).
#pragma once

#include <atomic>
#include <cstdint>
#include <deque>
#include <fstream>
#include <memory>
#include <mutex>
#include <optional>
#include <string>

#include "event_record.h"
#include "gstvlmdescribe.h"
#include "vlmdescribe_text.h"
#include "window_builder.h"
#include "window_results.h"
#include "worker.h"

namespace vlm::gst {

struct DescribeSettings {
  std::string model;
  std::string device = "cpu";
  std::string fallback_device;  // empty: a device failure stops the element
  std::string prompt;
  Task task = Task::Describe;
  double sample_fps = 2.0;
  double window_seconds = 4.0;
  double stride_seconds = 2.0;
  int64_t min_pixels = 100352;  // 128·28·28, qwen-vl-utils VIDEO_MIN_PIXELS
  int64_t max_pixels = 0;       // 0 = qwen-vl-utils budget rule (602112 for short clips)
  int max_new_tokens = 128;
  double query_threshold = 0.5;
  GstVlmDescribeMode mode = GST_VLM_DESCRIBE_MODE_AUTO;
  int max_queue = 2;
  std::string stream_id;  // empty = the element's name
  std::string events_file;

  WindowSpec window_spec() const;
  WindowTask window_task() const;
};

struct DescribeState {
  DescribeSettings settings;  // GST_OBJECT_LOCK

  // Streaming thread (and start/stop).
  std::unique_ptr<WindowBuilder> builder;
  std::optional<int64_t> last_running_ns;
  GstVideoInfo info{};
  bool have_info = false;
  std::atomic<bool> live{false};
  bool live_known = false;
  std::string stream;  // resolved stream id for this run
  std::string device_in_use;  // lifecycle_mutex; empty when no model is loaded
  int direction = 1;   // of the current segment: sign of rate × applied_rate
  double time_scale = 1.0;  // |rate × applied_rate|: running time -> media time elapsed

  // Lifetime of runner/worker: created in start(), destroyed in stop().
  std::mutex lifecycle_mutex;
  std::shared_ptr<SharedRunner> runner;
  std::unique_ptr<Worker> worker;
  WorkerStats last_stats;  // counters of the last run, readable after stop

  // The text_src pad's queue and task (created in init with the pad).
  std::unique_ptr<TextOutput> text;

  // Results: produced on the worker thread, consumed on the streaming thread.
  std::mutex results_mutex;
  std::deque<EventRecord> outgoing;
  EventMerger merger;
  std::ofstream events_file;
  uint64_t windows_published = 0;
  uint64_t events_published = 0;
  uint64_t drops_reported = 0;
};

}  // namespace vlm::gst

struct _GstVlmDescribe {
  GstBaseTransform parent;
  GstPad* text_pad;  // "text_src": results as timed text/x-raw (see vlmdescribe_text.h)
  vlm::gst::DescribeState* state;
};

GST_DEBUG_CATEGORY_EXTERN (gst_vlm_describe_debug);

// vlmdescribe_stream.cpp
gboolean gst_vlm_describe_start (GstBaseTransform* trans);
gboolean gst_vlm_describe_stop (GstBaseTransform* trans);
gboolean gst_vlm_describe_set_caps (GstBaseTransform* trans, GstCaps* incaps, GstCaps* outcaps);
gboolean gst_vlm_describe_sink_event (GstBaseTransform* trans, GstEvent* event);
GstFlowReturn gst_vlm_describe_transform_ip (GstBaseTransform* trans, GstBuffer* buffer);
GstFlowReturn gst_vlm_describe_prepare_output_buffer (GstBaseTransform* trans, GstBuffer* input,
                                                      GstBuffer** output);
// Releases a streaming thread blocked on a full queue or an EOS drain (before pads deactivate).
void gst_vlm_describe_unblock (GstVlmDescribe* self);
GstStructure* gst_vlm_describe_stats (GstVlmDescribe* self);
