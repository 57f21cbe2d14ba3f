/* vlmdescribe streaming side: start/stop (engine through the shared registry, worker, events
 * file), caps (resolution changes close the windows), events (segment, flush, EOS), buffers
 * (sampling by media time elapsed; sampled frames are copied in their own format and converted
 * later, on the inference thread or the GPU) and results (bus message, file and text_src from the
 * worker thread; meta and custom event on the streaming thread). Every entry point catches
 * vlm::Error and std::exception: nothing unwinds through GLib frames. */
#include <cerrno>
#include <cmath>
#include <exception>

#include "gst/vlm/gstvlmeventmeta.h"
#include "gstvlmdescribe_private.h"
#include "vlm/image.h"
#include "window_results.h"

#define GST_CAT_DEFAULT gst_vlm_describe_debug

using namespace vlm::gst;

namespace {

DescribeState& state_of (GstBaseTransform* trans) { return *GST_VLM_DESCRIBE (trans)->state; }

GstStructure* record_structure (const EventRecord& r)
{
  GstStructure* s = gst_structure_new (GST_VLM_EVENT_STRUCTURE_NAME,
      "stream", G_TYPE_STRING, r.stream.c_str (),
      "kind", G_TYPE_STRING, r.kind.c_str (),
      "id", G_TYPE_STRING, r.id.c_str (),
      "text", G_TYPE_STRING, r.text.c_str (),
      "start", G_TYPE_DOUBLE, static_cast<double> (r.start_ns) / GST_SECOND,
      "end", G_TYPE_DOUBLE, static_cast<double> (r.end_ns) / GST_SECOND,
      "start_ns", G_TYPE_INT64, static_cast<gint64> (r.start_ns),
      "end_ns", G_TYPE_INT64, static_cast<gint64> (r.end_ns),
      "window_start", G_TYPE_DOUBLE, static_cast<double> (r.window_start_ns) / GST_SECOND,
      "window_end", G_TYPE_DOUBLE, static_cast<double> (r.window_end_ns) / GST_SECOND,
      "frames", G_TYPE_UINT, static_cast<guint> (r.frames), nullptr);
  if (r.score)
    gst_structure_set (s, "score", G_TYPE_DOUBLE, *r.score, nullptr);
  return s;
}

/* Once window k is answered (or has failed), no later text starts before Window::later_text_from
 * (the next grid window, or a new grid after k's last frame): text_src says "nothing before that"
 * so that textoverlay with wait-text=true lets the video through. Forward playback only (reverse
 * text runs backwards and is not gapped). Worker thread: text_src has its own queue and task, so
 * text never waits for the next video buffer (which may itself wait for this text downstream). */
void advance_text (DescribeState& st, const WindowJob& job)
{
  if (job.window.direction >= 0 && !job.window.frames.empty ())
    st.text->advance_to (job.window.later_text_from_stream_ns ());
}

/* Worker thread: publish on the bus, in the file and on text_src at once; metas and custom events
 * are queued for the streaming thread (they travel with the video). */
void publish (GstVlmDescribe* self, const WindowJob& job, const WindowAnswer& answer)
{
  DescribeState& st = *self->state;
  std::vector<EventRecord> records;
  {
    std::lock_guard<std::mutex> lock (st.results_mutex);
    records = window_records (job, answer, st.stream, st.merger);
    for (const EventRecord& r : records) {
      if (st.events_file.is_open ()) {
        st.events_file << to_json_line (r) << '\n';
        st.events_file.flush ();
      }
      st.outgoing.push_back (r);
      (r.is_event () ? st.events_published : st.windows_published)++;
    }
  }
  GST_DEBUG_OBJECT (self, "window %" G_GUINT64_FORMAT " answered: %zu record(s)",
      job.window.index, records.size ());
  for (const EventRecord& r : records)
    if (r.caption)
      st.text->push_text (r.text.c_str (), r.start_ns, r.end_ns);
  advance_text (st, job);
  for (const EventRecord& r : records)
    gst_element_post_message (GST_ELEMENT (self),
        gst_message_new_element (GST_OBJECT (self), record_structure (r)));
}

void report_failure (GstVlmDescribe* self, const WindowJob& job, const vlm::Error& error)
{
  advance_text (*self->state, job);
  GST_ELEMENT_WARNING (self, LIBRARY, FAILED,
      ("Inference failed for window %" G_GUINT64_FORMAT ".", job.window.index),
      ("%s", error.what ()));
}

/* Streaming thread: results become custom events before, and metas on, the outgoing buffer. */
void push_outgoing (GstBaseTransform* trans, GstBuffer* buffer)
{
  DescribeState& st = state_of (trans);
  if (buffer != nullptr && !gst_buffer_is_writable (buffer))
    return;  // results arrived after prepare_output_buffer: they ride on the next buffer
  std::deque<EventRecord> records;
  {
    std::lock_guard<std::mutex> lock (st.results_mutex);
    records.swap (st.outgoing);
  }
  for (const EventRecord& r : records) {
    gst_pad_push_event (GST_BASE_TRANSFORM_SRC_PAD (trans),
        gst_event_new_custom (GST_EVENT_CUSTOM_DOWNSTREAM, record_structure (r)));
    if (buffer != nullptr) {
      GstVlmEventMeta* meta = gst_buffer_add_vlm_event_meta (buffer, r.stream.c_str (),
          r.is_event () ? GST_VLM_EVENT_KIND_EVENT : GST_VLM_EVENT_KIND_WINDOW, r.id.c_str (),
          r.text.c_str (), r.start_ns, r.end_ns, r.window_start_ns, r.window_end_ns, r.frames);
      if (meta != nullptr && r.score)
        meta->score = *r.score;
    }
  }
}

void submit_windows (GstBaseTransform* trans, std::vector<Window> windows)
{
  DescribeState& st = state_of (trans);
  if (windows.empty () || !st.worker)
    return;
  GST_OBJECT_LOCK (trans);
  const WindowTask task = st.settings.window_task ();
  GST_OBJECT_UNLOCK (trans);
  for (Window& window : windows) {
    GST_DEBUG_OBJECT (trans, "window %" G_GUINT64_FORMAT ": %zu frames, %" GST_STIME_FORMAT
        " - %" GST_STIME_FORMAT "%s", window.index, window.frames.size (),
        GST_STIME_ARGS (window.start_stream_ns ()), GST_STIME_ARGS (window.end_stream_ns ()),
        window.partial ? " (closed early)" : "");
    WindowJob job;
    job.window = std::move (window);
    job.task = task;
    const Worker::Submitted outcome = st.worker->submit (std::move (job), st.live);
    if (outcome == Worker::Submitted::QueuedDroppingOldest) {
      const uint64_t dropped = st.worker->stats ().dropped;
      GST_ELEMENT_WARNING (trans, RESOURCE, BUSY,
          ("Inference is slower than the stream: %" G_GUINT64_FORMAT " window(s) dropped so far.",
              dropped), ("live mode, max-queue reached; raise stride or lower sample-fps/max-pixels"));
    } else if (outcome == Worker::Submitted::Refused) {
      GST_DEBUG_OBJECT (trans, "window refused: flushing or stopping");
    }
  }
}

/* Closes the pending windows and starts a new grid, saying why. */
void break_windows (GstBaseTransform* trans, const char* why)
{
  DescribeState& st = state_of (trans);
  st.last_running_ns.reset ();
  if (!st.builder)
    return;
  GST_DEBUG_OBJECT (trans, "starting a new window: %s (%zu pending frames)", why,
      st.builder->pending_frames ());
  submit_windows (trans, st.builder->finish ());
}

bool resolve_live (GstBaseTransform* trans)
{
  DescribeState& st = state_of (trans);
  GST_OBJECT_LOCK (trans);
  const GstVlmDescribeMode mode = st.settings.mode;
  GST_OBJECT_UNLOCK (trans);
  if (mode != GST_VLM_DESCRIBE_MODE_AUTO)
    return mode == GST_VLM_DESCRIBE_MODE_LIVE;
  GstQuery* query = gst_query_new_latency ();
  gboolean live = FALSE;
  if (gst_pad_peer_query (GST_BASE_TRANSFORM_SINK_PAD (trans), query))
    gst_query_parse_latency (query, &live, nullptr, nullptr);
  gst_query_unref (query);
  GST_INFO_OBJECT (trans, "mode auto: upstream is %s", live ? "live" : "not live");
  return live;
}

std::optional<vlm::PixelFormat> pixel_format (GstVideoFormat format)
{
  switch (format) {
    case GST_VIDEO_FORMAT_RGB: return vlm::PixelFormat::RGB;
    case GST_VIDEO_FORMAT_RGBA: return vlm::PixelFormat::RGBA;
    case GST_VIDEO_FORMAT_RGBx: return vlm::PixelFormat::RGBx;
    case GST_VIDEO_FORMAT_BGRx: return vlm::PixelFormat::BGRx;
    case GST_VIDEO_FORMAT_BGRA: return vlm::PixelFormat::BGRA;
    case GST_VIDEO_FORMAT_I420: return vlm::PixelFormat::I420;
    case GST_VIDEO_FORMAT_NV12: return vlm::PixelFormat::NV12;
    default: return std::nullopt;
  }
}

/* The sampled frame copied in its own format (vlm::RawFrame): a plain copy of the planes on the
 * streaming thread; the colour conversion waits for the inference thread (or the GPU). */
std::optional<vlm::RawFrame> copy_frame (GstBaseTransform* trans, GstBuffer* buffer)
{
  DescribeState& st = state_of (trans);
  const auto format = pixel_format (GST_VIDEO_INFO_FORMAT (&st.info));
  if (!format)
    return std::nullopt;
  GstVideoFrame frame;
  if (!gst_video_frame_map (&frame, &st.info, buffer, GST_MAP_READ)) {
    GST_WARNING_OBJECT (trans, "could not map a buffer for reading; frame skipped");
    return std::nullopt;
  }
  vlm::FrameView view;
  view.format = *format;
  view.width = GST_VIDEO_FRAME_WIDTH (&frame);
  view.height = GST_VIDEO_FRAME_HEIGHT (&frame);
  for (guint p = 0; p < GST_VIDEO_FRAME_N_PLANES (&frame) && p < 3; ++p) {
    view.planes[p] = static_cast<const uint8_t*> (GST_VIDEO_FRAME_PLANE_DATA (&frame, p));
    view.strides[p] = GST_VIDEO_FRAME_PLANE_STRIDE (&frame, p);
  }
  std::optional<vlm::RawFrame> copy;
  try {
    copy = vlm::RawFrame::copy_of (view);
  } catch (const std::exception& e) {
    GST_WARNING_OBJECT (trans, "frame copy failed, frame skipped: %s", e.what ());
  }
  gst_video_frame_unmap (&frame);
  return copy;
}

GstFlowReturn transform_ip_impl (GstBaseTransform* trans, GstBuffer* buffer)
{
  DescribeState& st = state_of (trans);
  if (!st.worker)  // no model: pure passthrough
    return GST_FLOW_OK;
  if (!st.live_known) {
    st.live = resolve_live (trans);
    st.live_known = true;
  }
  GST_OBJECT_LOCK (trans);
  const WindowSpec spec = st.settings.window_spec ();
  GST_OBJECT_UNLOCK (trans);
  if (!st.builder || !(st.builder->spec () == spec)) {
    if (st.builder)
      break_windows (trans, "window, stride or sample-fps changed");
    st.builder = std::make_unique<WindowBuilder> (spec);
    st.builder->set_direction (st.direction);
  }

  const GstClockTime pts = GST_BUFFER_PTS (buffer);
  if (!GST_CLOCK_TIME_IS_VALID (pts)) {
    if (st.builder->pending_frames () > 0)
      break_windows (trans, "buffer without PTS");
  } else {
    const GstSegment* segment = &trans->segment;
    const GstClockTime rt = gst_segment_to_running_time (segment, GST_FORMAT_TIME, pts);
    if (GST_CLOCK_TIME_IS_VALID (rt)) {
      // Media time elapsed (see WindowFrame): equals the running time at rate 1.
      const int64_t running = st.time_scale == 1.0 ? static_cast<int64_t> (rt)
          : static_cast<int64_t> (std::llround (static_cast<double> (rt) * st.time_scale));
      const GstClockTime stream = gst_segment_to_stream_time (segment, GST_FORMAT_TIME, pts);
      if (st.last_running_ns) {
        if (running < *st.last_running_ns)
          break_windows (trans, "timestamps went backwards");
        else if (running - *st.last_running_ns > spec.window_ns)
          break_windows (trans, "timestamp gap longer than a window");
        else if (GST_BUFFER_FLAG_IS_SET (buffer, GST_BUFFER_FLAG_DISCONT))
          break_windows (trans, "discontinuity flag");
      }
      st.last_running_ns = running;
      submit_windows (trans, st.builder->advance (running));
      if (st.builder->wants (running)) {
        if (auto pixels = copy_frame (trans, buffer)) {
          auto frame = std::make_shared<WindowFrame> ();
          frame->pixels = std::move (*pixels);
          frame->running_ns = running;
          frame->stream_ns = GST_CLOCK_TIME_IS_VALID (stream) ? static_cast<int64_t> (stream) : running;
          st.builder->add (std::move (frame));
        }
      }
    }
  }
  push_outgoing (trans, buffer);
  return GST_FLOW_OK;
}

/* A checkpoint that is missing, invalid or unreadable fails the same way on any device; every
 * other load failure (no such device, out of device memory, a GPU held elsewhere, CUDA not built)
 * belongs to the device, and another device may load the model. */
bool can_fall_back (const vlm::Error& e, const DescribeSettings& settings)
{
  const vlm::ErrorCode code = e.code ();
  const bool checkpoint_failure = code == vlm::ErrorCode::NotFound ||
      code == vlm::ErrorCode::InvalidModel || code == vlm::ErrorCode::Io;
  return !checkpoint_failure && !settings.fallback_device.empty () &&
      settings.fallback_device != settings.device;
}

}  // namespace

