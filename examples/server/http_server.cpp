// HttpServer on Boost.Beast: one io thread; an acceptor that refuses connections past the limit
// with 503; a Session per connection reading one request at a time under the header/body limits
// and a whole-request deadline (slowloris); Subscribers (SSE, WebSocket) that take over the socket
// with a bounded queue each. The only translation unit that includes Beast.
#include "http_server.h"

#include <atomic>
#include <deque>
#include <optional>
#include <set>
#include <thread>

// GCC 12 with sanitizers reports a false -Wmaybe-uninitialized inside Beast's parser
// (boost::optional in basic_parser.hpp); silenced for Boost's headers only.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/websocket.hpp>
#pragma GCC diagnostic pop

#include "vlm/error.h"

namespace vlm::net {
namespace {
namespace beast = boost::beast;
namespace http = beast::http;
namespace websocket = beast::websocket;
namespace asio = boost::asio;
using tcp = asio::ip::tcp;
using Request = http::request<http::string_body>;

std::string percent_decode(std::string_view s) {
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '%' && i + 2 < s.size()) {
      const std::string hex(s.substr(i + 1, 2));
      char* end = nullptr;
      const long v = std::strtol(hex.c_str(), &end, 16);
      if (end == hex.c_str() + 2) {
        out += static_cast<char>(v);
        i += 2;
        continue;
      }
    }
    out += s[i] == '+' ? ' ' : s[i];
  }
  return out;
}

struct Target {
  std::string path;
  std::vector<std::pair<std::string, std::string>> query;
  std::optional<std::string> get(const std::string& key) const {
    for (const auto& [k, v] : query)
      if (k == key) return v;
    return std::nullopt;
  }
};

Target split_target(std::string_view target) {
  Target t;
  const size_t q = target.find('?');
  t.path = std::string(target.substr(0, q));
  if (q == std::string_view::npos) return t;
  std::string_view rest = target.substr(q + 1);
  while (!rest.empty()) {
    const size_t amp = rest.find('&');
    std::string_view item = rest.substr(0, amp);
    const size_t eq = item.find('=');
    t.query.emplace_back(percent_decode(item.substr(0, eq)),
                         eq == std::string_view::npos ? "" : percent_decode(item.substr(eq + 1)));
    if (amp == std::string_view::npos) break;
    rest = rest.substr(amp + 1);
  }
  return t;
}

// A decimal event id, or nullopt for anything else (hostile input is not an error here).
std::optional<uint64_t> parse_id(const std::string& s) {
  if (s.empty() || s.size() > 20) return std::nullopt;
  uint64_t v = 0;
  for (char c : s) {
    if (c < '0' || c > '9') return std::nullopt;
    v = v * 10 + static_cast<uint64_t>(c - '0');
  }
  return v;
}

bool equal_constant_time(const std::string& a, const std::string& b) {
  if (a.size() != b.size() || b.empty()) return false;
  unsigned char diff = 0;
  for (size_t i = 0; i < a.size(); ++i) diff |= static_cast<unsigned char>(a[i] ^ b[i]);
  return diff == 0;
}

std::string gap_json(uint64_t from, uint64_t to, const char* reason) {
  return nlohmann::json{{"gap", {{"from", from}, {"to", to}, {"reason", reason}}}}.dump();
}

}  // namespace

bool is_loopback_address(const std::string& address) {
  if (address == "localhost") return true;
  boost::system::error_code ec;
  const auto a = asio::ip::make_address(address, ec);
  return !ec && a.is_loopback();
}

class Subscriber;

struct HttpServer::Impl {
  ServerConfig cfg;
  std::shared_ptr<EventLog> log;
  std::function<nlohmann::json()> extra_stats;
  // Counters first: sessions destroyed with the io_context still decrement them.
  std::atomic<uint64_t> open{0}, refused{0}, cut_off{0}, requests{0}, sent{0}, nsubs{0};
  std::atomic<uint16_t> port{0};
  asio::io_context ioc{1};
  tcp::acceptor acceptor{ioc};
  std::optional<asio::executor_work_guard<asio::io_context::executor_type>> guard;
  std::set<std::shared_ptr<Subscriber>> subs;  // io thread only
  std::thread thread;

  void do_accept();
  void refuse(tcp::socket socket);
  nlohmann::json stats() const;
};

// ---- subscribers --------------------------------------------------------------------------------
struct QueuedMessage {
  std::string data;
  uint64_t seq = 0;  // 0 for headers, comments and markers
};

