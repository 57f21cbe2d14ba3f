// vlm::monitor::Camera — one camera of vlm-monitor: its pipeline (rtspsrc over TCP or uridecodebin
// -> decodebin -> videoconvert -> vlmdescribe -> fakesink), the probe that publishes its
// vlm-event results (with the camera name, a session number and wall-clock times re-anchored at
// every (re)connect), and its life cycle on the GLib main loop: a failure (error, end of stream,
// no frame for stall_timeout) tears the pipeline down and retries after a capped exponential
// backoff with jitter, without touching the other cameras. SIGTERM sends EOS so vlmdescribe
// answers its pending windows before the pipeline stops.
#pragma once

#include <gst/gst.h>

#include <atomic>
#include <chrono>
#include <mutex>
#include <random>
#include <string>

#include "monitor_config.h"
#include "publisher.h"

namespace vlm::monitor {

class Camera {
 public:
  Camera(CameraConfig camera, const MonitorConfig& monitor, net::Publisher& publisher);
  ~Camera();
  Camera(const Camera&) = delete;
  Camera& operator=(const Camera&) = delete;

  void start();         // main loop thread
  void request_stop();  // drain: EOS to a running pipeline, cancel a pending retry
  bool stopped() const { return state_ == State::Stopped; }
  void force_stop();    // after the drain deadline
  nlohmann::json stats() const;
  const std::string& name() const { return cam_.name; }

 private:
  enum class State { Idle, Running, Retrying, Draining, Stopped };

  bool build(std::string* error);
  void teardown();
  void fail(const std::string& why);
  static gboolean on_bus(GstBus* bus, GstMessage* message, gpointer self);
  static gboolean on_retry(gpointer self);
  static gboolean on_watchdog(gpointer self);
  static GstPadProbeReturn on_frame(GstPad* pad, GstPadProbeInfo* info, gpointer self);
  static GstPadProbeReturn on_result(GstPad* pad, GstPadProbeInfo* info, gpointer self);
  static void on_pad_added(GstElement* element, GstPad* pad, gpointer sink_element);
  void publish_result(const GstStructure* s);

  CameraConfig cam_;
  const MonitorConfig& mon_;
  net::Publisher& publisher_;
  GstElement* pipeline_ = nullptr;
  GstElement* describe_ = nullptr;
  guint bus_watch_ = 0;
  guint retry_source_ = 0;
  guint watchdog_source_ = 0;
  std::atomic<State> state_{State::Idle};
  std::atomic<int> attempt_{0};
  std::mt19937 rng_{std::random_device{}()};
  std::chrono::steady_clock::time_point session_started_;

  // Shared with streaming threads.
  mutable std::mutex mutex_;
  uint64_t session_ = 0;
  int64_t wall_anchor_ns_ = 0;  // unix ns at running time 0 of the current session
  bool anchored_ = false;
  std::atomic<int64_t> last_frame_ns_{0};  // steady clock
  uint64_t frames_ = 0, windows_ = 0, events_ = 0, reconnects_ = 0, failures_ = 0;
  uint64_t drops_before_ = 0;   // windows-dropped of earlier sessions
  uint64_t drops_current_ = 0;  // of this session, sampled by the watchdog (main thread)
  std::string last_error_;
  nlohmann::json last_event_;
};

}  // namespace vlm::monitor