gboolean
gst_vlm_describe_start (GstBaseTransform * trans)
{
  GstVlmDescribe* self = GST_VLM_DESCRIBE (trans);
  DescribeState& st = *self->state;
  GST_OBJECT_LOCK (self);
  const DescribeSettings settings = st.settings;
  GST_OBJECT_UNLOCK (self);
  st.builder.reset ();
  st.last_running_ns.reset ();
  st.live_known = false;
  st.direction = 1;
  st.time_scale = 1.0;
  st.text->reset ();
  st.stream = settings.stream_id.empty () ? std::string (GST_OBJECT_NAME (self)) : settings.stream_id;
  {
    std::lock_guard<std::mutex> lock (st.results_mutex);
    st.outgoing.clear ();
    st.merger.clear ();
  }
  gst_base_transform_set_passthrough (trans, settings.model.empty ());
  if (settings.model.empty ()) {
    GST_INFO_OBJECT (self, "no model set: video passes through, no inference");
    return TRUE;
  }
  try {
    std::string device = settings.device;
    std::shared_ptr<SharedRunner> runner;
    try {
      runner = acquire_runner ({settings.model, device});
    } catch (const vlm::Error& e) {
      if (!can_fall_back (e, settings))
        throw;
      GST_ELEMENT_WARNING (self, RESOURCE, BUSY,
          ("Could not use device '%s' (%s); running on '%s' instead.", device.c_str (),
              e.message ().c_str (), settings.fallback_device.c_str ()), ("%s", e.what ()));
      device = settings.fallback_device;
      runner = acquire_runner ({settings.model, device});
    }
    if (!settings.events_file.empty ()) {
      std::lock_guard<std::mutex> lock (st.results_mutex);
      st.events_file.open (settings.events_file, std::ios::out | std::ios::app);
      if (!st.events_file.is_open ()) {
        GST_ELEMENT_ERROR (self, RESOURCE, OPEN_WRITE,
            ("Could not open events file '%s' for writing.", settings.events_file.c_str ()),
            ("%s", g_strerror (errno)));
        return FALSE;
      }
    }
    std::lock_guard<std::mutex> lock (st.lifecycle_mutex);
    st.last_stats = WorkerStats ();
    st.runner = runner;
    st.device_in_use = device;
    st.worker = std::make_unique<Worker> (runner, static_cast<size_t> (settings.max_queue),
        [self] (const WindowJob& job, const WindowAnswer& answer) { publish (self, job, answer); },
        [self] (const WindowJob& job, const vlm::Error& error) { report_failure (self, job, error); });
  } catch (const vlm::Error& e) {
    if (e.code () == vlm::ErrorCode::NotFound)
      GST_ELEMENT_ERROR (self, RESOURCE, NOT_FOUND,
          ("Could not load model '%s': %s", settings.model.c_str (), e.message ().c_str ()),
          ("%s", e.what ()));
    else
      GST_ELEMENT_ERROR (self, LIBRARY, INIT,
          ("Could not load model '%s': %s", settings.model.c_str (), e.message ().c_str ()),
          ("%s", e.what ()));
    return FALSE;
  } catch (const std::exception& e) {
    GST_ELEMENT_ERROR (self, LIBRARY, INIT, ("Could not load model '%s'.", settings.model.c_str ()),
        ("%s", e.what ()));
    return FALSE;
  }
  GST_INFO_OBJECT (self, "model %s on %s ready", settings.model.c_str (), st.device_in_use.c_str ());
  return TRUE;
}

