/* vlmdescribe GObject side: type, pads, properties (validated, documented for gst-inspect), state
 * changes. The streaming behaviour lives in vlmdescribe_stream.cpp.
 *
 * SECTION:element-vlmdescribe
 * @title: vlmdescribe
 *
 * Describes video with a Qwen2.5-VL checkpoint while the video passes through unchanged. Frames
 * are sampled by running time at #GstVlmDescribe:sample-fps into windows of
 * #GstVlmDescribe:window seconds every #GstVlmDescribe:stride seconds; each window is answered on
 * a worker thread and its results are published as GstVlmEventMeta on the next outgoing buffer,
 * "vlm-event" element messages, "vlm-event" custom downstream events and (optionally) a JSON
 * Lines file, all with the fields stream, kind, start, end, start_ns, end_ns, text, id,
 * window_start, window_end and frames. The "text_src" pad gives the same results as text/x-raw
 * buffers timed with what they describe (a sparse stream, for subtitle-like consumers; to write
 * results onto the video as they arrive use vlmoverlay).
 *
 * Timing: windows are cut by running time, so variable frame rates, gaps, seeks and new segments
 * are handled by real time; a missing PTS, a gap longer than a window, timestamps going backwards,
 * a new segment, a flush or a resolution change close the pending windows and start a new grid
 * (GST_DEBUG=vlmdescribe:5 says which). Results are reported in stream time.
 *
 * Latency: the video is never delayed by the element (in live mode it never waits at all), so it
 * answers latency queries with upstream's latency unchanged; results arrive after their window
 * closes plus the inference time and ride on the next outgoing buffer.
 *
 * Threads: inference runs on one worker thread per element; elements with the same model and
 * device share one loaded engine and take turns first come, first served.
 *
 * ## Example launch line
 * |[
 * gst-launch-1.0 filesrc location=clip.mp4 ! decodebin ! videoconvert ! \
 *     vlmdescribe model=/models/Qwen2.5-VL-3B-Instruct task=events events-file=events.jsonl ! \
 *     fakesink
 * ]|
 */
#include <cmath>
#include <cstring>
#include <string>

#include "gstvlmdescribe_private.h"
#include "vlm/localize.h"

GST_DEBUG_CATEGORY (gst_vlm_describe_debug);
#define GST_CAT_DEFAULT gst_vlm_describe_debug

using vlm::gst::DescribeSettings;
using vlm::gst::DescribeState;
using vlm::gst::Task;

enum {
  PROP_0,
  PROP_MODEL,
  PROP_DEVICE,
  PROP_PROMPT,
  PROP_TASK,
  PROP_SAMPLE_FPS,
  PROP_WINDOW,
  PROP_STRIDE,
  PROP_MIN_PIXELS,
  PROP_MAX_PIXELS,
  PROP_MAX_NEW_TOKENS,
  PROP_MODE,
  PROP_MAX_QUEUE,
  PROP_STREAM_ID,
  PROP_EVENTS_FILE,
  PROP_QUERY_THRESHOLD,
  PROP_FALLBACK_DEVICE,
  PROP_STATS,
};

/* Up to 8K: a sampled frame is kept as RGB until its windows are answered, so absurd sizes would
 * only exhaust memory (the model sees at most max-pixels per frame anyway). */
#define VLM_CAPS \
  "video/x-raw, format = (string) { RGB, RGBA, RGBx, BGRx, BGRA, I420, NV12 }, " \
  "width = (int) [ 1, 8192 ], height = (int) [ 1, 8192 ], framerate = (fraction) [ 0, MAX ]"

static GstStaticPadTemplate sink_template = GST_STATIC_PAD_TEMPLATE ("sink", GST_PAD_SINK,
    GST_PAD_ALWAYS, GST_STATIC_CAPS (VLM_CAPS));
static GstStaticPadTemplate src_template = GST_STATIC_PAD_TEMPLATE ("src", GST_PAD_SRC,
    GST_PAD_ALWAYS, GST_STATIC_CAPS (VLM_CAPS));

