// text_src pad output (see vlmdescribe_text.h). Objects are queued on the video streaming thread
// in stream order and pushed by the pad's own task; a push that finds the pad flushing pauses the
// task until the next flush-stop or activation.
#include "vlmdescribe_text.h"

#include <algorithm>
#include <cstring>

GST_DEBUG_CATEGORY_EXTERN (gst_vlm_describe_debug);
#define GST_CAT_DEFAULT gst_vlm_describe_debug

namespace vlm::gst {

TextOutput::~TextOutput() {
  std::lock_guard<std::mutex> lock(mutex_);
  clear_locked();
}

void TextOutput::clear_locked() {
  for (GstMiniObject* object : queue_) gst_mini_object_unref(object);
  queue_.clear();
}

void TextOutput::enqueue(GstMiniObject* object) {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (flushing_) {
      gst_mini_object_unref(object);
      return;
    }
    queue_.push_back(object);
  }
  changed_.notify_all();
}

void TextOutput::loop(gpointer data) {
  auto* self = static_cast<TextOutput*>(data);
  GstMiniObject* object = nullptr;
  {
    std::unique_lock<std::mutex> lock(self->mutex_);
    self->changed_.wait(lock, [&] { return self->flushing_ || !self->queue_.empty(); });
    if (self->flushing_) {
      lock.unlock();
      gst_pad_pause_task(self->pad_);
      return;
    }
    object = self->queue_.front();
    self->queue_.pop_front();
  }
  if (GST_IS_EVENT(object)) {
    gst_pad_push_event(self->pad_, GST_EVENT_CAST(object));
    return;
  }
  const GstFlowReturn ret = gst_pad_push(self->pad_, GST_BUFFER_CAST(object));
  if (ret == GST_FLOW_FLUSHING) {
    gst_pad_pause_task(self->pad_);
  } else if (ret != GST_FLOW_OK && ret != GST_FLOW_NOT_LINKED && ret != GST_FLOW_EOS) {
    GST_DEBUG_OBJECT(self->pad_, "text push returned %s", gst_flow_get_name(ret));
  }
}

gboolean TextOutput::activate(gboolean active) {
  if (active) {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      flushing_ = false;
    }
    return gst_pad_start_task(pad_, &TextOutput::loop, this, nullptr);
  }
  {
    std::lock_guard<std::mutex> lock(mutex_);
    flushing_ = true;
    clear_locked();
  }
  changed_.notify_all();
  return gst_pad_stop_task(pad_);
}

void TextOutput::reset() {
  std::lock_guard<std::mutex> lock(mutex_);
  caps_sent_ = false;
  stream_started_ = false;
  have_segment_ = false;
  position_ = GST_CLOCK_TIME_NONE;
}

void TextOutput::on_stream_start(GstEvent* video_stream_start) {
  GstElement* parent = gst_pad_get_parent_element(pad_);
  gchar* id = gst_pad_create_stream_id(pad_, parent, "text");
  if (parent != nullptr) gst_object_unref(parent);
  GstEvent* event = gst_event_new_stream_start(id);
  g_free(id);
  guint group = 0;
  if (video_stream_start != nullptr && gst_event_parse_group_id(video_stream_start, &group))
    gst_event_set_group_id(event, group);
  gst_event_set_stream_flags(event, GST_STREAM_FLAG_SPARSE);
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stream_started_ = true;
  }
  enqueue(GST_MINI_OBJECT_CAST(event));
}

void TextOutput::on_caps() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (caps_sent_ || !stream_started_) return;
    caps_sent_ = true;
  }
  enqueue(GST_MINI_OBJECT_CAST(gst_event_new_caps(gst_caps_from_string("text/x-raw, format=(string)utf8"))));
}

void TextOutput::on_segment(const GstSegment& segment) {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    segment_ = segment;
    have_segment_ = true;
    position_ = GST_CLOCK_TIME_NONE;
  }
  enqueue(GST_MINI_OBJECT_CAST(gst_event_new_segment(&segment)));
  // A sparse stream: say "nothing yet" so sinks can preroll without a text buffer.
  const GstClockTime at = segment.rate >= 0 ? segment.start : segment.stop;
  if (GST_CLOCK_TIME_IS_VALID(at)) enqueue(GST_MINI_OBJECT_CAST(gst_event_new_gap(at, 0)));
}

std::optional<GstClockTime> TextOutput::to_position_locked(int64_t stream_ns) const {
  if (!have_segment_ || !caps_sent_) return std::nullopt;
  const auto stream = static_cast<guint64>(std::max<int64_t>(stream_ns, 0));
  guint64 position = 0;
  const int sign = gst_segment_position_from_stream_time_full(&segment_, GST_FORMAT_TIME, stream, &position);
  return sign > 0 ? position : stream;
}

void TextOutput::advance_to(int64_t stream_ns) {
  GstEvent* gap = nullptr;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    const std::optional<GstClockTime> until = to_position_locked(stream_ns);
    if (!until || segment_.rate < 0) return;
    const GstClockTime from = GST_CLOCK_TIME_IS_VALID(position_) ? position_ : segment_.start;
    if (*until <= from) return;
    gap = gst_event_new_gap(from, *until - from);
    position_ = *until;
  }
  enqueue(GST_MINI_OBJECT_CAST(gap));
}

void TextOutput::push_text(const char* text, int64_t start_stream_ns, int64_t end_stream_ns) {
  GstClockTime pts;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    const std::optional<GstClockTime> position = to_position_locked(start_stream_ns);
    if (!position) return;
    pts = *position;
    if (!GST_CLOCK_TIME_IS_VALID(position_) || pts > position_) position_ = pts;
  }
  const gsize size = std::strlen(text);
  GstBuffer* buffer = gst_buffer_new_allocate(nullptr, size, nullptr);
  gst_buffer_fill(buffer, 0, text, size);
  GST_BUFFER_PTS(buffer) = pts;
  GST_BUFFER_DURATION(buffer) =
      static_cast<GstClockTime>(std::max<int64_t>(end_stream_ns - start_stream_ns, 0));
  enqueue(GST_MINI_OBJECT_CAST(buffer));
}

void TextOutput::on_eos() { enqueue(GST_MINI_OBJECT_CAST(gst_event_new_eos())); }

void TextOutput::flush_start() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    flushing_ = true;
    clear_locked();
  }
  changed_.notify_all();
  gst_pad_push_event(pad_, gst_event_new_flush_start());
  gst_pad_pause_task(pad_);
}

void TextOutput::flush_stop(gboolean reset_time) {
  gst_pad_push_event(pad_, gst_event_new_flush_stop(reset_time));
  {
    std::lock_guard<std::mutex> lock(mutex_);
    flushing_ = false;
  }
  if (gst_pad_is_active(pad_)) gst_pad_start_task(pad_, &TextOutput::loop, this, nullptr);
}

}  // namespace vlm::gst