class Subscriber : public std::enable_shared_from_this<Subscriber> {
 public:
  Subscriber(HttpServer::Impl& srv, uint64_t after) : srv_(srv), last_queued_(after) { ++srv_.open; }
  virtual ~Subscriber() { --srv_.open; }

  // Backlog from the log, then registration: later notify() calls are de-duplicated by seq.
  void join() {
    const Backlog b = srv_.log->since(last_queued_);
    if (b.gap) queue_.push_back({format_gap(b.gap_from, b.gap_to, "retention", true), 0});
    for (const LoggedEvent& e : b.events) push_event(e);
    srv_.subs.insert(shared_from_this());
    srv_.nsubs = srv_.subs.size();
    pump();
  }

  void deliver(const std::vector<LoggedEvent>& events) {
    if (closing_) return;
    for (const LoggedEvent& e : events) {
      if (e.seq <= last_queued_) continue;
      if (queue_.size() >= srv_.cfg.subscriber_queue) return cut_off(e.seq, events.back().seq);
      push_event(e);
    }
    pump();
  }

  virtual void close() = 0;

 protected:
  virtual std::string format_event(const LoggedEvent& e) = 0;
  virtual std::string format_gap(uint64_t from, uint64_t to, const char* reason, bool advance) = 0;
  virtual void write_front() = 0;  // writes queue_.front(), then calls on_written
  virtual void finish() = 0;       // all written after a cut-off: close politely

  void push_event(const LoggedEvent& e) {
    queue_.push_back({format_event(e), e.seq});
    last_queued_ = e.seq;
  }

  void cut_off(uint64_t first_missing, uint64_t last_missing) {
    // Keep the message being written; everything queued after it is dropped.
    const size_t keep = writing_ ? 1 : 0;
    for (size_t i = keep; i < queue_.size(); ++i)
      if (queue_[i].seq != 0) {
        first_missing = queue_[i].seq;
        break;
      }
    queue_.erase(queue_.begin() + static_cast<std::ptrdiff_t>(keep), queue_.end());
    queue_.push_back({format_gap(first_missing, last_missing, "slow-subscriber", false), 0});
    closing_ = true;
    ++srv_.cut_off;
    pump();
  }

  void pump() {
    if (writing_ || closed_) return;
    if (queue_.empty()) {
      if (closing_) finish();
      return;
    }
    writing_ = true;
    write_front();
  }

  void on_written(beast::error_code ec) {
    writing_ = false;
    if (ec) return close();
    if (queue_.front().seq != 0) ++srv_.sent;
    queue_.pop_front();
    pump();
  }

  void unregister() {
    srv_.subs.erase(shared_from_this());
    srv_.nsubs = srv_.subs.size();
  }

  HttpServer::Impl& srv_;
  std::deque<QueuedMessage> queue_;
  uint64_t last_queued_;
  bool writing_ = false;
  bool closing_ = false;
  bool closed_ = false;
};

class SseSubscriber final : public Subscriber {
 public:
  SseSubscriber(HttpServer::Impl& srv, beast::tcp_stream&& stream, uint64_t after)
      : Subscriber(srv, after), stream_(std::move(stream)), heartbeat_(srv.ioc) {}

  void start() {
    queue_.push_back({"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\n"
                      "Cache-Control: no-cache\r\nConnection: close\r\nX-Accel-Buffering: no\r\n"
                      "\r\nretry: 1000\n\n",
                      0});
    join();
    watch_peer();
    arm_heartbeat();
  }

  void close() override {
    if (closed_) return;
    closed_ = true;
    heartbeat_.cancel();
    beast::error_code ec;
    stream_.socket().shutdown(tcp::socket::shutdown_both, ec);
    stream_.close();
    unregister();
  }

