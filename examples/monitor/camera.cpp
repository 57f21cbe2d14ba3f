// Camera: pipeline construction without gst_parse_launch (URLs and prompts are never parsed as
// pipeline syntax), dynamic pad linking, result publishing from the fakesink pad probe, and the
// failure/backoff/retry state machine driven from the main loop.
#include "camera.h"

#include <cstdio>

namespace vlm::monitor {
namespace {

int64_t steady_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::steady_clock::now().time_since_epoch()).count();
}

gboolean field_to_json(GQuark field, const GValue* value, gpointer user_data) {
  nlohmann::ordered_json& j = *static_cast<nlohmann::ordered_json*>(user_data);
  const char* name = g_quark_to_string(field);
  switch (G_VALUE_TYPE(value)) {
    case G_TYPE_STRING: j[name] = g_value_get_string(value) ? g_value_get_string(value) : ""; break;
    case G_TYPE_INT: j[name] = g_value_get_int(value); break;
    case G_TYPE_UINT: j[name] = g_value_get_uint(value); break;
    case G_TYPE_INT64: j[name] = g_value_get_int64(value); break;
    case G_TYPE_UINT64: j[name] = g_value_get_uint64(value); break;
    case G_TYPE_DOUBLE: j[name] = g_value_get_double(value); break;
    case G_TYPE_BOOLEAN: j[name] = static_cast<bool>(g_value_get_boolean(value)); break;
    default: {
      gchar* s = gst_value_serialize(value);
      j[name] = s ? s : "";
      g_free(s);
    }
  }
  return TRUE;
}

uint64_t describe_stat(GstElement* describe, const char* field) {
  if (describe == nullptr) return 0;
  GstStructure* s = nullptr;
  g_object_get(describe, "stats", &s, nullptr);
  guint64 v = 0;
  if (s) {
    gst_structure_get_uint64(s, field, &v);
    gst_structure_free(s);
  }
  return v;
}

}  // namespace

Camera::Camera(CameraConfig camera, const MonitorConfig& monitor, net::Publisher& publisher)
    : cam_(std::move(camera)), mon_(monitor), publisher_(publisher) {}

Camera::~Camera() {
  if (retry_source_) g_source_remove(retry_source_);
  teardown();
}

void Camera::on_pad_added(GstElement*, GstPad* pad, gpointer sink_element) {
  GstElement* sink = GST_ELEMENT(sink_element);
  GstPad* sinkpad = gst_element_get_static_pad(sink, "sink");
  if (!gst_pad_is_linked(sinkpad)) {
    GstCaps* caps = gst_pad_get_current_caps(pad);
    if (caps == nullptr) caps = gst_pad_query_caps(pad, nullptr);
    const gchar* media = gst_structure_get_name(gst_caps_get_structure(caps, 0));
    const bool wanted = g_str_has_prefix(media, "video/") || g_str_has_prefix(media, "application/x-rtp");
    if (wanted) gst_pad_link(pad, sinkpad);
    gst_caps_unref(caps);
  }
  gst_object_unref(sinkpad);
}

bool Camera::build(std::string* error) {
  const bool rtsp = cam_.url.rfind("rtsp://", 0) == 0 || cam_.url.rfind("rtsps://", 0) == 0;
  pipeline_ = gst_pipeline_new(cam_.name.c_str());
  GstElement* src = gst_element_factory_make(rtsp ? "rtspsrc" : "uridecodebin", "src");
  GstElement* decode = rtsp ? gst_element_factory_make("decodebin", "decode") : nullptr;
  GstElement* convert = gst_element_factory_make("videoconvert", "convert");
  describe_ = gst_element_factory_make("vlmdescribe", "describe");
  GstElement* sink = gst_element_factory_make("fakesink", "sink");
  if (!src || (rtsp && !decode) || !convert || !describe_ || !sink) {
    *error = std::string("missing GStreamer element: ") + (!src ? (rtsp ? "rtspsrc" : "uridecodebin")
             : !describe_ ? "vlmdescribe (is the vlm plugin on GST_PLUGIN_PATH?)" : "decodebin/videoconvert/fakesink");
    for (GstElement* e : {src, decode, convert, describe_, sink})
      if (e) gst_object_unref(e);
    describe_ = nullptr;
    gst_object_unref(pipeline_);
    pipeline_ = nullptr;
    return false;
  }
  if (rtsp) {
    g_object_set(src, "location", cam_.url.c_str(), "latency", 200u, nullptr);
    gst_util_set_object_arg(G_OBJECT(src), "protocols", "tcp");
  } else {
    g_object_set(src, "uri", cam_.url.c_str(), nullptr);
  }
  g_object_set(describe_, "model", mon_.model.c_str(), "device", mon_.device.c_str(), "stream-id",
               cam_.name.c_str(), "sample-fps", cam_.sample_fps, "window", cam_.window, "stride",
               cam_.stride, nullptr);
  if (!cam_.prompt.empty()) g_object_set(describe_, "prompt", cam_.prompt.c_str(), nullptr);
  if (!cam_.task.empty()) gst_util_set_object_arg(G_OBJECT(describe_), "task", cam_.task.c_str());
  for (const auto& [key, value] : cam_.describe) {
    if (g_object_class_find_property(G_OBJECT_GET_CLASS(describe_), key.c_str()) == nullptr) {
      *error = "vlmdescribe has no property '" + key + "'";
      gst_object_unref(pipeline_);
      pipeline_ = describe_ = nullptr;
      return false;
    }
    gst_util_set_object_arg(G_OBJECT(describe_), key.c_str(), value.c_str());
  }
  g_object_set(sink, "sync", FALSE, "async", FALSE, nullptr);
  gst_bin_add_many(GST_BIN(pipeline_), src, convert, describe_, sink, nullptr);
  if (rtsp) {
    gst_bin_add(GST_BIN(pipeline_), decode);
    g_signal_connect(src, "pad-added", G_CALLBACK(on_pad_added), decode);
    g_signal_connect(decode, "pad-added", G_CALLBACK(on_pad_added), convert);
  } else {
    g_signal_connect(src, "pad-added", G_CALLBACK(on_pad_added), convert);
  }
  gst_element_link_many(convert, describe_, sink, nullptr);
  GstPad* in = gst_element_get_static_pad(describe_, "sink");
  gst_pad_add_probe(in, GST_PAD_PROBE_TYPE_BUFFER, on_frame, this, nullptr);
  gst_object_unref(in);
  GstPad* out = gst_element_get_static_pad(sink, "sink");
  gst_pad_add_probe(out, GST_PAD_PROBE_TYPE_EVENT_DOWNSTREAM, on_result, this, nullptr);
  gst_object_unref(out);
  GstBus* bus = gst_element_get_bus(pipeline_);
  bus_watch_ = gst_bus_add_watch(bus, on_bus, this);
  gst_object_unref(bus);
  return true;
}

