// rtsp_camera [PORT]: a loopback RTSP camera for the pipelines_recipes test, so the RTSP recipes
// run without a real camera. It serves the tests/net RtspCamera (gst-rtsp-server, a live
// videotestsrc as raw RTP at rtsp://127.0.0.1:PORT/cam) until SIGTERM or SIGINT. PORT 0 (the
// default) takes a free port; the URL is printed on its own line on stdout only once the server
// listens, so a script can start it in the background and read the line to know where and when.
// Signals are blocked before any thread starts and taken with sigwait, so shutdown runs on the
// main thread (no work in a signal handler).
#include <gst/gst.h>

#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

#include "rtsp_test_server.h"

int main(int argc, char** argv) {
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGTERM);
  sigaddset(&stop_signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);

  gst_init(&argc, &argv);
  if (argc > 2) {
    std::fprintf(stderr, "usage: rtsp_camera [PORT]\n");
    return 2;
  }
  long port = argc == 2 ? std::strtol(argv[1], nullptr, 10) : 0;
  if (port < 0 || port > 65535) {
    std::fprintf(stderr, "rtsp_camera: port %s is not in 0..65535\n", argv[1]);
    return 2;
  }
  if (port == 0) port = vlm::net::test::free_port();

  vlm::net::test::RtspCamera camera(static_cast<uint16_t>(port));
  if (!camera.start()) {
    std::fprintf(stderr, "rtsp_camera: cannot listen on 127.0.0.1:%ld\n", port);
    return 1;
  }
  std::printf("rtsp://127.0.0.1:%ld/cam\n", port);
  std::fflush(stdout);

  int signal_number = 0;
  sigwait(&stop_signals, &signal_number);
  std::fprintf(stderr, "rtsp_camera: %s, stopping\n", strsignal(signal_number));
  camera.stop();
  return 0;
}
