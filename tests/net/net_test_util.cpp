// POSIX-socket client helpers for tests/net (see net_test_util.h).
#include "net_test_util.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <cstring>

namespace vlm::net::test {

Socket& Socket::operator=(Socket&& o) noexcept {
  if (this != &o) {
    close();
    fd_ = o.fd_;
    buffered_ = std::move(o.buffered_);
    o.fd_ = -1;
  }
  return *this;
}

Socket::~Socket() { close(); }

void Socket::close() {
  if (fd_ >= 0) ::close(fd_);
  fd_ = -1;
}

bool Socket::send_all(const std::string& data) {
  size_t done = 0;
  while (done < data.size()) {
    const ssize_t n = ::send(fd_, data.data() + done, data.size() - done, MSG_NOSIGNAL);
    if (n <= 0) return false;
    done += static_cast<size_t>(n);
  }
  return true;
}

bool Socket::fill(std::chrono::steady_clock::time_point deadline) {
  const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
      deadline - std::chrono::steady_clock::now());
  if (left.count() <= 0 || fd_ < 0) return false;
  pollfd p{fd_, POLLIN, 0};
  if (::poll(&p, 1, static_cast<int>(left.count())) <= 0) return false;
  char buf[65536];
  const ssize_t n = ::read(fd_, buf, sizeof buf);  // read(): sockets and pipes alike
  if (n <= 0) return false;
  buffered_.append(buf, static_cast<size_t>(n));
  return true;
}

std::optional<std::string> Socket::read_until(const std::string& delimiter,
                                              std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (true) {
    const size_t pos = buffered_.find(delimiter);
    if (pos != std::string::npos) {
      std::string out = buffered_.substr(0, pos + delimiter.size());
      buffered_.erase(0, pos + delimiter.size());
      return out;
    }
    if (!fill(deadline)) return std::nullopt;
  }
}

std::optional<std::string> Socket::read_exactly(size_t n, std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (buffered_.size() < n)
    if (!fill(deadline)) return std::nullopt;
  std::string out = buffered_.substr(0, n);
  buffered_.erase(0, n);
  return out;
}

bool Socket::wait_closed(std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    pollfd p{fd_, POLLIN, 0};
    if (::poll(&p, 1, static_cast<int>(std::max<int64_t>(1, left.count()))) <= 0) continue;
    char buf[4096];
    const ssize_t n = ::recv(fd_, buf, sizeof buf, 0);
    if (n <= 0) return true;
  }
  return false;
}

Socket connect_loopback(uint16_t port) {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(port);
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
    ::close(fd);
    return Socket{};
  }
  return Socket{fd};
}

HttpResponse http_exchange(uint16_t port, const std::string& request,
                           std::chrono::milliseconds timeout) {
  HttpResponse r;
  Socket s = connect_loopback(port);
  if (s.fd() < 0 || !s.send_all(request)) return r;
  auto head = s.read_until("\r\n\r\n", timeout);
  if (!head) return r;
  r.headers = *head;
  if (head->rfind("HTTP/1.1 ", 0) == 0) r.status = std::atoi(head->c_str() + 9);
  std::string lower = *head;
  for (char& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  const size_t cl = lower.find("content-length:");
  if (cl != std::string::npos) {
    const size_t n = std::strtoul(lower.c_str() + cl + 15, nullptr, 10);
    if (auto body = s.read_exactly(n, timeout)) r.body = *body;
  }
  return r;
}

HttpResponse http_get(uint16_t port, const std::string& target, const std::string& extra_headers) {
  return http_exchange(port, "GET " + target + " HTTP/1.1\r\nHost: 127.0.0.1\r\n" + extra_headers +
                                 "Connection: close\r\n\r\n");
}

std::optional<Socket> sse_open(uint16_t port, const std::string& target,
                               const std::string& extra_headers) {
  Socket s = connect_loopback(port);
  if (s.fd() < 0) return std::nullopt;
  if (!s.send_all("GET " + target + " HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept: text/event-stream\r\n" +
                  extra_headers + "\r\n"))
    return std::nullopt;
  auto head = s.read_until("\r\n\r\n");
  if (!head || head->rfind("HTTP/1.1 200", 0) != 0 ||
      head->find("text/event-stream") == std::string::npos)
    return std::nullopt;
  return s;
}

std::optional<SseMessage> sse_next(Socket& s, std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (true) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) return std::nullopt;
    auto block = s.read_until("\n\n", left);
    if (!block) return std::nullopt;
    SseMessage m;
    bool any = false;
    size_t start = 0;
    while (start < block->size()) {
      const size_t end = block->find('\n', start);
      const std::string line = block->substr(start, end - start);
      start = end + 1;
      if (line.rfind("id: ", 0) == 0) m.id = line.substr(4), any = true;
      else if (line.rfind("event: ", 0) == 0) m.event = line.substr(7), any = true;
      else if (line.rfind("data: ", 0) == 0) m.data += line.substr(6), any = true;
    }
    if (any && (!m.data.empty() || !m.event.empty())) return m;
  }
}