/* Buffers are made writable (a shallow copy when shared) only when a result waits to be attached:
 * the common case costs what identity costs. */
GstFlowReturn
gst_vlm_describe_prepare_output_buffer (GstBaseTransform * trans, GstBuffer * input,
    GstBuffer ** output)
{
  DescribeState& st = state_of (trans);
  bool pending;
  {
    std::lock_guard<std::mutex> lock (st.results_mutex);
    pending = !st.outgoing.empty ();
  }
  *output = (pending && !gst_buffer_is_writable (input)) ? gst_buffer_copy (input) : input;
  return GST_FLOW_OK;
}

gboolean
gst_vlm_describe_stop (GstBaseTransform * trans)
{
  DescribeState& st = state_of (trans);
  std::unique_ptr<Worker> worker;
  {
    std::lock_guard<std::mutex> lock (st.lifecycle_mutex);
    worker = std::move (st.worker);
    st.runner.reset ();
    st.device_in_use.clear ();
  }
  if (worker) {
    worker->stop ();  // cancels and joins
    std::lock_guard<std::mutex> lock (st.lifecycle_mutex);
    st.last_stats = worker->stats ();
  }
  worker.reset ();
  st.builder.reset ();
  std::lock_guard<std::mutex> lock (st.results_mutex);
  if (st.events_file.is_open ())
    st.events_file.close ();
  st.outgoing.clear ();
  return TRUE;
}

