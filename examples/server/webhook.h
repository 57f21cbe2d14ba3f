// vlm::net::Webhook — POSTs every logged event, in order, to one http:// URL from its own thread.
// Each event is one request (body: the event's JSON line) carrying its id in "Idempotency-Key"
// and "X-Vlm-Event-Id", so a receiver can drop a repeat. A 2xx answer acknowledges the event;
// anything else (status, refused connection, timeout) is retried with capped exponential backoff
// and jitter, without reordering: delivery is at-least-once, and exactly-once for a receiver that
// answers 2xx once per id. The queue is bounded: past `max_queue` the oldest undelivered events
// are dropped and counted (they stay in the event log). Plain Asio (no Beast).
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "event_log.h"

namespace vlm::net {

struct WebhookConfig {
  std::string url;  // http://host[:port][/path]
  std::string token;  // sent as "Authorization: Bearer" when set
  std::chrono::milliseconds initial_backoff{200};
  std::chrono::milliseconds max_backoff{10000};
  std::chrono::milliseconds request_timeout{5000};
  size_t max_queue = 100000;
};

struct WebhookCounters {
  uint64_t delivered = 0;
  uint64_t failed_attempts = 0;
  uint64_t dropped = 0;
  uint64_t queued = 0;
  uint64_t last_delivered_seq = 0;
};

struct ParsedUrl {
  std::string host;
  std::string port;
  std::string target;
};
// Throws InvalidInput for anything but http://host[:port][/path].
ParsedUrl parse_http_url(const std::string& url);

class Webhook {
 public:
  explicit Webhook(WebhookConfig config);
  ~Webhook();  // stops at once; see drain()
  Webhook(const Webhook&) = delete;
  Webhook& operator=(const Webhook&) = delete;

  void enqueue(const std::vector<LoggedEvent>& events);
  // Waits until the queue is empty or the deadline passes; true when empty.
  bool drain(std::chrono::milliseconds timeout);
  WebhookCounters counters() const;

 private:
  void run();
  bool post(const LoggedEvent& event);  // one attempt: true on 2xx

  WebhookConfig cfg_;
  ParsedUrl url_;
  mutable std::mutex mutex_;
  std::condition_variable wake_;
  std::condition_variable idle_;
  std::deque<LoggedEvent> queue_;
  bool stopping_ = false;
  bool busy_ = false;
  WebhookCounters counters_;
  std::thread thread_;
};

}  // namespace vlm::net