 private:
  std::string format_event(const LoggedEvent& e) override {
    return "id: " + std::to_string(e.seq) + "\ndata: " + e.line + "\n\n";
  }
  std::string format_gap(uint64_t from, uint64_t to, const char* reason, bool advance) override {
    std::string s = advance ? "id: " + std::to_string(to) + "\n" : "";
    return s + "event: gap\ndata: " + gap_json(from, to, reason) + "\n\n";
  }
  void write_front() override {
    stream_.expires_after(srv_.cfg.idle_timeout);
    asio::async_write(stream_, asio::buffer(queue_.front().data),
                      [self = shared_from_this(), this](beast::error_code ec, size_t) {
                        if (!closed_) stream_.expires_never();
                        on_written(ec);
                      });
  }
  void finish() override {
    beast::error_code ec;
    stream_.socket().shutdown(tcp::socket::shutdown_send, ec);
    close();
  }
  // The client sends nothing after its request: any read completion means it went away.
  void watch_peer() {
    stream_.socket().async_read_some(asio::buffer(scratch_),
                                     [self = shared_from_this(), this](beast::error_code ec, size_t) {
                                       if (ec) return close();
                                       watch_peer();
                                     });
  }
  void arm_heartbeat() {
    heartbeat_.expires_after(srv_.cfg.heartbeat);
    heartbeat_.async_wait([self = shared_from_this(), this](beast::error_code ec) {
      if (ec || closed_) return;
      if (queue_.empty() && !closing_) {
        queue_.push_back({": ping\n\n", 0});
        pump();
      }
      arm_heartbeat();
    });
  }

  beast::tcp_stream stream_;
  asio::steady_timer heartbeat_;
  char scratch_[256];
};

class WsSubscriber final : public Subscriber {
 public:
  WsSubscriber(HttpServer::Impl& srv, beast::tcp_stream&& stream, uint64_t after)
      : Subscriber(srv, after), ws_(std::move(stream)) {}

  void start(Request request) {
    beast::get_lowest_layer(ws_).expires_never();
    websocket::stream_base::timeout t{};
    t.handshake_timeout = srv_.cfg.idle_timeout;
    t.idle_timeout = srv_.cfg.idle_timeout;
    t.keep_alive_pings = true;
    ws_.set_option(t);
    ws_.text(true);
    ws_.async_accept(request, [self = shared_from_this(), this](beast::error_code ec) {
      if (ec) return close();
      accepted_ = true;
      join();
      read_loop();
    });
  }

  void close() override {
    if (closed_) return;
    closed_ = true;
    beast::error_code ec;
    beast::get_lowest_layer(ws_).socket().shutdown(tcp::socket::shutdown_both, ec);
    beast::get_lowest_layer(ws_).close();
    unregister();
  }

 private:
  std::string format_event(const LoggedEvent& e) override { return e.line; }
  std::string format_gap(uint64_t from, uint64_t to, const char* reason, bool) override {
    return gap_json(from, to, reason);
  }
  void write_front() override {
    ws_.async_write(asio::buffer(queue_.front().data),
                    [self = shared_from_this(), this](beast::error_code ec, size_t) {
                      on_written(ec);
                    });
  }
  void finish() override {
    ws_.async_close(websocket::close_code::policy_error,
                    [self = shared_from_this(), this](beast::error_code) { close(); });
  }
  void read_loop() {
    ws_.async_read(in_, [self = shared_from_this(), this](beast::error_code ec, size_t) {
      if (ec) return close();
      in_.consume(in_.size());  // clients have nothing to say; ignore
      read_loop();
    });
  }

  websocket::stream<beast::tcp_stream> ws_;
  beast::flat_buffer in_;
  bool accepted_ = false;
};

// ---- request/response session -------------------------------------------------------------------
class Session : public std::enable_shared_from_this<Session> {
 public:
  Session(HttpServer::Impl& srv, tcp::socket&& socket) : srv_(srv), stream_(std::move(socket)) {
    ++srv_.open;
  }
  ~Session() { --srv_.open; }

  void read_request() {
    parser_.emplace();
    parser_->header_limit(static_cast<std::uint32_t>(srv_.cfg.max_header_bytes));
    parser_->body_limit(srv_.cfg.max_body_bytes);
    stream_.expires_after(srv_.cfg.idle_timeout);  // the whole request: a slow drip times out
    http::async_read(stream_, buffer_, *parser_,
                     [self = shared_from_this()](beast::error_code ec, size_t) { self->on_read(ec); });
  }

 private:
  void on_read(beast::error_code ec) {
    if (ec == http::error::header_limit) return reply_error(http::status::request_header_fields_too_large, "request header too large");
    if (ec == http::error::body_limit) return reply_error(http::status::payload_too_large, "request body too large");
    if (ec == http::error::end_of_stream || ec == beast::error::timeout || ec == asio::error::operation_aborted ||
        ec == asio::error::connection_reset || ec == asio::error::eof)
      return close();
    if (ec) return reply_error(http::status::bad_request, "malformed request: " + ec.message());
    ++srv_.requests;
    handle(parser_->release());
  }