static GstStaticPadTemplate text_template = GST_STATIC_PAD_TEMPLATE ("text_src", GST_PAD_SRC,
    GST_PAD_ALWAYS, GST_STATIC_CAPS ("text/x-raw, format = (string) utf8"));

G_DEFINE_TYPE (GstVlmDescribe, gst_vlm_describe, GST_TYPE_BASE_TRANSFORM)

GType
gst_vlm_describe_task_get_type (void)
{
  static GType type = 0;
  static const GEnumValue values[] = {
    {GST_VLM_DESCRIBE_TASK_DESCRIBE, "One description per window", "describe"},
    {GST_VLM_DESCRIBE_TASK_EVENTS, "Timestamped events per window (JSON answer, parsed)", "events"},
    {GST_VLM_DESCRIBE_TASK_QUERY, "When does the prompt's event happen: each window scored, likely ones asked for start and end times", "query"},
    {0, nullptr, nullptr},
  };
  if (g_once_init_enter (&type)) {
    GType t = g_enum_register_static ("GstVlmDescribeTask", values);
    g_once_init_leave (&type, t);
  }
  return type;
}

GType
gst_vlm_describe_mode_get_type (void)
{
  static GType type = 0;
  static const GEnumValue values[] = {
    {GST_VLM_DESCRIBE_MODE_AUTO, "Live when upstream is live, file otherwise", "auto"},
    {GST_VLM_DESCRIBE_MODE_LIVE, "Never hold video back; drop the oldest pending window", "live"},
    {GST_VLM_DESCRIBE_MODE_FILE, "Hold upstream back; answer every window", "file"},
    {0, nullptr, nullptr},
  };
  if (g_once_init_enter (&type)) {
    GType t = g_enum_register_static ("GstVlmDescribeMode", values);
    g_once_init_leave (&type, t);
  }
  return type;
}

namespace vlm::gst {

WindowSpec DescribeSettings::window_spec () const
{
  WindowSpec spec;
  spec.sample_fps = sample_fps;
  spec.window_ns = std::llround (window_seconds * 1e9);
  spec.stride_ns = std::llround (stride_seconds * 1e9);
  return spec;
}

WindowTask DescribeSettings::window_task () const
{
  WindowTask t;
  t.task = task;
  t.user_prompt = prompt;
  switch (task) {
    case Task::Describe:
      t.prompt = prompt.empty () ? "Describe what happens in this video." : prompt;
      break;
    case Task::Events:
      // The official cookbook's localisation prompt (spec §9.1), in seconds for easy parsing.
      t.prompt = prompt.empty () ?
          "Localize a series of activity events in the video, output the start and end timestamp "
          "for each event, and describe each event with sentences. Provide the result in json "
          "format with 'mm:ss.ff' format for time depiction." : prompt;
      break;
    case Task::Query:
      t.prompt = vlm::localize_refine_prompt (prompt);  // the refine question, as `vlm localize`
      break;
  }
  t.sample_fps = sample_fps;
  t.min_pixels = min_pixels;
  t.max_pixels = max_pixels;
  t.max_new_tokens = max_new_tokens;
  t.query_threshold = query_threshold;
  return t;
}

}  // namespace vlm::gst

/* "cpu", "cuda" or "cuda:N" (N of 1 to 3 digits). */
static bool
valid_device (const char *device)
{
  if (device == nullptr)
    return false;
  const std::string d (device);
  if (d == "cpu" || d == "cuda")
    return true;
  if (d.rfind ("cuda:", 0) != 0 || d.size () < 6 || d.size () > 8)
    return false;
  return d.find_first_not_of ("0123456789", 5) == std::string::npos;
}

