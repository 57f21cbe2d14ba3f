// The dashboard in Debian's Chromium, headless, against a loopback server: after the page has
// loaded (its EventSource is connected), an event is published and must appear in the page's DOM
// (read through the DevTools protocol over our own WebSocket client); a screenshot is saved as
// dashboard.png in VLM_NET_ARTIFACTS (the test's build folder). Skipped without chromium.
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <thread>

#include <gtest/gtest.h>

#include "net_test_util.h"
#include "publisher.h"

namespace vlm::net {
namespace {

using nlohmann::json;
using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

std::string find_chromium() {
  for (const char* p : {"/usr/bin/chromium", "/usr/bin/chromium-browser"})
    if (::access(p, X_OK) == 0) return p;
  return {};
}

std::string base64_decode(const std::string& in) {
  auto val = [](char c) -> int {
    if (c >= 'A' && c <= 'Z') return c - 'A';
    if (c >= 'a' && c <= 'z') return c - 'a' + 26;
    if (c >= '0' && c <= '9') return c - '0' + 52;
    if (c == '+') return 62;
    if (c == '/') return 63;
    return -1;
  };
  std::string out;
  int bits = 0, acc = 0;
  for (char c : in) {
    const int v = val(c);
    if (v < 0) continue;
    acc = (acc << 6) | v;
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out += static_cast<char>((acc >> bits) & 0xff);
    }
  }
  return out;
}

class DevTools {
 public:
  explicit DevTools(test::Socket s) : s_(std::move(s)) {}
  json call(const std::string& method, const json& params, std::chrono::milliseconds timeout = 20000ms) {
    const int id = ++next_;
    if (!test::ws_send_text(s_, json{{"id", id}, {"method", method}, {"params", params}}.dump())) return {};
    const auto end = Clock::now() + timeout;
    while (Clock::now() < end) {
      auto text = test::ws_next_text(s_, std::chrono::duration_cast<std::chrono::milliseconds>(end - Clock::now()));
      if (!text) return {};
      json j = json::parse(*text, nullptr, false);
      if (j.is_object() && j.value("id", 0) == id) return j;
    }
    return {};
  }
  std::string eval_string(const std::string& expression) {
    const json r = call("Runtime.evaluate", {{"expression", expression}, {"returnByValue", true}});
    if (!r.contains("result") || !r["result"].contains("result")) return {};
    const json& v = r["result"]["result"];
    return v.contains("value") && v["value"].is_string() ? v["value"].get<std::string>() : std::string{};
  }

 private:
  test::Socket s_;
  int next_ = 0;
};

TEST(Dashboard, EventPublishedAfterLoadAppearsInChromium) {
  const std::string chromium = find_chromium();
  ASSERT_FALSE(chromium.empty()) << "chromium (scripts/install-deps.sh) is not installed";
  PublisherConfig c;
  Publisher p(c);
  const uint16_t port = p.server()->port();
  p.publish({json{{"stream", "cam-a"}, {"kind", "window"}, {"text", "first"}, {"start", 0.0}, {"end", 1.0}},
             json{{"stream", "cam-a"}, {"kind", "window"}, {"text", "second"}, {"start", 1.0}, {"end", 2.0}}});

  const std::string profile = test::temp_path("chromium");
  std::filesystem::create_directories(profile);
  const std::string url = "http://127.0.0.1:" + std::to_string(port) + "/";
  const pid_t pid = ::fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    ::setpgid(0, 0);  // chromium's helpers share this group: the test ends them all together
    const std::string dir = "--user-data-dir=" + profile;
    ::execl(chromium.c_str(), chromium.c_str(), "--headless=new", "--no-sandbox", "--disable-gpu",
            "--no-first-run", "--disable-dev-shm-usage", "--remote-debugging-port=0",
            "--window-size=900,600", dir.c_str(), url.c_str(), static_cast<char*>(nullptr));
    ::_exit(127);
  }
  struct Reaper {
    pid_t pid;
    ~Reaper() {
      ::kill(-pid, SIGKILL);
      ::waitpid(pid, nullptr, 0);
    }
  } reaper{pid};

  // The page is loaded and live once its EventSource is a subscriber.
  const auto end = Clock::now() + 90s;
  while (p.server()->counters().subscribers == 0 && Clock::now() < end) std::this_thread::sleep_for(100ms);
  ASSERT_GE(p.server()->counters().subscribers, 1u) << "the dashboard never subscribed";
  p.publish({json{{"stream", "cam-late"}, {"kind", "event"}, {"text", "published after load"},
                  {"start", 5.0}, {"end", 6.0}}});

  uint16_t devtools_port = 0;
  for (int i = 0; i < 100 && devtools_port == 0; ++i) {
    std::ifstream f(profile + "/DevToolsActivePort");
    int v = 0;
    if (f >> v) devtools_port = static_cast<uint16_t>(v);
    else std::this_thread::sleep_for(100ms);
  }
  ASSERT_NE(devtools_port, 0) << "no DevToolsActivePort";
  const auto list = test::http_get(devtools_port, "/json/list");
  const json targets = json::parse(list.body, nullptr, false);
  std::string ws_path;
  for (const auto& t : targets)
    if (t.value("type", "") == "page" && t.value("url", "") == url) {
      const std::string ws = t.value("webSocketDebuggerUrl", "");
      ws_path = ws.substr(ws.find('/', std::string("ws://").size()));
    }
  ASSERT_FALSE(ws_path.empty()) << list.body;
  auto sock = test::ws_open(devtools_port, ws_path);
  ASSERT_TRUE(sock);
  DevTools dt(std::move(*sock));

  std::string late;
  for (int i = 0; i < 100 && late.find("published after load") == std::string::npos; ++i) {
    late = dt.eval_string(
        "(document.querySelector('[data-stream=\"cam-late\"]') || {innerText: ''}).innerText");
    if (late.find("published after load") == std::string::npos) std::this_thread::sleep_for(100ms);
  }
  EXPECT_NE(late.find("published after load"), std::string::npos) << late;
  // Newest first within a camera: "second" (seq 2) above "first" (seq 1).
  EXPECT_EQ(dt.eval_string("document.querySelector('[data-stream=\"cam-a\"] .ev .text').textContent"), "second");

  const json shot = dt.call("Page.captureScreenshot", {{"format", "png"}});
  ASSERT_TRUE(shot.contains("result")) << shot.dump();
  const std::string png = base64_decode(shot["result"].value("data", ""));
  ASSERT_GT(png.size(), 8u);
  EXPECT_EQ(png.substr(1, 3), "PNG");
  const char* artifacts = std::getenv("VLM_NET_ARTIFACTS");
  const std::string out = std::string(artifacts ? artifacts : "/tmp") + "/dashboard.png";
  std::ofstream(out, std::ios::binary) << png;
  std::filesystem::remove_all(profile);
}

}  // namespace
}  // namespace vlm::net
