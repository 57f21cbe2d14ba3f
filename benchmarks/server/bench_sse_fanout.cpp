// SSE fan-out benchmark: events per second delivered to N Server-Sent Events subscribers (default
// 100) by vlm-events-server, and resident memory per connected subscriber. Reference measured in
// the same run: a naive fan-out writing the same SSE bytes to N loopback socket pairs from one
// thread (no HTTP, no queues, no log) — the ratio says what the server costs over raw sockets.
// Usage: bench_sse_fanout [SUBSCRIBERS=100] [EVENTS=5000]
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include "publisher.h"

namespace {

using Clock = std::chrono::steady_clock;

long rss_kib() {
  std::ifstream in("/proc/self/status");
  for (std::string line; std::getline(in, line);)
    if (line.rfind("VmRSS:", 0) == 0) return std::atol(line.c_str() + 6);
  return 0;
}

int connect_loopback(uint16_t port) {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(port);
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) std::exit(1);
  return fd;
}

// Reads every fd until each has seen `needle_count` occurrences of "\n\n" after its header.
// Returns false on timeout.
bool drain(const std::vector<int>& fds, size_t messages_each, std::chrono::seconds timeout) {
  std::vector<size_t> seen(fds.size(), 0);
  std::vector<char> last(fds.size(), 0);
  size_t done = 0;
  std::vector<pollfd> p(fds.size());
  const auto end = Clock::now() + timeout;
  std::vector<char> buf(1 << 16);
  while (done < fds.size() && Clock::now() < end) {
    for (size_t i = 0; i < fds.size(); ++i) p[i] = {fds[i], static_cast<short>(seen[i] >= messages_each ? 0 : POLLIN), 0};
    if (::poll(p.data(), p.size(), 1000) <= 0) continue;
    for (size_t i = 0; i < fds.size(); ++i) {
      if (!(p[i].revents & POLLIN)) continue;
      const ssize_t n = ::read(fds[i], buf.data(), buf.size());
      if (n <= 0) return false;
      for (ssize_t k = 0; k < n; ++k) {
        if (buf[k] == '\n' && last[i] == '\n' && ++seen[i] == messages_each) ++done;
        last[i] = buf[k];
      }
    }
  }
  return done == fds.size();
}

}  // namespace

int main(int argc, char** argv) {
  const size_t subscribers = argc > 1 ? std::strtoul(argv[1], nullptr, 10) : 100;
  const size_t events = argc > 2 ? std::strtoul(argv[2], nullptr, 10) : 5000;
  const std::string text(200, 'x');  // a typical one-sentence description

  vlm::net::PublisherConfig config;
  config.server.max_connections = subscribers + 16;
  config.server.subscriber_queue = events + 16;
  vlm::net::Publisher publisher(config);
  const uint16_t port = publisher.server()->port();

  const long rss_before = rss_kib();
  std::vector<int> fds;
  const std::string request = "GET /events HTTP/1.1\r\nHost: x\r\n\r\n";
  for (size_t i = 0; i < subscribers; ++i) {
    fds.push_back(connect_loopback(port));
    if (::write(fds.back(), request.data(), request.size()) < 0) return 1;
  }
  // Header + "retry" block = 2 blank-line terminated blocks... the header ends with \r\n\r\n,
  // then "retry: 1000\n\n" — count that one block before events.
  if (!drain(fds, 1, std::chrono::seconds(30))) {
    std::fprintf(stderr, "subscribers did not connect\n");
    return 1;
  }
  while (publisher.server()->counters().subscribers < subscribers)
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  const long rss_connected = rss_kib();

  std::vector<nlohmann::json> batch;
  const auto t0 = Clock::now();
  std::thread reader([&] {
    if (!drain(fds, events, std::chrono::seconds(120))) std::fprintf(stderr, "server: timeout\n");
  });
  for (size_t i = 0; i < events; i += 50) {
    batch.clear();
    for (size_t k = i; k < std::min(events, i + 50); ++k)
      batch.push_back({{"stream", "cam-" + std::to_string(k % 4)}, {"kind", "window"}, {"text", text}});
    publisher.publish(batch);
  }
  reader.join();
  const double server_s = std::chrono::duration<double>(Clock::now() - t0).count();
  for (int fd : fds) ::close(fd);

  // Reference: the same SSE bytes written by one thread to N socket pairs, read by another.
  const std::string sample = publisher.log().since(0, 1).events.at(0).line;
  const std::string message = "id: 1\ndata: " + sample + "\n\n";
  std::vector<int> writers, readers;
  for (size_t i = 0; i < subscribers; ++i) {
    int sv[2];
    if (::socketpair(AF_UNIX, SOCK_STREAM, 0, sv) != 0) return 1;
    writers.push_back(sv[0]);
    readers.push_back(sv[1]);
  }
  const auto t1 = Clock::now();
  std::thread raw_reader([&] { drain(readers, events, std::chrono::seconds(120)); });
  for (size_t e = 0; e < events; ++e)
    for (int w : writers)
      if (::write(w, message.data(), message.size()) < 0) return 1;
  raw_reader.join();
  const double raw_s = std::chrono::duration<double>(Clock::now() - t1).count();
  for (int fd : writers) ::close(fd);
  for (int fd : readers) ::close(fd);

  const double delivered = static_cast<double>(events * subscribers);
  std::printf("SSE fan-out: %zu subscribers, %zu events of %zu bytes (JSON line)\n", subscribers,
              events, sample.size());
  std::printf("  vlm-events-server : %10.0f events delivered/s (%6.0f published events/s)\n",
              delivered / server_s, static_cast<double>(events) / server_s);
  std::printf("  raw socket fan-out: %10.0f events delivered/s (reference, same bytes)\n",
              delivered / raw_s);
  std::printf("  ratio server/raw  : %.2f\n", raw_s / server_s);
  std::printf("  memory per idle subscriber: %.1f KiB RSS (%ld KiB for %zu)\n",
              static_cast<double>(rss_connected - rss_before) / static_cast<double>(subscribers),
              rss_connected - rss_before, subscribers);
  return 0;
}
