// vlm::net::Publisher — the one object vlmpublish and vlm-monitor talk to: it appends event batches
// to the durable EventLog (acknowledged once synced), then hands them to the HttpServer's
// subscribers and to the Webhook. shared_publisher() keeps one Publisher per log path in a process,
// so several vlmpublish elements (one per camera) share one log, one id sequence and one server.
#pragma once

#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "event_log.h"
#include "http_server.h"
#include "webhook.h"

namespace vlm::net {

struct PublisherConfig {
  std::string log_path;  // "" = memory only
  size_t retention = 100000;
  bool serve = true;     // run the HTTP server
  ServerConfig server;
  WebhookConfig webhook;  // enabled when webhook.url is set
};

class Publisher {
 public:
  explicit Publisher(PublisherConfig config, std::function<nlohmann::json()> extra_stats = {});
  ~Publisher();

  // Durable on return (see EventLog); delivery to subscribers and webhook is asynchronous.
  std::vector<LoggedEvent> publish(const std::vector<nlohmann::json>& events);
  std::vector<LoggedEvent> publish_ordered(const std::vector<nlohmann::ordered_json>& events);  // keeps field order
  // Waits for the webhook queue (if any) to empty, up to timeout; true when nothing is pending.
  bool flush(std::chrono::milliseconds timeout);

  const PublisherConfig& config() const { return cfg_; }
  EventLog& log() { return *log_; }
  HttpServer* server() { return server_.get(); }
  Webhook* webhook() { return webhook_.get(); }
  nlohmann::json stats() const;
  // Replaces the callback whose JSON is merged into /stats (thread-safe).
  void set_extra_stats(std::function<nlohmann::json()> extra);

 private:
  PublisherConfig cfg_;
  std::shared_ptr<EventLog> log_;
  std::unique_ptr<Webhook> webhook_;
  std::unique_ptr<HttpServer> server_;
  mutable std::mutex extra_mutex_;
  std::function<nlohmann::json()> extra_;
  std::mutex publish_mutex_;  // keeps log order == delivery order
};

// One Publisher per log path per process (memory-only configs are never shared). The first caller's
// configuration wins; a later caller whose server/webhook settings differ gets InvalidInput.
std::shared_ptr<Publisher> shared_publisher(const PublisherConfig& config);

}  // namespace vlm::net