void
gst_vlm_describe_unblock (GstVlmDescribe * self)
{
  std::lock_guard<std::mutex> lock (self->state->lifecycle_mutex);
  if (self->state->worker)
    self->state->worker->set_flushing (true);
}

gboolean
gst_vlm_describe_set_caps (GstBaseTransform * trans, GstCaps * incaps, GstCaps * outcaps)
{
  (void) outcaps;
  DescribeState& st = state_of (trans);
  GstVideoInfo info;
  if (!gst_video_info_from_caps (&info, incaps)) {
    GST_WARNING_OBJECT (trans, "caps %" GST_PTR_FORMAT " are not raw video", incaps);
    return FALSE;
  }
  try {
    if (st.have_info && (info.width != st.info.width || info.height != st.info.height ||
            GST_VIDEO_INFO_FORMAT (&info) != GST_VIDEO_INFO_FORMAT (&st.info))) {
      gchar* why = g_strdup_printf ("resolution or format changed from %dx%d %s to %dx%d %s",
          st.info.width, st.info.height, gst_video_format_to_string (GST_VIDEO_INFO_FORMAT (&st.info)),
          info.width, info.height, gst_video_format_to_string (GST_VIDEO_INFO_FORMAT (&info)));
      break_windows (trans, why);
      g_free (why);
    }
  } catch (const std::exception& e) {
    GST_WARNING_OBJECT (trans, "closing windows failed: %s", e.what ());
  }
  st.info = info;
  st.have_info = true;
  st.text->on_caps ();
  return TRUE;
}

