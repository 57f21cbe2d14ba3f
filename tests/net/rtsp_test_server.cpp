// RtspCamera (see rtsp_test_server.h).
#include "rtsp_test_server.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <string>

namespace vlm::net::test {

uint16_t free_port() {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof a;
  ::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a);
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
  ::close(fd);
  return ntohs(a.sin_port);
}

bool RtspCamera::start() {
  if (server_) return true;
  context_ = g_main_context_new();
  loop_ = g_main_loop_new(context_, FALSE);
  server_ = gst_rtsp_server_new();
  gst_rtsp_server_set_address(server_, "127.0.0.1");
  gst_rtsp_server_set_service(server_, std::to_string(port_).c_str());
  GstRTSPMediaFactory* factory = gst_rtsp_media_factory_new();
  gst_rtsp_media_factory_set_launch(factory,
      "( videotestsrc is-live=true pattern=ball ! "
      "video/x-raw,format=I420,width=64,height=48,framerate=10/1 ! rtpvrawpay name=pay0 pt=96 )");
  gst_rtsp_media_factory_set_shared(factory, TRUE);
  GstRTSPMountPoints* mounts = gst_rtsp_server_get_mount_points(server_);
  gst_rtsp_mount_points_add_factory(mounts, "/cam", factory);
  g_object_unref(mounts);
  source_ = gst_rtsp_server_attach(server_, context_);
  if (source_ == 0) {
    g_object_unref(server_);
    server_ = nullptr;
    g_main_loop_unref(loop_);
    g_main_context_unref(context_);
    return false;
  }
  thread_ = std::thread([loop = loop_] { g_main_loop_run(loop); });
  return true;
}

void RtspCamera::stop() {
  if (!server_) return;
  // On the server's own context: stop listening, then drop every client session.
  struct Ctx { GstRTSPServer* server; GMainContext* context; guint source; GMainLoop* loop; };
  Ctx ctx{server_, context_, source_, loop_};
  g_main_context_invoke(context_, [](gpointer p) -> gboolean {
    Ctx& c = *static_cast<Ctx*>(p);
    if (GSource* s = g_main_context_find_source_by_id(c.context, c.source)) g_source_destroy(s);
    gst_rtsp_server_client_filter(c.server, [](GstRTSPServer*, GstRTSPClient* client, gpointer) {
      gst_rtsp_client_close(client);
      return GST_RTSP_FILTER_REMOVE;
    }, nullptr);
    g_main_loop_quit(c.loop);
    return G_SOURCE_REMOVE;
  }, &ctx);
  thread_.join();
  g_object_unref(server_);
  server_ = nullptr;
  g_main_loop_unref(loop_);
  g_main_context_unref(context_);
  loop_ = nullptr;
  context_ = nullptr;
}

}  // namespace vlm::net::test