static void
gst_vlm_describe_set_property (GObject * object, guint prop_id, const GValue * value,
    GParamSpec * pspec)
{
  GstVlmDescribe *self = GST_VLM_DESCRIBE (object);
  DescribeSettings & s = self->state->settings;
  auto str = [value] { const gchar *v = g_value_get_string (value); return std::string (v ? v : ""); };
  GST_OBJECT_LOCK (self);
  switch (prop_id) {
    case PROP_MODEL: s.model = str (); break;
    case PROP_DEVICE:
      if (valid_device (g_value_get_string (value))) {
        s.device = str ();
      } else {
        GST_OBJECT_UNLOCK (self);
        g_warning ("vlmdescribe: device '%s' is not one of cpu, cuda, cuda:N; keeping '%s'",
            g_value_get_string (value), s.device.c_str ());
        return;
      }
      break;
    case PROP_PROMPT: s.prompt = str (); break;
    case PROP_TASK: s.task = static_cast<Task> (g_value_get_enum (value)); break;
    case PROP_SAMPLE_FPS: s.sample_fps = g_value_get_double (value); break;
    case PROP_WINDOW: s.window_seconds = g_value_get_double (value); break;
    case PROP_STRIDE: s.stride_seconds = g_value_get_double (value); break;
    case PROP_MIN_PIXELS: s.min_pixels = g_value_get_int64 (value); break;
    case PROP_MAX_PIXELS: s.max_pixels = g_value_get_int64 (value); break;
    case PROP_MAX_NEW_TOKENS: s.max_new_tokens = g_value_get_int (value); break;
    case PROP_MODE: s.mode = static_cast<GstVlmDescribeMode> (g_value_get_enum (value)); break;
    case PROP_MAX_QUEUE:
      s.max_queue = g_value_get_int (value);
      GST_OBJECT_UNLOCK (self);
      {
        std::lock_guard<std::mutex> lock (self->state->lifecycle_mutex);
        if (self->state->worker)
          self->state->worker->set_max_queue (static_cast<size_t> (g_value_get_int (value)));
      }
      return;
    case PROP_STREAM_ID: s.stream_id = str (); break;
    case PROP_EVENTS_FILE: s.events_file = str (); break;
    case PROP_QUERY_THRESHOLD: s.query_threshold = g_value_get_double (value); break;
    case PROP_FALLBACK_DEVICE:
      if (g_value_get_string (value) == nullptr || *g_value_get_string (value) == '\0' ||
          valid_device (g_value_get_string (value))) {
        s.fallback_device = str ();
      } else {
        GST_OBJECT_UNLOCK (self);
        g_warning ("vlmdescribe: fallback-device '%s' is not one of cpu, cuda, cuda:N; keeping '%s'",
            g_value_get_string (value), s.fallback_device.c_str ());
        return;
      }
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
      break;
  }
  GST_OBJECT_UNLOCK (self);
}

static void
gst_vlm_describe_get_property (GObject * object, guint prop_id, GValue * value, GParamSpec * pspec)
{
  GstVlmDescribe *self = GST_VLM_DESCRIBE (object);
  if (prop_id == PROP_STATS) {
    g_value_take_boxed (value, gst_vlm_describe_stats (self));
    return;
  }
  const DescribeSettings & s = self->state->settings;
  auto nullable = [] (const std::string & v) { return v.empty () ? nullptr : v.c_str (); };
  GST_OBJECT_LOCK (self);
  switch (prop_id) {
    case PROP_MODEL: g_value_set_string (value, nullable (s.model)); break;
    case PROP_DEVICE: g_value_set_string (value, s.device.c_str ()); break;
    case PROP_PROMPT: g_value_set_string (value, nullable (s.prompt)); break;
    case PROP_TASK: g_value_set_enum (value, static_cast<gint> (s.task)); break;
    case PROP_SAMPLE_FPS: g_value_set_double (value, s.sample_fps); break;
    case PROP_WINDOW: g_value_set_double (value, s.window_seconds); break;
    case PROP_STRIDE: g_value_set_double (value, s.stride_seconds); break;
    case PROP_MIN_PIXELS: g_value_set_int64 (value, s.min_pixels); break;
    case PROP_MAX_PIXELS: g_value_set_int64 (value, s.max_pixels); break;
    case PROP_MAX_NEW_TOKENS: g_value_set_int (value, s.max_new_tokens); break;
    case PROP_MODE: g_value_set_enum (value, s.mode); break;
    case PROP_MAX_QUEUE: g_value_set_int (value, s.max_queue); break;
    case PROP_STREAM_ID: g_value_set_string (value, nullable (s.stream_id)); break;
    case PROP_EVENTS_FILE: g_value_set_string (value, nullable (s.events_file)); break;
    case PROP_QUERY_THRESHOLD: g_value_set_double (value, s.query_threshold); break;
    case PROP_FALLBACK_DEVICE: g_value_set_string (value, nullable (s.fallback_device)); break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
      break;
  }
  GST_OBJECT_UNLOCK (self);
}

