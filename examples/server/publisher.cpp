// Publisher: log -> server -> webhook, under one mutex so every consumer sees log order; the
// process-wide registry holds weak references, so the Publisher dies with its last user.
#include "publisher.h"

#include <map>

#include "vlm/error.h"

namespace vlm::net {

Publisher::Publisher(PublisherConfig config, std::function<nlohmann::json()> extra_stats)
    : cfg_(std::move(config)), extra_(std::move(extra_stats)) {
  log_ = std::make_shared<EventLog>(cfg_.log_path, cfg_.retention);
  if (!cfg_.webhook.url.empty()) webhook_ = std::make_unique<Webhook>(cfg_.webhook);
  if (cfg_.serve)
    server_ = std::make_unique<HttpServer>(cfg_.server, log_, [this] {
      nlohmann::json j = nlohmann::json::object();
      if (webhook_) {
        const WebhookCounters c = webhook_->counters();
        j["webhook_delivered"] = c.delivered;
        j["webhook_failed_attempts"] = c.failed_attempts;
        j["webhook_dropped"] = c.dropped;
        j["webhook_queued"] = c.queued;
      }
      std::function<nlohmann::json()> extra;
      {
        std::lock_guard<std::mutex> lock(extra_mutex_);
        extra = extra_;
      }
      if (extra) {
        const nlohmann::json e = extra();
        if (e.is_object()) j.update(e);
      }
      return j;
    });
}

Publisher::~Publisher() {
  server_.reset();  // its stats callback refers to this object
  webhook_.reset();
}

std::vector<LoggedEvent> Publisher::publish(const std::vector<nlohmann::json>& events) {
  std::vector<nlohmann::ordered_json> ordered;
  ordered.reserve(events.size());
  for (const nlohmann::json& e : events) ordered.push_back(nlohmann::ordered_json(e));
  return publish_ordered(ordered);
}

std::vector<LoggedEvent> Publisher::publish_ordered(const std::vector<nlohmann::ordered_json>& events) {
  std::lock_guard<std::mutex> lock(publish_mutex_);
  std::vector<LoggedEvent> logged = log_->append_ordered(events);
  if (webhook_) webhook_->enqueue(logged);
  if (server_) server_->notify(logged);
  return logged;
}

bool Publisher::flush(std::chrono::milliseconds timeout) {
  return webhook_ ? webhook_->drain(timeout) : true;
}

nlohmann::json Publisher::stats() const {
  if (server_) return server_->stats_json();
  return nlohmann::json{{"last_seq", log_->last_seq()}};
}

void Publisher::set_extra_stats(std::function<nlohmann::json()> extra) {
  std::lock_guard<std::mutex> lock(extra_mutex_);
  extra_ = std::move(extra);
}

std::shared_ptr<Publisher> shared_publisher(const PublisherConfig& config) {
  if (config.log_path.empty()) return std::make_shared<Publisher>(config);
  static std::mutex mutex;
  static std::map<std::string, std::weak_ptr<Publisher>> registry;
  std::lock_guard<std::mutex> lock(mutex);
  if (auto existing = registry[config.log_path].lock()) {
    const PublisherConfig& c = existing->config();
    VLM_CHECK(c.serve == config.serve && c.server.address == config.server.address &&
                  c.server.port == config.server.port && c.webhook.url == config.webhook.url,
              InvalidInput,
              "event log " << config.log_path
                           << " is already published in this process with other server/webhook "
                              "settings; give each set of settings its own log");
    return existing;
  }
  auto p = std::make_shared<Publisher>(config);
  registry[config.log_path] = p;
  return p;
}

}  // namespace vlm::net