  void handle(Request req) {
    const Target t = split_target(std::string_view(req.target().data(), req.target().size()));
    if (!authorised(req, t)) {
      http::response<http::string_body> res{http::status::unauthorized, req.version()};
      res.set(http::field::www_authenticate, "Bearer");
      return send(std::move(res), false, "missing or wrong bearer token\n", "text/plain");
    }
    const std::optional<uint64_t> since = resume_id(req, t);
    if (websocket::is_upgrade(req)) {
      if (t.path != "/ws") return reply_error(http::status::not_found, "no WebSocket at " + t.path);
      auto sub = std::make_shared<WsSubscriber>(srv_, std::move(stream_), since.value_or(srv_.log->last_seq()));
      return sub->start(std::move(req));
    }
    if (req.method() != http::verb::get)
      return reply_error(http::status::method_not_allowed, "only GET is served");
    const bool keep = req.keep_alive();
    http::response<http::string_body> res{http::status::ok, req.version()};
    if (t.path == "/") return send(std::move(res), keep, dashboard_html(), "text/html; charset=utf-8");
    if (t.path == "/events") {
      stream_.expires_never();
      auto sub = std::make_shared<SseSubscriber>(srv_, std::move(stream_), since.value_or(srv_.log->last_seq()));
      return sub->start();
    }
    if (t.path == "/events.jsonl") {
      size_t limit = SIZE_MAX;
      if (auto l = t.get("limit"); l && parse_id(*l)) limit = static_cast<size_t>(*parse_id(*l));
      const Backlog b = srv_.log->since(since.value_or(0), limit);
      std::string body;
      if (b.gap) body += gap_json(b.gap_from, b.gap_to, "retention") + "\n";
      for (const LoggedEvent& e : b.events) body += e.line + "\n";
      return send(std::move(res), keep, std::move(body), "application/x-ndjson");
    }
    if (t.path == "/stats") {
      const auto accept = req[http::field::accept];
      const bool prom = t.get("format") == std::optional<std::string>("prometheus") ||
                        (accept.find("text/plain") != beast::string_view::npos &&
                         accept.find("application/json") == beast::string_view::npos);
      const nlohmann::json stats = srv_.stats();
      if (prom) return send(std::move(res), keep, prometheus_text(stats), "text/plain; version=0.0.4");
      return send(std::move(res), keep, stats.dump() + "\n", "application/json");
    }
    reply_error(http::status::not_found, "not found: " + t.path);
  }

  bool authorised(const Request& req, const Target& t) const {
    if (srv_.cfg.token.empty()) return true;
    const auto h = req[http::field::authorization];
    const std::string header(h.data(), h.size());
    if (header.rfind("Bearer ", 0) == 0 && equal_constant_time(header.substr(7), srv_.cfg.token))
      return true;
    const auto q = t.get("token");
    return q && equal_constant_time(*q, srv_.cfg.token);
  }

  static std::optional<uint64_t> resume_id(const Request& req, const Target& t) {
    const auto h = req["Last-Event-ID"];
    if (!h.empty()) return parse_id(std::string(h.data(), h.size()));
    if (auto s = t.get("since")) return parse_id(*s);
    return std::nullopt;
  }

  void reply_error(http::status status, const std::string& text) {
    http::response<http::string_body> res{status, 11};
    send(std::move(res), false, text + "\n", "text/plain");
  }

  void send(http::response<http::string_body>&& res, bool keep_alive, std::string body,
            const char* content_type) {
    res.set(http::field::server, "vlmpublish");
    res.set(http::field::content_type, content_type);
    res.set(http::field::cache_control, "no-store");
    res.keep_alive(keep_alive);
    res.body() = std::move(body);
    res.prepare_payload();
    auto sp = std::make_shared<http::response<http::string_body>>(std::move(res));
    stream_.expires_after(srv_.cfg.idle_timeout);
    http::async_write(stream_, *sp, [self = shared_from_this(), sp](beast::error_code ec, size_t) {
      if (ec || sp->need_eof()) return self->close();
      self->read_request();
    });
  }

  void close() {
    beast::error_code ec;
    stream_.socket().shutdown(tcp::socket::shutdown_send, ec);
    stream_.close();
  }

  HttpServer::Impl& srv_;
  beast::tcp_stream stream_;
  beast::flat_buffer buffer_;
  std::optional<http::request_parser<http::string_body>> parser_;
};

