// Loopback client helpers for the tests/net suites, on plain POSIX sockets (no Asio/Beast, so the
// tests compile fast and exercise the server as an independent client would): connect, send, read
// with deadlines, a one-shot HTTP GET, an SSE reader and a minimal WebSocket client.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace vlm::net::test {

using namespace std::chrono_literals;

class Socket {
 public:
  Socket() = default;
  explicit Socket(int fd) : fd_(fd) {}
  Socket(Socket&& o) noexcept : fd_(o.fd_), buffered_(std::move(o.buffered_)) { o.fd_ = -1; }
  Socket& operator=(Socket&& o) noexcept;
  ~Socket();
  int fd() const { return fd_; }
  bool send_all(const std::string& data);
  // Reads until `delimiter` is buffered (returns the text up to and including it) or the deadline
  // passes / the peer closes (nullopt).
  std::optional<std::string> read_until(const std::string& delimiter,
                                        std::chrono::milliseconds timeout = 5000ms);
  std::optional<std::string> read_exactly(size_t n, std::chrono::milliseconds timeout = 5000ms);
  // True when the peer closes (EOF/reset) before the deadline; data is discarded.
  bool wait_closed(std::chrono::milliseconds timeout);
  void close();

 private:
  bool fill(std::chrono::steady_clock::time_point deadline);
  int fd_ = -1;
  std::string buffered_;
};

Socket connect_loopback(uint16_t port);

struct HttpResponse {
  int status = 0;
  std::string headers;
  std::string body;
};
// Sends `request` verbatim and reads one response (Content-Length or until close).
HttpResponse http_exchange(uint16_t port, const std::string& request,
                           std::chrono::milliseconds timeout = 5000ms);
HttpResponse http_get(uint16_t port, const std::string& target, const std::string& extra_headers = "");

struct SseMessage {
  std::string id;
  std::string event;  // "" for plain messages
  std::string data;
};
// Opens /events (target and headers as given) and checks for the 200 event-stream header.
std::optional<Socket> sse_open(uint16_t port, const std::string& target,
                               const std::string& extra_headers = "");
// Next message, skipping comment-only blocks (heartbeats); nullopt on timeout/close.
std::optional<SseMessage> sse_next(Socket& s, std::chrono::milliseconds timeout = 5000ms);

// WebSocket: handshake on /ws target, then read unmasked server text frames.
std::optional<Socket> ws_open(uint16_t port, const std::string& target);
std::optional<std::string> ws_next_text(Socket& s, std::chrono::milliseconds timeout = 5000ms);
// Sends one masked client text frame (RFC 6455 5.3).
bool ws_send_text(Socket& s, const std::string& text);

std::string temp_path(const std::string& stem);

}  // namespace vlm::net::test
