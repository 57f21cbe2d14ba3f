// The text_src pad of vlmdescribe: results as text/x-raw (UTF-8) buffers timed with what they
// describe (PTS = start, duration = end - start, in the video's segment), for subtitle-like
// consumers. It is a sparse stream: a GAP event after each segment lets sinks preroll, and the
// pad has its own task and queue so a downstream element that blocks on text (textoverlay waits
// for the video to catch up) never blocks the video streaming thread or the inference worker.
// Results come after the window they describe, so a consumer that waits for text (textoverlay's
// default wait-text=true) needs the video delayed by a queue in front of it; advance_to() sends
// GAP events up to the time before which no more text can come, so that waiting always ends.
#pragma once

#include <gst/gst.h>

#include <condition_variable>
#include <deque>
#include <mutex>
#include <optional>

namespace vlm::gst {

class TextOutput {
 public:
  explicit TextOutput(GstPad* pad) : pad_(pad) {}
  ~TextOutput();
  TextOutput(const TextOutput&) = delete;
  TextOutput& operator=(const TextOutput&) = delete;

  // Pad (de)activation: starts or stops the pad task.
  gboolean activate(gboolean active);
  // Called on the video streaming thread, in stream order (push_text and advance_to: from the
  // inference worker, after the segment they belong to).
  void on_stream_start(GstEvent* video_stream_start);
  void on_caps();
  void on_segment(const GstSegment& segment);
  void push_text(const char* text, int64_t start_stream_ns, int64_t end_stream_ns);
  // No text will start before `stream_ns`: a GAP from the last position up to it, if it is later.
  void advance_to(int64_t stream_ns);
  void on_eos();
  // Flush events are forwarded at once (not queued).
  void flush_start();
  void flush_stop(gboolean reset_time);
  void reset();  // new run (start())

 private:
  void enqueue(GstMiniObject* object);
  void clear_locked();
  static void loop(gpointer self);

  GstPad* pad_;
  std::mutex mutex_;
  std::condition_variable changed_;
  std::deque<GstMiniObject*> queue_;
  bool flushing_ = true;
  bool caps_sent_ = false;
  bool stream_started_ = false;
  GstSegment segment_{};
  bool have_segment_ = false;
  GstClockTime position_ = GST_CLOCK_TIME_NONE;  // latest text PTS or gap end sent (segment time)
  std::optional<GstClockTime> to_position_locked(int64_t stream_ns) const;
};

}  // namespace vlm::gst
