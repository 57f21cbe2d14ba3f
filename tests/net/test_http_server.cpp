// HttpServer through a Publisher, driven by an independent POSIX-socket client: SSE resume with
// Last-Event-ID, WebSocket delivery, retention and slow-subscriber gap markers, /events.jsonl,
// /stats (JSON and Prometheus), the token rule and the limits (431, 413, 503, idle timeout).
#include <thread>

#include <gtest/gtest.h>

#include "net_test_util.h"
#include "publisher.h"
#include "vlm/error.h"

namespace vlm::net {
namespace {

using nlohmann::json;
using namespace std::chrono_literals;
using test::Socket;

std::vector<json> events(int first, int count, const std::string& stream = "cam-a") {
  std::vector<json> out;
  for (int i = first; i < first + count; ++i)
    out.push_back(json{{"stream", stream}, {"kind", "window"}, {"text", "event " + std::to_string(i)}});
  return out;
}

PublisherConfig memory_config() {
  PublisherConfig c;
  c.server.idle_timeout = 5000ms;
  return c;
}

// Reads SSE messages until one with this id arrives; returns the ids seen (in order).
std::vector<std::string> sse_ids_until(Socket& s, const std::string& last_id) {
  std::vector<std::string> ids;
  while (auto m = test::sse_next(s)) {
    ids.push_back(m->event.empty() ? m->id : m->event + ":" + m->id);
    if (m->id == last_id) break;
  }
  return ids;
}

TEST(HttpServer, SseResumeWithLastEventIdGivesExactlyTheMissedEvents) {
  Publisher p(memory_config());
  const uint16_t port = p.server()->port();
  auto s = test::sse_open(port, "/events?since=0");
  ASSERT_TRUE(s);
  p.publish(events(1, 3));
  EXPECT_EQ(sse_ids_until(*s, "3"), (std::vector<std::string>{"1", "2", "3"}));
  s->close();  // the client goes away; events keep coming
  p.publish(events(4, 4));
  auto r = test::sse_open(port, "/events", "Last-Event-ID: 3\r\n");
  ASSERT_TRUE(r);
  EXPECT_EQ(sse_ids_until(*r, "7"), (std::vector<std::string>{"4", "5", "6", "7"}));
  p.publish(events(8, 1));  // nothing duplicated between backlog and live delivery
  auto next = test::sse_next(*r);
  ASSERT_TRUE(next);
  EXPECT_EQ(next->id, "8");
  EXPECT_EQ(json::parse(next->data)["text"], "event 8");
}

TEST(HttpServer, SseWithoutResumeIdStartsLive) {
  Publisher p(memory_config());
  p.publish(events(1, 2));
  auto s = test::sse_open(p.server()->port(), "/events");
  ASSERT_TRUE(s);
  // Registration happens on the server thread; publish until the subscriber is counted.
  for (int i = 0; i < 200 && p.server()->counters().subscribers == 0; ++i)
    std::this_thread::sleep_for(10ms);
  p.publish(events(3, 1));
  auto m = test::sse_next(*s);
  ASSERT_TRUE(m);
  EXPECT_EQ(m->id, "3");
}

TEST(HttpServer, WebSocketReceivesTheSameEventsAsSse) {
  Publisher p(memory_config());
  const uint16_t port = p.server()->port();
  auto ws = test::ws_open(port, "/ws?since=0");
  ASSERT_TRUE(ws);
  auto sse = test::sse_open(port, "/events?since=0");
  ASSERT_TRUE(sse);
  p.publish(events(1, 5, "cam-b"));
  for (int i = 1; i <= 5; ++i) {
    auto text = test::ws_next_text(*ws);
    ASSERT_TRUE(text) << "ws message " << i;
    auto m = test::sse_next(*sse);
    ASSERT_TRUE(m);
    EXPECT_EQ(*text, m->data);
    const json j = json::parse(*text);
    EXPECT_EQ(j["seq"], i);
    EXPECT_EQ(j["stream"], "cam-b");
  }
}

TEST(HttpServer, ResumeBeyondRetentionGetsAGapMarker) {
  PublisherConfig c = memory_config();
  c.retention = 3;
  Publisher p(c);
  p.publish(events(1, 10));
  auto s = test::sse_open(p.server()->port(), "/events", "Last-Event-ID: 2\r\n");
  ASSERT_TRUE(s);
  auto gap = test::sse_next(*s);
  ASSERT_TRUE(gap);
  EXPECT_EQ(gap->event, "gap");
  EXPECT_EQ(gap->id, "7");  // so a reconnect continues after the gap
  const json g = json::parse(gap->data)["gap"];
  EXPECT_EQ(g["from"], 3);
  EXPECT_EQ(g["to"], 7);
  EXPECT_EQ(g["reason"], "retention");
  EXPECT_EQ(sse_ids_until(*s, "10"), (std::vector<std::string>{"8", "9", "10"}));
  const auto jsonl = test::http_get(p.server()->port(), "/events.jsonl?since=2");
  ASSERT_EQ(jsonl.status, 200);
  EXPECT_EQ(jsonl.body.substr(0, jsonl.body.find('\n')), R"({"gap":{"from":3,"reason":"retention","to":7}})");
}

TEST(HttpServer, EventsJsonlSinceReturnsLaterLines) {
  Publisher p(memory_config());
  const auto logged = p.publish(events(1, 4));
  const auto r = test::http_get(p.server()->port(), "/events.jsonl?since=2");
  ASSERT_EQ(r.status, 200);
  EXPECT_EQ(r.body, logged[2].line + "\n" + logged[3].line + "\n");
}

TEST(HttpServer, SlowSubscriberIsCutOffWithAGapMarker) {
  PublisherConfig c = memory_config();
  c.server.subscriber_queue = 8;
  Publisher p(c);
  auto s = test::sse_open(p.server()->port(), "/events?since=0");
  ASSERT_TRUE(s);
  // The client reads nothing: socket buffers fill, then the queue, then the server cuts it off.
  const std::string big(64 * 1024, 'z');
  for (int i = 0; i < 400 && p.server()->counters().subscribers_cut_off == 0; ++i) {
    p.publish({json{{"stream", "cam"}, {"pad", big}}});
    std::this_thread::sleep_for(2ms);
  }
  ASSERT_EQ(p.server()->counters().subscribers_cut_off, 1u);
  std::optional<test::SseMessage> last;
  uint64_t previous = 0;
  while (auto m = test::sse_next(*s, 10000ms)) {
    if (m->event.empty()) {
      EXPECT_EQ(std::stoull(m->id), previous + 1);  // in order, nothing skipped before the marker
      previous = std::stoull(m->id);
    }
    last = m;
  }
  ASSERT_TRUE(last);
  EXPECT_EQ(last->event, "gap");
  const json g = json::parse(last->data)["gap"];
  EXPECT_EQ(g["reason"], "slow-subscriber");
  EXPECT_EQ(g["from"].get<uint64_t>(), previous + 1);
}

TEST(HttpServer, StatsAsJsonAndPrometheus) {
  Publisher p(memory_config(), [] { return json{{"cameras", {{"a", {{"frames", 12}}}}}}; });
  p.publish(events(1, 3));
  auto j = test::http_get(p.server()->port(), "/stats");
  ASSERT_EQ(j.status, 200);
  const json stats = json::parse(j.body);
  EXPECT_EQ(stats["last_seq"], 3);
  EXPECT_EQ(stats["cameras"]["a"]["frames"], 12);
  auto prom = test::http_get(p.server()->port(), "/stats?format=prometheus");
  ASSERT_EQ(prom.status, 200);
  EXPECT_NE(prom.body.find("\nvlm_last_seq 3\n"), std::string::npos) << prom.body;
  EXPECT_NE(prom.body.find("vlm_cameras_frames{key=\"a\"} 12\n"), std::string::npos) << prom.body;
  auto accept = test::http_get(p.server()->port(), "/stats", "Accept: text/plain\r\n");
  EXPECT_NE(accept.body.find("vlm_last_seq 3"), std::string::npos);
  auto page = test::http_get(p.server()->port(), "/");
  EXPECT_EQ(page.status, 200);
  EXPECT_NE(page.body.find("EventSource"), std::string::npos);
  EXPECT_EQ(test::http_get(p.server()->port(), "/nope").status, 404);
}

TEST(HttpServer, NonLoopbackBindWithoutTokenIsRefused) {
  PublisherConfig c = memory_config();
  c.server.address = "0.0.0.0";
  try {
    Publisher p(c);
    FAIL() << "bound 0.0.0.0 without a token";
  } catch (const vlm::Error& e) {
    EXPECT_NE(std::string(e.what()).find("token"), std::string::npos) << e.what();
  }
  c.server.address = "not-an-address";
  EXPECT_THROW(Publisher{c}, vlm::Error);
}

TEST(HttpServer, TokenIsRequiredWhenSet) {
  PublisherConfig c = memory_config();
  c.server.token = "s3cret";
  Publisher p(c);
  const uint16_t port = p.server()->port();
  EXPECT_EQ(test::http_get(port, "/stats").status, 401);
  EXPECT_EQ(test::http_get(port, "/stats", "Authorization: Bearer wrong\r\n").status, 401);
  EXPECT_EQ(test::http_get(port, "/stats", "Authorization: Bearer s3cret\r\n").status, 200);
  EXPECT_EQ(test::http_get(port, "/stats?token=s3cret").status, 200);
  EXPECT_FALSE(test::sse_open(port, "/events"));
  EXPECT_TRUE(test::sse_open(port, "/events", "Authorization: Bearer s3cret\r\n"));
}

TEST(HttpServer, OversizedHeaderGets431AndBodyGets413) {
  PublisherConfig c = memory_config();
  c.server.max_header_bytes = 4096;
  c.server.max_body_bytes = 1024;
  Publisher p(c);
  const uint16_t port = p.server()->port();
  const auto h = test::http_get(port, "/stats", "X-Big: " + std::string(8000, 'a') + "\r\n");
  EXPECT_EQ(h.status, 431);
  const auto b = test::http_exchange(port,
      "POST /stats HTTP/1.1\r\nHost: x\r\nContent-Length: 100000\r\n\r\n" + std::string(2000, 'b'));
  EXPECT_EQ(b.status, 413);
  const auto bad = test::http_exchange(port, "NOT HTTP AT ALL\r\n\r\n");
  EXPECT_EQ(bad.status, 400);
  EXPECT_EQ(test::http_get(port, "/stats").status, 200);  // still serving
}

TEST(HttpServer, ConnectionsPastTheLimitAreRefused) {
  PublisherConfig c = memory_config();
  c.server.max_connections = 2;
  Publisher p(c);
  const uint16_t port = p.server()->port();
  Socket a = test::connect_loopback(port);
  Socket b = test::connect_loopback(port);
  ASSERT_GE(b.fd(), 0);
  for (int i = 0; i < 500 && p.server()->counters().connections_open < 2; ++i)
    std::this_thread::sleep_for(10ms);
  const auto refused = test::http_get(port, "/stats");
  EXPECT_EQ(refused.status, 503);
  EXPECT_GE(p.server()->counters().connections_refused, 1u);
  a.close();
  b.close();
  int status = 0;
  for (int i = 0; i < 500 && status != 200; ++i) {
    status = test::http_get(port, "/stats").status;
    if (status != 200) std::this_thread::sleep_for(10ms);
  }
  EXPECT_EQ(status, 200);  // slots come back when clients leave
}

TEST(HttpServer, IdleAndSlowlorisConnectionsAreClosed) {
  PublisherConfig c = memory_config();
  c.server.idle_timeout = 400ms;
  Publisher p(c);
  const uint16_t port = p.server()->port();
  Socket idle = test::connect_loopback(port);
  EXPECT_TRUE(idle.wait_closed(10000ms));
  // Slowloris: a header dripped one byte at a time, each well inside the timeout.
  Socket drip = test::connect_loopback(port);
  const std::string header = "GET /stats HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ";
  bool closed = false;
  for (int i = 0; i < 200 && !closed; ++i) {
    if (!drip.send_all(std::string(1, header[i % header.size()]))) closed = true;
    if (!closed) closed = drip.wait_closed(50ms);
  }
  EXPECT_TRUE(closed);
}

// Garbage, truncated and odd requests each get an error status or a close; the server keeps
// serving and the log is untouched.
TEST(HttpServer, HostileRequestsNeverStopTheServer) {
  PublisherConfig c = memory_config();
  c.server.idle_timeout = 500ms;
  Publisher p(c);
  p.publish(events(1, 2));
  const uint16_t port = p.server()->port();
  const std::vector<std::string> hostile = {
      std::string("\x00\x01\x02\xff\r\n\r\n", 8),
      "GET /events.jsonl?since=99999999999999999999999 HTTP/1.1\r\nHost: x\r\n\r\n",
      "GET /events.jsonl?since=-1&limit=abc HTTP/1.1\r\nHost: x\r\n\r\n",
      "GET /%zz%%%?=&&==& HTTP/1.1\r\nHost: x\r\n\r\n",
      "GET /stats HTTP/9.9\r\n\r\n",
      "POST /events HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
      "GET /ws HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n",
      "GET / HTTP/1.1\r\nHost: x\r\nContent-Length: -5\r\n\r\n",
      "GET /stats HTTP/1.1\r\n" + std::string(100, ':') + "\r\n\r\n",
  };
  for (const std::string& h : hostile) {
    const auto r = test::http_exchange(port, h, 3000ms);
    EXPECT_TRUE(r.status == 0 || (r.status >= 200 && r.status < 600)) << h;
  }
  auto ids = test::sse_open(port, "/events", "Last-Event-ID: not-a-number\r\n");
  ASSERT_TRUE(ids);  // an unusable id is ignored: live from now on
  EXPECT_EQ(test::http_get(port, "/stats").status, 200);
  EXPECT_EQ(p.log().last_seq(), 2u);
}

TEST(HttpServer, LogSurvivesRestartAndResumeContinues) {
  const std::string path = test::temp_path("restart.jsonl");
  PublisherConfig c = memory_config();
  c.log_path = path;
  { Publisher p(c); p.publish(events(1, 3)); }
  Publisher p(c);
  p.publish(events(4, 2));
  auto s = test::sse_open(p.server()->port(), "/events", "Last-Event-ID: 3\r\n");
  ASSERT_TRUE(s);
  EXPECT_EQ(sse_ids_until(*s, "5"), (std::vector<std::string>{"4", "5"}));
  std::remove(path.c_str());
}

}  // namespace
}  // namespace vlm::net