std::optional<Socket> ws_open(uint16_t port, const std::string& target) {
  Socket s = connect_loopback(port);
  if (s.fd() < 0) return std::nullopt;
  if (!s.send_all("GET " + target +
                  " HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                  "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"))
    return std::nullopt;
  auto head = s.read_until("\r\n\r\n");
  // RFC 6455's example key has this well-known accept value.
  if (!head || head->rfind("HTTP/1.1 101", 0) != 0 ||
      head->find("s3pPLMBiTxaQ9kYGzzhZRbK+xOo=") == std::string::npos)
    return std::nullopt;
  return s;
}

std::optional<std::string> ws_next_text(Socket& s, std::chrono::milliseconds timeout) {
  while (true) {
    auto h = s.read_exactly(2, timeout);
    if (!h) return std::nullopt;
    const unsigned op = static_cast<unsigned char>((*h)[0]) & 0x0f;
    uint64_t len = static_cast<unsigned char>((*h)[1]) & 0x7f;
    if (len == 126) {
      auto e = s.read_exactly(2, timeout);
      if (!e) return std::nullopt;
      len = (uint64_t(static_cast<unsigned char>((*e)[0])) << 8) | static_cast<unsigned char>((*e)[1]);
    } else if (len == 127) {
      auto e = s.read_exactly(8, timeout);
      if (!e) return std::nullopt;
      len = 0;
      for (char c : *e) len = (len << 8) | static_cast<unsigned char>(c);
    }
    auto payload = s.read_exactly(static_cast<size_t>(len), timeout);
    if (!payload) return std::nullopt;
    if (op == 0x1) return payload;
    if (op == 0x8) return std::nullopt;  // close
    // pings/pongs: ignore (a server ping needs no answer within these short tests)
  }
}

bool ws_send_text(Socket& s, const std::string& text) {
  std::string frame;
  frame += static_cast<char>(0x81);
  const uint64_t n = text.size();
  if (n < 126) {
    frame += static_cast<char>(0x80 | n);
  } else if (n < 65536) {
    frame += static_cast<char>(0x80 | 126);
    frame += static_cast<char>((n >> 8) & 0xff);
    frame += static_cast<char>(n & 0xff);
  } else {
    frame += static_cast<char>(0x80 | 127);
    for (int shift = 56; shift >= 0; shift -= 8) frame += static_cast<char>((n >> shift) & 0xff);
  }
  const unsigned char mask[4] = {0x12, 0x34, 0x56, 0x78};
  frame.append(reinterpret_cast<const char*>(mask), 4);
  for (size_t i = 0; i < n; ++i) frame += static_cast<char>(text[i] ^ mask[i % 4]);
  return s.send_all(frame);
}

std::string temp_path(const std::string& stem) {
  static std::atomic<int> counter{0};
  return (std::string(std::getenv("TMPDIR") ? std::getenv("TMPDIR") : "/tmp")) + "/vlm-net-" +
         std::to_string(::getpid()) + "-" + std::to_string(counter++) + "-" + stem;
}

}  // namespace vlm::net::test
