// A loopback RTSP camera for the vlm-monitor tests: gst-rtsp-server serving a live videotestsrc
// (raw I420 over RTP, RFC 4175) at rtsp://127.0.0.1:PORT/cam from its own main-loop thread. stop() closes the
// listening socket and every client session, as a camera that goes off the network would;
// start() brings it back on the same port.
#pragma once

#include <cstdint>
#include <thread>

#include <gst/rtsp-server/rtsp-server.h>

namespace vlm::net::test {

class RtspCamera {
 public:
  explicit RtspCamera(uint16_t port) : port_(port) {}
  ~RtspCamera() { stop(); }
  bool start();
  void stop();
  uint16_t port() const { return port_; }
  bool running() const { return server_ != nullptr; }

 private:
  uint16_t port_;
  GMainContext* context_ = nullptr;
  GMainLoop* loop_ = nullptr;
  GstRTSPServer* server_ = nullptr;
  guint source_ = 0;
  std::thread thread_;
};

// A TCP port that was free a moment ago on 127.0.0.1.
uint16_t free_port();

}  // namespace vlm::net::test
