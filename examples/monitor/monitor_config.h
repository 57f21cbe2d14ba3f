// vlm-monitor's configuration: one JSON file naming the shared model, the event log, the server,
// the webhook, the reconnect backoff and the cameras (URL, prompt, task, sample-fps, window,
// stride each, defaults inherited from "defaults"). parse_monitor_config() checks every field and
// throws InvalidInput naming it (e.g. "cameras[1].window must be > 0").
#pragma once

#include <chrono>
#include <map>
#include <string>
#include <vector>

#include "publisher.h"

namespace vlm::monitor {

struct CameraConfig {
  std::string name;  // becomes vlmdescribe's stream-id and the "camera" field of events
  std::string url;   // rtsp://... (rtspsrc over TCP) or any URI uridecodebin plays
  std::string prompt;
  std::string task;  // "" = the element's default
  double sample_fps = 2.0;
  double window = 4.0;
  double stride = 2.0;
  // Further vlmdescribe properties as strings (e.g. "max-new-tokens": "16", "mode": "live").
  std::map<std::string, std::string> describe;
};

struct MonitorConfig {
  std::string model;
  std::string device = "cpu";
  net::PublisherConfig publisher;
  std::chrono::milliseconds backoff_initial{500};
  std::chrono::milliseconds backoff_max{30000};
  std::chrono::milliseconds stall_timeout{15000};  // no frame for this long = failure
  std::chrono::milliseconds drain_timeout{20000};  // SIGTERM: wait this long for pending windows
  std::vector<CameraConfig> cameras;
};

MonitorConfig parse_monitor_config(const std::string& json_text);
MonitorConfig load_monitor_config(const std::string& path);

}  // namespace vlm::monitor