void Camera::start() {
  if (state_ == State::Stopped || state_ == State::Draining) return;
  retry_source_ = 0;
  std::string error;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    ++session_;
    anchored_ = false;
    if (session_ > 1) ++reconnects_;
  }
  session_started_ = std::chrono::steady_clock::now();
  last_frame_ns_ = 0;
  if (!build(&error)) return fail(error);
  state_ = State::Running;
  if (gst_element_set_state(pipeline_, GST_STATE_PLAYING) == GST_STATE_CHANGE_FAILURE)
    return fail("cannot start the pipeline");
  if (watchdog_source_ == 0) watchdog_source_ = g_timeout_add(500, on_watchdog, this);
}

void Camera::teardown() {
  if (pipeline_ == nullptr) return;
  if (bus_watch_) g_source_remove(bus_watch_);
  bus_watch_ = 0;
  gst_element_set_state(pipeline_, GST_STATE_NULL);
  const uint64_t dropped = describe_stat(describe_, "windows-dropped");
  {
    std::lock_guard<std::mutex> lock(mutex_);
    drops_before_ += dropped;
    drops_current_ = 0;
  }
  gst_object_unref(pipeline_);
  pipeline_ = describe_ = nullptr;
}

void Camera::fail(const std::string& why) {
  teardown();
  {
    std::lock_guard<std::mutex> lock(mutex_);
    ++failures_;
    last_error_ = why;
  }
  if (state_ == State::Draining || state_ == State::Stopped) {
    state_ = State::Stopped;
    return;
  }
  state_ = State::Retrying;
  const double base = std::min<double>(static_cast<double>(mon_.backoff_max.count()),
      static_cast<double>(mon_.backoff_initial.count()) * static_cast<double>(1u << std::min(attempt_.load(), 20)));
  std::uniform_real_distribution<double> jitter(0.5, 1.0);
  const guint delay = static_cast<guint>(base * jitter(rng_));
  ++attempt_;
  std::fprintf(stderr, "vlm-monitor: camera %s: %s; retrying in %u ms\n", cam_.name.c_str(),
               why.c_str(), delay);
  retry_source_ = g_timeout_add(delay, on_retry, this);
}

gboolean Camera::on_retry(gpointer self) {
  static_cast<Camera*>(self)->start();
  return G_SOURCE_REMOVE;
}

gboolean Camera::on_watchdog(gpointer p) {
  Camera& c = *static_cast<Camera*>(p);
  if (c.state_ != State::Running) return G_SOURCE_CONTINUE;
  const uint64_t dropped = describe_stat(c.describe_, "windows-dropped");
  {
    std::lock_guard<std::mutex> lock(c.mutex_);
    c.drops_current_ = dropped;
  }
  const int64_t last = c.last_frame_ns_.load();
  const int64_t since = last ? steady_ns() - last
                             : std::chrono::duration_cast<std::chrono::nanoseconds>(
                                   std::chrono::steady_clock::now() - c.session_started_).count();
  if (since > std::chrono::duration_cast<std::chrono::nanoseconds>(c.mon_.stall_timeout).count())
    c.fail("no frame for " + std::to_string(c.mon_.stall_timeout.count()) + " ms");
  return G_SOURCE_CONTINUE;
}