gboolean
gst_vlm_describe_sink_event (GstBaseTransform * trans, GstEvent * event)
{
  DescribeState& st = state_of (trans);
  try {
    switch (GST_EVENT_TYPE (event)) {
      case GST_EVENT_STREAM_START:
        st.text->on_stream_start (event);
        break;
      case GST_EVENT_FLUSH_START:
        gst_vlm_describe_unblock (GST_VLM_DESCRIBE (trans));
        st.text->flush_start ();
        break;
      case GST_EVENT_FLUSH_STOP:
        GST_DEBUG_OBJECT (trans, "starting a new window: flush (%zu pending frames dropped)",
            st.builder ? st.builder->pending_frames () : 0);
        if (st.builder)
          st.builder->reset ();
        st.last_running_ns.reset ();
        if (st.worker)
          st.worker->set_flushing (false);
        {
          gboolean reset_time = TRUE;
          gst_event_parse_flush_stop (event, &reset_time);
          st.text->flush_stop (reset_time);
        }
        break;
      case GST_EVENT_SEGMENT: {
        break_windows (trans, "new segment");
        GstSegment segment;
        gst_event_copy_segment (event, &segment);
        const double rate = segment.rate * segment.applied_rate;
        st.direction = rate < 0 ? -1 : 1;
        st.time_scale = std::abs (rate) > 0 ? std::abs (rate) : 1.0;
        if (st.builder)
          st.builder->set_direction (st.direction);
        if (rate != 1.0)
          GST_DEBUG_OBJECT (trans, "segment rate %g x applied rate %g: windows span %s media time",
              segment.rate, segment.applied_rate, rate < 0 ? "reversed" : "scaled");
        if (segment.format == GST_FORMAT_TIME)
          st.text->on_segment (segment);
        break;
      }
      case GST_EVENT_EOS:
        break_windows (trans, "end of stream");
        if (st.worker && !st.worker->drain ())
          GST_DEBUG_OBJECT (trans, "EOS drain interrupted by a flush or stop");
        push_outgoing (trans, nullptr);
        st.text->on_eos ();
        break;
      default:
        break;
    }
  } catch (const std::exception& e) {
    GST_ELEMENT_WARNING (trans, STREAM, FAILED, ("vlmdescribe could not handle an event."),
        ("%s: %s", GST_EVENT_TYPE_NAME (event), e.what ()));
  }
  return GST_BASE_TRANSFORM_CLASS (g_type_class_peek_parent (G_OBJECT_GET_CLASS (trans)))
      ->sink_event (trans, event);
}