static GstStateChangeReturn
gst_vlm_describe_change_state (GstElement * element, GstStateChange transition)
{
  GstVlmDescribe *self = GST_VLM_DESCRIBE (element);
  /* A streaming thread waiting on a full queue (file mode) or an EOS drain must be released
   * before the base class deactivates the pads, or the deactivation would wait for it forever. */
  if (transition == GST_STATE_CHANGE_PAUSED_TO_READY)
    gst_vlm_describe_unblock (self);
  return GST_ELEMENT_CLASS (gst_vlm_describe_parent_class)->change_state (element, transition);
}

static void
gst_vlm_describe_finalize (GObject * object)
{
  GstVlmDescribe *self = GST_VLM_DESCRIBE (object);
  delete self->state;
  self->state = nullptr;
  G_OBJECT_CLASS (gst_vlm_describe_parent_class)->finalize (object);
}

static gboolean
gst_vlm_describe_text_activate_mode (GstPad * pad, GstObject * parent, GstPadMode mode,
    gboolean active)
{
  (void) pad;
  if (mode != GST_PAD_MODE_PUSH)
    return FALSE;
  return GST_VLM_DESCRIBE (parent)->state->text->activate (active);
}

static void
gst_vlm_describe_init (GstVlmDescribe * self)
{
  self->state = new DescribeState ();
  self->text_pad = gst_pad_new_from_static_template (&text_template, "text_src");
  self->state->text = std::make_unique<vlm::gst::TextOutput> (self->text_pad);
  gst_pad_set_activatemode_function (self->text_pad,
      GST_DEBUG_FUNCPTR (gst_vlm_describe_text_activate_mode));
  gst_pad_use_fixed_caps (self->text_pad);
  gst_element_add_pad (GST_ELEMENT (self), self->text_pad);
  gst_base_transform_set_in_place (GST_BASE_TRANSFORM (self), TRUE);
}