void Camera::request_stop() {
  if (retry_source_) g_source_remove(retry_source_);
  retry_source_ = 0;
  if (state_ == State::Running && pipeline_ != nullptr) {
    state_ = State::Draining;
    gst_element_send_event(pipeline_, gst_event_new_eos());
  } else {
    state_ = State::Stopped;
  }
}

void Camera::force_stop() {
  teardown();
  state_ = State::Stopped;
  if (watchdog_source_) g_source_remove(watchdog_source_);
  watchdog_source_ = 0;
}

gboolean Camera::on_bus(GstBus*, GstMessage* message, gpointer p) {
  Camera& c = *static_cast<Camera*>(p);
  switch (GST_MESSAGE_TYPE(message)) {
    case GST_MESSAGE_ERROR: {
      GError* err = nullptr;
      gchar* debug = nullptr;
      gst_message_parse_error(message, &err, &debug);
      const std::string why = std::string(GST_OBJECT_NAME(GST_MESSAGE_SRC(message))) + ": " +
                              (err ? err->message : "error");
      g_clear_error(&err);
      g_free(debug);
      c.fail(why);
      return G_SOURCE_REMOVE;  // fail() removed the watch with the pipeline
    }
    case GST_MESSAGE_EOS:
      if (c.state_ == State::Draining) {
        c.teardown();
        c.state_ = State::Stopped;
      } else {
        c.fail("end of stream");
      }
      return G_SOURCE_REMOVE;
    case GST_MESSAGE_WARNING: {
      GError* err = nullptr;
      gst_message_parse_warning(message, &err, nullptr);
      std::fprintf(stderr, "vlm-monitor: camera %s: warning: %s\n", c.cam_.name.c_str(),
                   err ? err->message : "");
      g_clear_error(&err);
      break;
    }
    default:
      break;
  }
  return G_SOURCE_CONTINUE;
}

GstPadProbeReturn Camera::on_frame(GstPad*, GstPadProbeInfo*, gpointer p) {
  Camera& c = *static_cast<Camera*>(p);
  c.last_frame_ns_ = steady_ns();
  std::lock_guard<std::mutex> lock(c.mutex_);
  ++c.frames_;
  if (!c.anchored_ && c.pipeline_ != nullptr) {
    // Running time now, from the pipeline clock, against wall time now.
    if (GstClock* clock = gst_element_get_clock(c.pipeline_)) {
      const GstClockTime running = gst_clock_get_time(clock) - gst_element_get_base_time(c.pipeline_);
      c.wall_anchor_ns_ = g_get_real_time() * 1000 - static_cast<int64_t>(running);
      c.anchored_ = true;
      c.attempt_ = 0;  // healthy again: the next failure starts the backoff afresh
      gst_object_unref(clock);
    }
  }
  return GST_PAD_PROBE_OK;
}

GstPadProbeReturn Camera::on_result(GstPad*, GstPadProbeInfo* info, gpointer p) {
  GstEvent* event = GST_PAD_PROBE_INFO_EVENT(info);
  if (GST_EVENT_TYPE(event) == GST_EVENT_CUSTOM_DOWNSTREAM && gst_event_has_name(event, "vlm-event"))
    static_cast<Camera*>(p)->publish_result(gst_event_get_structure(event));
  return GST_PAD_PROBE_OK;
}

void Camera::publish_result(const GstStructure* s) {
  nlohmann::ordered_json j = nlohmann::ordered_json::object();
  gst_structure_foreach(s, field_to_json, &j);
  {
    std::lock_guard<std::mutex> lock(mutex_);
    j["camera"] = cam_.name;
    j["session"] = session_;
    if (anchored_ && j.contains("start_ns") && j.contains("end_ns")) {
      j["wall_start"] = static_cast<double>(wall_anchor_ns_ + j["start_ns"].get<int64_t>()) / 1e9;
      j["wall_end"] = static_cast<double>(wall_anchor_ns_ + j["end_ns"].get<int64_t>()) / 1e9;
    }
  }
  try {
    const auto logged = publisher_.publish_ordered({j});
    std::lock_guard<std::mutex> lock(mutex_);
    (j.value("kind", "") == "event" ? events_ : windows_)++;
    last_event_ = {{"seq", logged.front().seq}, {"text", j.value("text", "")},
                   {"wall_end", j.value("wall_end", 0.0)}};
  } catch (const std::exception& e) {
    std::fprintf(stderr, "vlm-monitor: camera %s: cannot log a result: %s\n", cam_.name.c_str(), e.what());
  }
}

nlohmann::json Camera::stats() const {
  static const char* names[] = {"idle", "running", "retrying", "draining", "stopped"};
  std::lock_guard<std::mutex> lock(mutex_);
  return {{"state", names[static_cast<int>(state_.load())]},
          {"session", session_},
          {"frames", frames_},
          {"windows", windows_},
          {"events", events_},
          {"drops", drops_before_ + drops_current_},
          {"reconnects", reconnects_},
          {"failures", failures_},
          {"last_error", last_error_},
          {"last_event", last_event_}};
}

}  // namespace vlm::monitor