GstFlowReturn
gst_vlm_describe_transform_ip (GstBaseTransform * trans, GstBuffer * buffer)
{
  try {
    return transform_ip_impl (trans, buffer);
  } catch (const std::exception& e) {
    GST_ELEMENT_WARNING (trans, STREAM, FAILED, ("vlmdescribe skipped a frame."), ("%s", e.what ()));
    return GST_FLOW_OK;
  }
}

GstStructure*
gst_vlm_describe_stats (GstVlmDescribe * self)
{
  DescribeState& st = *self->state;
  WorkerStats w;
  std::string device;
  {
    std::lock_guard<std::mutex> lock (st.lifecycle_mutex);
    w = st.worker ? st.worker->stats () : st.last_stats;
    device = st.device_in_use;
  }
  uint64_t events = 0;
  {
    std::lock_guard<std::mutex> lock (st.results_mutex);
    events = st.events_published;
  }
  return gst_structure_new ("vlm-stats",
      "windows-submitted", G_TYPE_UINT64, static_cast<guint64> (w.submitted),
      "windows-done", G_TYPE_UINT64, static_cast<guint64> (w.done),
      "windows-dropped", G_TYPE_UINT64, static_cast<guint64> (w.dropped),
      "windows-discarded", G_TYPE_UINT64, static_cast<guint64> (w.discarded),
      "windows-cancelled", G_TYPE_UINT64, static_cast<guint64> (w.cancelled),
      "windows-failed", G_TYPE_UINT64, static_cast<guint64> (w.failed),
      "windows-pending", G_TYPE_UINT64, static_cast<guint64> (w.pending),
      "events", G_TYPE_UINT64, static_cast<guint64> (events),
      "live", G_TYPE_BOOLEAN, static_cast<gboolean> (st.live.load ()),
      "device", G_TYPE_STRING, device.c_str (), nullptr);
}
