// vlm-monitor end to end on loopback: two RTSP cameras from gst-rtsp-server plus one that is absent
// at start, the tiny fixture checkpoint, the monitor as a child process (SIGTERM and SIGKILL are
// part of the behaviour under test). Every wait is bounded.
#include <gst/gst.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <thread>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "net_test_util.h"
#include "rtsp_test_server.h"

namespace vlm::net::test {
namespace {

using nlohmann::json;
using Clock = std::chrono::steady_clock;

std::string tiny_model() {
  const char* fixtures = std::getenv("VLM_FIXTURES");
  if (!fixtures) return {};
  const auto model = std::filesystem::path(fixtures) / "models" / "tiny-a";
  return std::filesystem::exists(model / "config.json") ? model.string() : std::string{};
}

struct Monitor {
  pid_t pid = -1;
  uint16_t port = 0;
  int out_fd = -1;
  ~Monitor() {
    if (pid > 0) {
      ::kill(pid, SIGKILL);
      ::waitpid(pid, nullptr, 0);
    }
    if (out_fd >= 0) ::close(out_fd);
  }
  // Waits for exit up to timeout; returns the wait status or -1.
  int wait_exit(std::chrono::seconds timeout) {
    const auto end = Clock::now() + timeout;
    while (Clock::now() < end) {
      int status = 0;
      if (::waitpid(pid, &status, WNOHANG) == pid) {
        pid = -1;
        return status;
      }
      std::this_thread::sleep_for(50ms);
    }
    return -1;
  }
};

std::unique_ptr<Monitor> spawn_monitor(const std::string& config_path) {
  const char* exe = std::getenv("VLM_MONITOR");
  if (!exe) return nullptr;
  int fds[2];
  if (::pipe(fds) != 0) return nullptr;
  auto m = std::make_unique<Monitor>();
  m->pid = ::fork();
  if (m->pid == 0) {
    ::dup2(fds[1], STDOUT_FILENO);
    ::close(fds[0]);
    ::close(fds[1]);
    ::execl(exe, exe, config_path.c_str(), static_cast<char*>(nullptr));
    ::_exit(127);
  }
  ::close(fds[1]);
  m->out_fd = fds[0];
  Socket out(::dup(fds[0]));
  auto line = out.read_until("\n", 60000ms);
  if (!line) return m;
  const size_t p = line->find("127.0.0.1:");
  if (p != std::string::npos) m->port = static_cast<uint16_t>(std::stoi(line->substr(p + 10)));
  return m;
}

std::string write_config(const std::string& log, const std::vector<std::pair<std::string, uint16_t>>& cams) {
  json c{{"model", tiny_model()},
         {"log", log},
         {"server", {{"port", 0}}},
         {"backoff", {{"initial_ms", 200}, {"max_ms", 1000}}},
         {"stall_timeout_ms", 4000},
         {"drain_timeout_ms", 20000},
         {"defaults", {{"sample_fps", 2}, {"window", 1}, {"stride", 1},
                       {"describe", {{"max-new-tokens", "3"}, {"min-pixels", "3136"},
                                     {"max-pixels", "3136"}, {"mode", "file"}}}}},
         {"cameras", json::array()}};
  for (const auto& [name, port] : cams)
    c["cameras"].push_back({{"name", name}, {"url", "rtsp://127.0.0.1:" + std::to_string(port) + "/cam"}});
  const std::string path = temp_path("monitor.json");
  std::ofstream(path) << c.dump(2);
  return path;
}

json stats(uint16_t port) {
  const auto r = http_get(port, "/stats");
  if (r.status != 200) return json::object();
  return json::parse(r.body, nullptr, false);
}

uint64_t cam_stat(const json& s, const std::string& cam, const char* field) {
  if (!s.is_object() || !s.contains("cameras") || !s["cameras"].contains(cam)) return 0;
  return s["cameras"][cam].value(field, uint64_t{0});
}

// Polls /stats until pred holds or the timeout passes.
template <class Pred>
bool wait_stats(uint16_t port, std::chrono::milliseconds timeout, Pred pred) {
  const auto end = Clock::now() + timeout;
  while (Clock::now() < end) {
    if (pred(stats(port))) return true;
    std::this_thread::sleep_for(100ms);
  }
  return false;
}

std::vector<json> read_log(const std::string& path) {
  std::vector<json> out;
  std::ifstream in(path);
  for (std::string l; std::getline(in, l);) out.push_back(json::parse(l));
  return out;
}

TEST(Monitor, CameraOutageReconnectsWhileOthersContinueAndLateCameraIsPickedUp) {
  ASSERT_FALSE(tiny_model().empty()) << "the bundled tiny checkpoint is missing";
  RtspCamera a(free_port()), b(free_port()), c(free_port());
  ASSERT_TRUE(a.start());
  ASSERT_TRUE(b.start());  // c stays absent at start
  const std::string log = temp_path("monitor.jsonl");
  auto mon = spawn_monitor(write_config(log, {{"a", a.port()}, {"b", b.port()}, {"c", c.port()}}));
  ASSERT_TRUE(mon && mon->port) << "vlm-monitor did not start (VLM_MONITOR set?)";
  const uint16_t port = mon->port;
  ASSERT_TRUE(wait_stats(port, 60000ms, [](const json& s) {
    return cam_stat(s, "a", "windows") >= 2 && cam_stat(s, "b", "windows") >= 2;
  })) << stats(port).dump();
  EXPECT_EQ(cam_stat(stats(port), "c", "windows"), 0u);

  // Camera A goes away for 10 s; B must keep producing; C comes up meanwhile.
  a.stop();
  const uint64_t b_before = cam_stat(stats(port), "b", "windows");
  std::this_thread::sleep_for(5s);
  ASSERT_TRUE(c.start());
  std::this_thread::sleep_for(5s);
  const json during = stats(port);
  EXPECT_GE(cam_stat(during, "b", "windows"), b_before + 3) << during.dump();
  EXPECT_GE(cam_stat(during, "a", "failures"), 1u) << during.dump();
  const uint64_t a_frames = cam_stat(during, "a", "frames");
  ASSERT_TRUE(a.start());
  EXPECT_TRUE(wait_stats(port, 5000ms, [&](const json& s) {
    return cam_stat(s, "a", "frames") > a_frames;
  })) << "A did not reconnect within 5 s of its return: " << stats(port).dump();
  EXPECT_TRUE(wait_stats(port, 30000ms, [&](const json& s) {
    return cam_stat(s, "a", "reconnects") >= 1 && cam_stat(s, "c", "windows") >= 1;
  })) << stats(port).dump();

  ASSERT_EQ(::kill(mon->pid, SIGTERM), 0);
  const int status = mon->wait_exit(40s);
  ASSERT_NE(status, -1) << "vlm-monitor did not exit after SIGTERM";
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << status;

  // The log: whole lines, ids 1..N, per camera session windows in order without duplicates.
  const auto lines = read_log(log);
  ASSERT_FALSE(lines.empty());
  std::map<std::pair<std::string, uint64_t>, int64_t> last_start;
  std::set<std::string> keys;
  std::map<std::string, std::set<uint64_t>> sessions;
  for (size_t i = 0; i < lines.size(); ++i) {
    const json& e = lines[i];
    EXPECT_EQ(e["seq"], i + 1);
    const std::string cam = e["camera"];
    const uint64_t session = e["session"];
    sessions[cam].insert(session);
    const auto key = std::make_pair(cam, session);
    const int64_t start = e["start_ns"];
    if (last_start.count(key)) {
      EXPECT_GT(start, last_start[key]) << e.dump();
    }
    last_start[key] = start;
    EXPECT_TRUE(keys.insert(cam + "/" + std::to_string(session) + "/" + e["id"].get<std::string>()).second)
        << "duplicate " << e.dump();
    EXPECT_TRUE(e.contains("wall_start")) << e.dump();
  }
  EXPECT_GE(sessions["a"].size(), 2u);
  EXPECT_EQ(sessions["b"].size(), 1u);
  EXPECT_GE(sessions["c"].size(), 1u);
  std::filesystem::remove(log);
}

TEST(Monitor, KillDashNineThenRestartKeepsTheLogAndResumeWorks) {
  ASSERT_FALSE(tiny_model().empty()) << "the bundled tiny checkpoint is missing";
  RtspCamera b(free_port());
  ASSERT_TRUE(b.start());
  const std::string log = temp_path("kill.jsonl");
  const std::string config = write_config(log, {{"b", b.port()}});
  uint64_t before_kill = 0;
  {
    auto mon = spawn_monitor(config);
    ASSERT_TRUE(mon && mon->port);
    ASSERT_TRUE(wait_stats(mon->port, 60000ms, [](const json& s) { return cam_stat(s, "b", "windows") >= 3; }));
    ASSERT_EQ(::kill(mon->pid, SIGKILL), 0);
    mon->wait_exit(10s);
  }
  const auto lines = read_log(log);  // throws on a torn line
  ASSERT_GE(lines.size(), 3u);
  before_kill = lines.size();
  for (size_t i = 0; i < lines.size(); ++i) EXPECT_EQ(lines[i]["seq"], i + 1);
  auto mon = spawn_monitor(config);
  ASSERT_TRUE(mon && mon->port);
  auto sse = sse_open(mon->port, "/events", "Last-Event-ID: " + std::to_string(before_kill - 1) + "\r\n");
  ASSERT_TRUE(sse);
  auto first = sse_next(*sse, 30000ms);
  ASSERT_TRUE(first);
  EXPECT_EQ(first->id, std::to_string(before_kill));  // the last event before the kill
  auto next = sse_next(*sse, 60000ms);  // then new results of the restarted monitor
  ASSERT_TRUE(next);
  EXPECT_EQ(next->id, std::to_string(before_kill + 1));
  EXPECT_EQ(json::parse(next->data)["session"], 1);  // a new process: its own session count
  ::kill(mon->pid, SIGTERM);
  EXPECT_NE(mon->wait_exit(40s), -1);
  std::filesystem::remove(log);
}

TEST(Monitor, MalformedConfigIsAClearErrorExitTwo) {
  const std::string path = temp_path("bad.json");
  std::ofstream(path) << R"({"model": "/m", "log": "/tmp/x.jsonl", "cameras": [{"name": "a", "url": "rtsp://x", "window": -1}]})";
  auto mon = spawn_monitor(path);
  ASSERT_TRUE(mon);
  const int status = mon->wait_exit(20s);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 2) << status;
  std::filesystem::remove(path);
}

}  // namespace
}  // namespace vlm::net::test

int main(int argc, char** argv) {
  gst_init(&argc, &argv);
  ::testing::InitGoogleTest(&argc, argv);
  return RUN_ALL_TESTS();
}