// ---- server -------------------------------------------------------------------------------------
void HttpServer::Impl::do_accept() {
  acceptor.async_accept([this](beast::error_code ec, tcp::socket socket) {
    if (ec == asio::error::operation_aborted || !acceptor.is_open()) return;
    if (!ec) {
      if (open.load() >= cfg.max_connections)
        refuse(std::move(socket));
      else
        std::make_shared<Session>(*this, std::move(socket))->read_request();
    }
    do_accept();
  });
}

void HttpServer::Impl::refuse(tcp::socket socket) {
  ++refused;
  static const std::string kBusy =
      "HTTP/1.1 503 Service Unavailable\r\nContent-Type: text/plain\r\nContent-Length: 21\r\n"
      "Connection: close\r\n\r\ntoo many connections\n";
  auto sp = std::make_shared<tcp::socket>(std::move(socket));
  asio::async_write(*sp, asio::buffer(kBusy), [sp](beast::error_code, size_t) {
    beast::error_code ec;
    sp->shutdown(tcp::socket::shutdown_both, ec);
    sp->close(ec);
  });
}

nlohmann::json HttpServer::Impl::stats() const {
  nlohmann::json j{{"last_seq", log->last_seq()},
                   {"retained", log->retained()},
                   {"connections_open", open.load()},
                   {"connections_refused", refused.load()},
                   {"subscribers", nsubs.load()},
                   {"subscribers_cut_off", cut_off.load()},
                   {"requests", requests.load()},
                   {"events_sent", sent.load()}};
  if (extra_stats) {
    const nlohmann::json extra = extra_stats();
    if (extra.is_object()) j.update(extra);
  }
  return j;
}

HttpServer::HttpServer(ServerConfig config, std::shared_ptr<EventLog> log,
                       std::function<nlohmann::json()> extra_stats)
    : impl_(std::make_shared<Impl>()) {
  VLM_CHECK(log != nullptr, InvalidInput, "HttpServer: no event log");
  const std::string address = config.address == "localhost" ? "127.0.0.1" : config.address;
  boost::system::error_code ec;
  const auto ip = asio::ip::make_address(address, ec);
  VLM_CHECK(!ec, InvalidInput, "server address '" << config.address << "' is not an IP address");
  VLM_CHECK(ip.is_loopback() || !config.token.empty(), InvalidInput,
            "refusing to serve events on non-loopback address " << config.address
                << " without a bearer token: set a token, or bind 127.0.0.1");
  VLM_CHECK(config.max_connections > 0 && config.subscriber_queue > 0 &&
                config.idle_timeout.count() > 0,
            InvalidInput, "server limits must be positive (connections, queue, idle timeout)");
  impl_->cfg = std::move(config);
  impl_->log = std::move(log);
  impl_->extra_stats = std::move(extra_stats);
  Impl& s = *impl_;
  const tcp::endpoint ep(ip, s.cfg.port);
  s.acceptor.open(ep.protocol(), ec);
  if (!ec) s.acceptor.set_option(asio::socket_base::reuse_address(true), ec);
  if (!ec) s.acceptor.bind(ep, ec);
  if (!ec) s.acceptor.listen(asio::socket_base::max_listen_connections, ec);
  VLM_CHECK(!ec, Io, "cannot listen on " << s.cfg.address << ":" << s.cfg.port << ": " << ec.message());
  s.port = s.acceptor.local_endpoint().port();
  s.guard.emplace(s.ioc.get_executor());
  s.do_accept();
  s.thread = std::thread([&s] { s.ioc.run(); });
}

HttpServer::~HttpServer() {
  Impl& s = *impl_;
  asio::post(s.ioc, [&s] {
    beast::error_code ec;
    s.acceptor.close(ec);
    const auto subs = s.subs;
    for (const auto& sub : subs) sub->close();
    s.subs.clear();
    s.ioc.stop();
  });
  s.guard.reset();
  if (s.thread.joinable()) s.thread.join();
  s.subs.clear();
}

uint16_t HttpServer::port() const { return impl_->port.load(); }

void HttpServer::notify(std::vector<LoggedEvent> events) {
  if (events.empty()) return;
  Impl& s = *impl_;
  asio::post(s.ioc, [&s, events = std::move(events)] {
    const auto subs = s.subs;  // deliver() may unregister
    for (const auto& sub : subs) sub->deliver(events);
  });
}

ServerCounters HttpServer::counters() const {
  const Impl& s = *impl_;
  return ServerCounters{s.open.load(), s.refused.load(), s.nsubs.load(),
                        s.cut_off.load(), s.requests.load(), s.sent.load()};
}

nlohmann::json HttpServer::stats_json() const { return impl_->stats(); }

}  // namespace vlm::net
