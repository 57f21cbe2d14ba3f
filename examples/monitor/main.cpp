// vlm-monitor: N cameras from one JSON config in one process — one shared engine (vlmdescribe
// shares one per model/device), one event log and one HTTP server (vlm-events-server) whose /stats
// carries per-camera statistics. SIGTERM/SIGINT: every camera gets EOS so pending windows are
// answered (bounded by drain_timeout_ms), the webhook queue is flushed, exit status 0.
// Exit status 2: a bad config or a server that cannot start (message on stderr).
#include <glib-unix.h>
#include <gst/gst.h>

#include <cstdio>
#include <memory>
#include <vector>

#include "camera.h"
#include "monitor_config.h"
#include "publisher.h"

namespace {

struct App {
  GMainLoop* loop = nullptr;
  std::vector<std::unique_ptr<vlm::monitor::Camera>> cameras;
  bool stopping = false;
};

gboolean on_signal(gpointer p) {
  App& app = *static_cast<App*>(p);
  if (!app.stopping) {
    std::fprintf(stderr, "vlm-monitor: stopping: draining pending windows\n");
    app.stopping = true;
    for (auto& c : app.cameras) c->request_stop();
  }
  return G_SOURCE_CONTINUE;
}

gboolean on_tick(gpointer p) {
  App& app = *static_cast<App*>(p);
  if (!app.stopping) return G_SOURCE_CONTINUE;
  for (auto& c : app.cameras)
    if (!c->stopped()) return G_SOURCE_CONTINUE;
  g_main_loop_quit(app.loop);
  return G_SOURCE_REMOVE;
}

gboolean on_drain_deadline(gpointer p) {
  App& app = *static_cast<App*>(p);
  std::fprintf(stderr, "vlm-monitor: drain deadline passed; stopping now\n");
  g_main_loop_quit(app.loop);
  return G_SOURCE_REMOVE;
}

}  // namespace

int main(int argc, char** argv) {
  gst_init(&argc, &argv);
  if (argc != 2 || std::string(argv[1]) == "--help") {
    std::fprintf(stderr, "usage: vlm-monitor CONFIG.json\n"
                         "  Watches the cameras of CONFIG.json (see pipelines/monitor.example.json)\n");
    return argc == 2 ? 0 : 2;
  }
  vlm::monitor::MonitorConfig config;
  std::shared_ptr<vlm::net::Publisher> publisher;
  App app;
  try {
    config = vlm::monitor::load_monitor_config(argv[1]);
    publisher = std::make_shared<vlm::net::Publisher>(config.publisher);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "vlm-monitor: %s\n", e.what());
    return 2;
  }
  for (const auto& cam : config.cameras)
    app.cameras.push_back(std::make_unique<vlm::monitor::Camera>(cam, config, *publisher));
  publisher->set_extra_stats([&app] {
    nlohmann::json cams = nlohmann::json::object();
    for (const auto& c : app.cameras) cams[c->name()] = c->stats();
    return nlohmann::json{{"cameras", cams}};
  });
  if (publisher->server())
    std::printf("vlm-monitor: serving http://%s:%u/ (log %s, %zu cameras)\n",
                config.publisher.server.address.c_str(), publisher->server()->port(),
                config.publisher.log_path.c_str(), config.cameras.size());
  std::fflush(stdout);

  app.loop = g_main_loop_new(nullptr, FALSE);
  g_unix_signal_add(SIGTERM, on_signal, &app);
  g_unix_signal_add(SIGINT, on_signal, &app);
  g_timeout_add(100, on_tick, &app);
  for (auto& c : app.cameras) c->start();
  g_main_loop_run(app.loop);
  // After SIGTERM: wait for the drain (on_tick quits), bounded by the deadline.
  if (app.stopping) {
    const guint deadline = g_timeout_add(static_cast<guint>(config.drain_timeout.count()),
                                         on_drain_deadline, &app);
    bool all = true;
    for (auto& c : app.cameras) all = all && c->stopped();
    if (!all) g_main_loop_run(app.loop);
    g_source_remove(deadline);
  }
  publisher->set_extra_stats({});
  for (auto& c : app.cameras) c->force_stop();
  app.cameras.clear();
  publisher->flush(std::chrono::milliseconds(5000));
  std::fprintf(stderr, "vlm-monitor: stopped; last event id %llu\n",
               static_cast<unsigned long long>(publisher->log().last_seq()));
  publisher.reset();
  g_main_loop_unref(app.loop);
  return 0;
}
