// Webhook: a loopback receiver (plain sockets, its own thread) answers 500 three times and then
// 200; every event must be accepted exactly once, in order, with its id as Idempotency-Key.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <map>
#include <mutex>
#include <thread>

#include <gtest/gtest.h>

#include "net_test_util.h"
#include "publisher.h"
#include "vlm/error.h"

namespace vlm::net {
namespace {

using nlohmann::json;
using namespace std::chrono_literals;

class Receiver {
 public:
  explicit Receiver(int failures_first) : failures_left_(failures_first) {
    fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof a;
    ::bind(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a);
    ::listen(fd_, 16);
    ::getsockname(fd_, reinterpret_cast<sockaddr*>(&a), &len);
    port_ = ntohs(a.sin_port);
    thread_ = std::thread([this] { serve(); });
  }
  ~Receiver() {
    stop_ = true;
    thread_.join();
    ::close(fd_);
  }
  uint16_t port() const { return port_; }
  std::vector<std::string> accepted_keys() {
    std::lock_guard<std::mutex> lock(mutex_);
    return accepted_;
  }
  std::vector<std::string> accepted_bodies() {
    std::lock_guard<std::mutex> lock(mutex_);
    return bodies_;
  }
  int attempts() const { return attempts_; }

 private:
  void serve() {
    while (!stop_) {
      pollfd p{fd_, POLLIN, 0};
      if (::poll(&p, 1, 50) <= 0) continue;
      test::Socket c(::accept(fd_, nullptr, nullptr));
      auto head = c.read_until("\r\n\r\n", 2000ms);
      if (!head) continue;
      const size_t cl = head->find("Content-Length: ");
      const size_t n = cl == std::string::npos ? 0 : std::stoul(head->substr(cl + 16));
      auto body = c.read_exactly(n, 2000ms);
      const size_t k = head->find("Idempotency-Key: ");
      const std::string key = k == std::string::npos ? "" : head->substr(k + 17, head->find("\r\n", k) - k - 17);
      ++attempts_;
      if (failures_left_ > 0) {
        --failures_left_;
        c.send_all("HTTP/1.1 500 Internal Server Error\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
        continue;
      }
      {
        std::lock_guard<std::mutex> lock(mutex_);
        accepted_.push_back(key);
        bodies_.push_back(body.value_or(""));
      }
      c.send_all("HTTP/1.1 200 OK\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
    }
  }

  int fd_ = -1;
  uint16_t port_ = 0;
  std::atomic<bool> stop_{false};
  std::atomic<int> failures_left_;
  std::atomic<int> attempts_{0};
  std::mutex mutex_;
  std::vector<std::string> accepted_;
  std::vector<std::string> bodies_;
  std::thread thread_;
};

TEST(Webhook, RetriesAfterFailuresAndDeliversEveryEventExactlyOnce) {
  Receiver receiver(3);
  PublisherConfig c;
  c.serve = false;
  c.webhook.url = "http://127.0.0.1:" + std::to_string(receiver.port()) + "/hook";
  c.webhook.initial_backoff = 20ms;
  c.webhook.max_backoff = 80ms;
  Publisher p(c);
  std::vector<LoggedEvent> logged;
  for (int i = 0; i < 5; ++i) {
    auto l = p.publish({json{{"stream", "cam"}, {"text", "e" + std::to_string(i)}}});
    logged.insert(logged.end(), l.begin(), l.end());
  }
  ASSERT_TRUE(p.flush(20000ms));
  EXPECT_EQ(receiver.accepted_keys(), (std::vector<std::string>{"1", "2", "3", "4", "5"}));
  const auto bodies = receiver.accepted_bodies();
  ASSERT_EQ(bodies.size(), 5u);
  for (size_t i = 0; i < 5; ++i) EXPECT_EQ(bodies[i], logged[i].line);
  EXPECT_EQ(receiver.attempts(), 8);  // 3 refusals of event 1, then one success each
  EXPECT_EQ(p.webhook()->counters().failed_attempts, 3u);
}

TEST(Webhook, UnreachableReceiverIsRetriedWithoutBlockingPublish) {
  PublisherConfig c;
  c.serve = false;
  c.webhook.url = "http://127.0.0.1:1/hook";  // nothing listens on port 1
  c.webhook.initial_backoff = 10ms;
  c.webhook.max_backoff = 20ms;
  Publisher p(c);
  p.publish({json{{"text", "x"}}});
  EXPECT_FALSE(p.flush(300ms));
  EXPECT_GE(p.webhook()->counters().failed_attempts, 1u);
  EXPECT_EQ(p.webhook()->counters().delivered, 0u);
}

TEST(Webhook, RejectsUnsupportedUrls) {
  EXPECT_THROW(parse_http_url("https://example.com/x"), vlm::Error);
  EXPECT_THROW(parse_http_url("http://:80/x"), vlm::Error);
  EXPECT_THROW(parse_http_url("http://host:port/x"), vlm::Error);
  const ParsedUrl u = parse_http_url("http://127.0.0.1:8080/a/b?c=d");
  EXPECT_EQ(u.host, "127.0.0.1");
  EXPECT_EQ(u.port, "8080");
  EXPECT_EQ(u.target, "/a/b?c=d");
}

}  // namespace
}  // namespace vlm::net
