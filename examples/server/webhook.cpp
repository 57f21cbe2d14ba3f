// Webhook delivery thread: one HTTP/1.1 POST per event over a fresh connection (simple and
// robust against receivers that close), each attempt bounded by request_timeout through
// io_context::run_for; the status line decides success. Backoff sleeps are interruptible.
#include "webhook.h"

#include <random>

#include <boost/asio.hpp>

#include "vlm/error.h"

namespace vlm::net {
namespace asio = boost::asio;
using tcp = asio::ip::tcp;

ParsedUrl parse_http_url(const std::string& url) {
  const std::string scheme = "http://";
  VLM_CHECK(url.rfind(scheme, 0) == 0, InvalidInput,
            "webhook url '" << url << "': only http://host[:port][/path] is supported");
  const std::string rest = url.substr(scheme.size());
  const size_t slash = rest.find('/');
  const std::string authority = rest.substr(0, slash);
  ParsedUrl u;
  u.target = slash == std::string::npos ? "/" : rest.substr(slash);
  const size_t colon = authority.rfind(':');
  u.host = authority.substr(0, colon);
  u.port = colon == std::string::npos ? "80" : authority.substr(colon + 1);
  VLM_CHECK(!u.host.empty() && !u.port.empty() &&
                u.port.find_first_not_of("0123456789") == std::string::npos,
            InvalidInput, "webhook url '" << url << "': bad host or port");
  return u;
}

Webhook::Webhook(WebhookConfig config) : cfg_(std::move(config)), url_(parse_http_url(cfg_.url)) {
  VLM_CHECK(cfg_.max_queue > 0 && cfg_.initial_backoff.count() > 0 &&
                cfg_.max_backoff >= cfg_.initial_backoff,
            InvalidInput, "webhook: queue and backoff must be positive, max >= initial");
  thread_ = std::thread([this] { run(); });
}

Webhook::~Webhook() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_all();
  thread_.join();
}

void Webhook::enqueue(const std::vector<LoggedEvent>& events) {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    for (const LoggedEvent& e : events) {
      queue_.push_back(e);
      if (queue_.size() > cfg_.max_queue) {
        queue_.pop_front();
        ++counters_.dropped;
      }
    }
    counters_.queued = queue_.size();
  }
  wake_.notify_all();
}

bool Webhook::drain(std::chrono::milliseconds timeout) {
  std::unique_lock<std::mutex> lock(mutex_);
  return idle_.wait_for(lock, timeout, [this] { return queue_.empty() && !busy_; });
}

WebhookCounters Webhook::counters() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return counters_;
}

void Webhook::run() {
  std::mt19937 rng(std::random_device{}());
  std::unique_lock<std::mutex> lock(mutex_);
  auto backoff = cfg_.initial_backoff;
  while (true) {
    wake_.wait(lock, [this] { return stopping_ || !queue_.empty(); });
    if (stopping_) return;
    LoggedEvent event = queue_.front();
    busy_ = true;
    lock.unlock();
    const bool ok = post(event);
    lock.lock();
    busy_ = false;
    if (ok) {
      if (!queue_.empty() && queue_.front().seq == event.seq) queue_.pop_front();
      ++counters_.delivered;
      counters_.last_delivered_seq = event.seq;
      counters_.queued = queue_.size();
      backoff = cfg_.initial_backoff;
      if (queue_.empty()) idle_.notify_all();
      continue;
    }
    ++counters_.failed_attempts;
    // Full jitter on the upper half: sleep in [backoff/2, backoff], then double up to the cap.
    std::uniform_int_distribution<long> jitter(backoff.count() / 2, backoff.count());
    const auto pause = std::chrono::milliseconds(jitter(rng));
    wake_.wait_for(lock, pause, [this] { return stopping_; });
    if (stopping_) return;
    backoff = std::min(cfg_.max_backoff, backoff * 2);
  }
}

bool Webhook::post(const LoggedEvent& event) {
  asio::io_context ioc;
  tcp::resolver resolver(ioc);
  tcp::socket socket(ioc);
  std::string request = "POST " + url_.target + " HTTP/1.1\r\nHost: " + url_.host + ":" +
                        url_.port + "\r\nContent-Type: application/json\r\nContent-Length: " +
                        std::to_string(event.line.size()) + "\r\nIdempotency-Key: " +
                        std::to_string(event.seq) + "\r\nX-Vlm-Event-Id: " +
                        std::to_string(event.seq) + "\r\nConnection: close\r\n";
  if (!cfg_.token.empty()) request += "Authorization: Bearer " + cfg_.token + "\r\n";
  request += "\r\n" + event.line;
  asio::streambuf response;
  bool ok = false;
  resolver.async_resolve(url_.host, url_.port, [&](auto ec, tcp::resolver::results_type eps) {
    if (ec) return;
    asio::async_connect(socket, eps, [&](auto ec2, const tcp::endpoint&) {
      if (ec2) return;
      asio::async_write(socket, asio::buffer(request), [&](auto ec3, size_t) {
        if (ec3) return;
        asio::async_read_until(socket, response, "\r\n", [&](auto ec4, size_t) {
          if (ec4) return;
          std::istream is(&response);
          std::string version;
          int status = 0;
          is >> version >> status;
          ok = version.rfind("HTTP/1.", 0) == 0 && status >= 200 && status < 300;
        });
      });
    });
  });
  ioc.run_for(cfg_.request_timeout);
  boost::system::error_code ec;
  socket.close(ec);
  return ok;
}

}  // namespace vlm::net
