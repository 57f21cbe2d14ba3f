// vlm::net::HttpServer — the loopback-by-default HTTP service of vlmpublish/vlm-monitor, on
// Boost.Beast (kept behind a pimpl so only http_server.cpp compiles Beast).
//   GET /                  live dashboard (dashboard.cpp)
//   GET /events            Server-Sent Events; resume with Last-Event-ID (header) or ?since=ID
//   GET /ws                WebSocket, one JSON text message per event; resume with ?since=ID
//   GET /events.jsonl      ?since=ID: retained events after ID as JSON Lines
//   GET /stats             JSON, or Prometheus text with ?format=prometheus / Accept: text/plain
// Gap marker (SSE "event: gap", WS/JSONL {"gap":{...}}): {"from":a,"to":b,"reason":r}; reason
// "retention" (ids a..b are no longer kept; SSE id: is b so a reconnect continues after it) or
// "slow-subscriber" (the subscriber's queue overflowed; the connection is closed after the marker
// and a reconnect with the last id it received resumes exactly).
// Safe defaults: 127.0.0.1; a non-loopback address without a token is refused by the constructor;
// with a token every request needs "Authorization: Bearer <token>" (or ?token= for browsers);
// header limit (431), body limit (413), connection limit (503), idle/slowloris timeout (closed).
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "event_log.h"

namespace vlm::net {

struct ServerConfig {
  std::string address = "127.0.0.1";
  uint16_t port = 0;  // 0: an ephemeral port, see HttpServer::port()
  std::string token;  // required when address is not a loopback address
  size_t max_header_bytes = 8 * 1024;
  size_t max_body_bytes = 64 * 1024;
  size_t max_connections = 256;
  std::chrono::milliseconds idle_timeout{30000};  // whole request read; each write
  size_t subscriber_queue = 4096;                 // events buffered per SSE/WS subscriber
  std::chrono::milliseconds heartbeat{15000};     // SSE comment line keeping proxies awake
};

// Counters the server keeps; exposed by /stats and to callers.
struct ServerCounters {
  uint64_t connections_open = 0;
  uint64_t connections_refused = 0;
  uint64_t subscribers = 0;
  uint64_t subscribers_cut_off = 0;
  uint64_t requests = 0;
  uint64_t events_sent = 0;  // event messages written to subscribers
};

bool is_loopback_address(const std::string& address);

class HttpServer {
 public:
  // Binds and starts serving on its own thread. Throws InvalidInput for a non-loopback address
  // without a token, Io when the address cannot be bound.
  // extra_stats, when set, is merged into /stats JSON (e.g. per-camera statistics).
  HttpServer(ServerConfig config, std::shared_ptr<EventLog> log,
             std::function<nlohmann::json()> extra_stats = {});
  ~HttpServer();  // closes every connection and joins the thread
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  uint16_t port() const;
  // Hands freshly logged events to every subscriber (thread-safe, non-blocking).
  void notify(std::vector<LoggedEvent> events);
  ServerCounters counters() const;
  nlohmann::json stats_json() const;

  struct Impl;  // opaque: Beast stays in http_server.cpp

 private:
  std::shared_ptr<Impl> impl_;
};

// Prometheus text exposition of a flat /stats JSON object (numbers only; nested objects become
// labelled series, e.g. {"cameras":{"a":{"frames":3}}} -> vlm_cameras_frames{key="a"} 3).
std::string prometheus_text(const nlohmann::json& stats);

// The dashboard page (plain HTML + JS, no external resources).
const std::string& dashboard_html();

}  // namespace vlm::net