static void
gst_vlm_describe_class_init (GstVlmDescribeClass * klass)
{
  GObjectClass *gobject_class = G_OBJECT_CLASS (klass);
  GstElementClass *element_class = GST_ELEMENT_CLASS (klass);
  GstBaseTransformClass *trans_class = GST_BASE_TRANSFORM_CLASS (klass);
  const auto rw = static_cast<GParamFlags> (G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS);
  const auto rw_playing = static_cast<GParamFlags> (rw | GST_PARAM_MUTABLE_PLAYING);
  const auto rw_ready = static_cast<GParamFlags> (rw | GST_PARAM_MUTABLE_READY);

  gobject_class->set_property = gst_vlm_describe_set_property;
  gobject_class->get_property = gst_vlm_describe_get_property;
  gobject_class->finalize = gst_vlm_describe_finalize;

  g_object_class_install_property (gobject_class, PROP_MODEL,
      g_param_spec_string ("model", "Model",
          "Folder of a Qwen2.5-VL checkpoint (config.json, *.safetensors, tokenizer.json). "
          "Unset: no inference, video passes through. Loaded at READY->PAUSED; a missing or "
          "invalid checkpoint is an error naming the file", nullptr, rw_ready));
  g_object_class_install_property (gobject_class, PROP_DEVICE,
      g_param_spec_string ("device", "Device",
          "Where the model runs: cpu, cuda or cuda:N. Elements with the same model and device "
          "share one loaded engine", "cpu", rw_ready));
  g_object_class_install_property (gobject_class, PROP_PROMPT,
      g_param_spec_string ("prompt", "Prompt",
          "Text sent with each window (task=describe/events: replaces the default instruction; "
          "task=query: the event to find)", nullptr, rw_playing));
  g_object_class_install_property (gobject_class, PROP_TASK,
      g_param_spec_enum ("task", "Task",
          "What to ask about each window; applies from the next window",
          GST_TYPE_VLM_DESCRIBE_TASK, GST_VLM_DESCRIBE_TASK_DESCRIBE, rw_playing));
  g_object_class_install_property (gobject_class, PROP_SAMPLE_FPS,
      g_param_spec_double ("sample-fps", "Sample FPS",
          "Frames per second given to the model, chosen by timestamp (2.0 is the rate "
          "Qwen2.5-VL was trained with)", 0.01, 60.0, 2.0, rw_playing));
  g_object_class_install_property (gobject_class, PROP_WINDOW,
      g_param_spec_double ("window", "Window",
          "Length of each window in seconds of media time (the same windows at any playback "
          "rate; reverse playback gives the model each window's frames in media order)",
          0.05, 3600.0, 4.0, rw_playing));
  g_object_class_install_property (gobject_class, PROP_STRIDE,
      g_param_spec_double ("stride", "Stride",
          "Seconds between window starts (less than window: overlapping windows)",
          0.05, 3600.0, 2.0, rw_playing));
  g_object_class_install_property (gobject_class, PROP_MIN_PIXELS,
      g_param_spec_int64 ("min-pixels", "Min pixels",
          "Lower bound of the pixels per frame given to the model (frames are resized keeping "
          "their aspect ratio, sides multiples of 28)", 784, G_MAXINT32, 100352, rw_playing));
  g_object_class_install_property (gobject_class, PROP_MAX_PIXELS,
      g_param_spec_int64 ("max-pixels", "Max pixels",
          "Upper bound of the pixels per frame (0: the reference budget, 602112 for short "
          "windows)", 0, G_MAXINT32, 0, rw_playing));
  g_object_class_install_property (gobject_class, PROP_MAX_NEW_TOKENS,
      g_param_spec_int ("max-new-tokens", "Max new tokens",
          "Longest answer per window, in tokens", 1, 8192, 128, rw_playing));
  g_object_class_install_property (gobject_class, PROP_MODE,
      g_param_spec_enum ("mode", "Mode",
          "live: video never waits, the oldest pending window is dropped when the queue is "
          "full; file: upstream waits, every window is answered, EOS waits for all results; "
          "auto: live when upstream reports a live latency", GST_TYPE_VLM_DESCRIBE_MODE,
          GST_VLM_DESCRIBE_MODE_AUTO, rw_ready));
  g_object_class_install_property (gobject_class, PROP_MAX_QUEUE,
      g_param_spec_int ("max-queue", "Max queue",
          "Windows waiting for the model at most (besides the one being answered)", 1, 1000, 2,
          rw_playing));
  g_object_class_install_property (gobject_class, PROP_STREAM_ID,
      g_param_spec_string ("stream-id", "Stream ID",
          "Name of this stream in every result (unset: the element's name)", nullptr, rw_ready));
  g_object_class_install_property (gobject_class, PROP_EVENTS_FILE,
      g_param_spec_string ("events-file", "Events file",
          "Append every result as one JSON object per line to this file (unset: no file)",
          nullptr, rw_ready));
  g_object_class_install_property (gobject_class, PROP_QUERY_THRESHOLD,
      g_param_spec_double ("query-threshold", "Query threshold",
          "task=query: each window is first scored with the model's probability of answering "
          "yes to \"does this clip show <prompt>?\" on every other sampled frame at a quarter of "
          "the pixels; windows scoring at least this are then asked for start and end times on "
          "all their frames. Every window's score is published (field score)",
          0.0, 1.0, 0.5, rw_playing));
  g_object_class_install_property (gobject_class, PROP_FALLBACK_DEVICE,
      g_param_spec_string ("fallback-device", "Fallback device",
          "Where the model runs when it cannot be loaded on device (no such GPU, out of device "
          "memory, GPU held by another process, CUDA not built): a warning names the reason and "
          "the element continues there. Unset: that failure is an error and the element does not "
          "start. The device in use is in stats (field device)", nullptr, rw_ready));
  g_object_class_install_property (gobject_class, PROP_STATS,
      g_param_spec_boxed ("stats", "Statistics",
          "Counters: windows-submitted, windows-done, windows-dropped (live mode), "
          "windows-discarded (flushes), windows-cancelled, windows-failed, windows-pending, "
          "events, live, device (where the model runs; empty when none is loaded)", GST_TYPE_STRUCTURE,
          static_cast<GParamFlags> (G_PARAM_READABLE | G_PARAM_STATIC_STRINGS)));

  gst_element_class_set_static_metadata (element_class, "VLM video describer",
      "Filter/Analyzer/Video",
      "Describes video with a Qwen2.5-VL model while passing it through unchanged; results as "
      "GstVlmEventMeta, vlm-event bus messages and custom events, and JSON Lines. Example: "
      "gst-launch-1.0 filesrc location=clip.mp4 ! decodebin ! videoconvert ! vlmdescribe "
      "model=/models/Qwen2.5-VL-3B-Instruct task=events events-file=events.jsonl ! fakesink. "
      "Results come after the window they describe: to burn text_src into the video with "
      "textoverlay (wait-text=true), put an unbounded queue on the video branch "
      "(vlmdescribe name=d ! queue max-size-time=0 max-size-buffers=0 max-size-bytes=0 ! "
      "textoverlay name=o ! ...  d.text_src ! o.text_sink); text_src sends GAP events so the "
      "overlay never waits for text that will not come",
      "gst-vlm developers");
  gst_element_class_add_static_pad_template (element_class, &sink_template);
  gst_element_class_add_static_pad_template (element_class, &src_template);
  gst_element_class_add_static_pad_template (element_class, &text_template);
  element_class->change_state = GST_DEBUG_FUNCPTR (gst_vlm_describe_change_state);

  trans_class->start = GST_DEBUG_FUNCPTR (gst_vlm_describe_start);
  trans_class->stop = GST_DEBUG_FUNCPTR (gst_vlm_describe_stop);
  trans_class->set_caps = GST_DEBUG_FUNCPTR (gst_vlm_describe_set_caps);
  trans_class->sink_event = GST_DEBUG_FUNCPTR (gst_vlm_describe_sink_event);
  trans_class->transform_ip = GST_DEBUG_FUNCPTR (gst_vlm_describe_transform_ip);
  trans_class->prepare_output_buffer = GST_DEBUG_FUNCPTR (gst_vlm_describe_prepare_output_buffer);
  trans_class->passthrough_on_same_caps = FALSE;
  trans_class->transform_ip_on_passthrough = FALSE;

  gst_type_mark_as_plugin_api (GST_TYPE_VLM_DESCRIBE_TASK, static_cast<GstPluginAPIFlags> (0));
  gst_type_mark_as_plugin_api (GST_TYPE_VLM_DESCRIBE_MODE, static_cast<GstPluginAPIFlags> (0));
  GST_DEBUG_CATEGORY_INIT (gst_vlm_describe_debug, "vlmdescribe", 0,
      "vlmdescribe: video description with a vision-language model");
}

gboolean
gst_vlm_describe_register (GstPlugin * plugin)
{
  return gst_element_register (plugin, "vlmdescribe", GST_RANK_NONE, GST_TYPE_VLM_DESCRIBE);
}
