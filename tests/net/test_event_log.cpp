// EventLog: ids, recovery of a torn tail, retention gaps, and durability of acknowledged events
// across SIGKILL of a writer process (fork + kill -9, then reopen and check every acked id).
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <set>

#include <gtest/gtest.h>

#include "event_log.h"
#include "net_test_util.h"
#include "vlm/error.h"

namespace vlm::net {
namespace {

using nlohmann::json;

std::vector<std::string> file_lines(const std::string& path) {
  std::ifstream in(path);
  std::vector<std::string> lines;
  std::string l;
  while (std::getline(in, l)) lines.push_back(l);
  return lines;
}

TEST(EventLog, IdsIncreaseAndContinueAfterReopen) {
  const std::string path = test::temp_path("ids.jsonl");
  {
    EventLog log(path);
    auto a = log.append({json{{"stream", "cam"}, {"text", "one"}}, json{{"text", "two"}}});
    ASSERT_EQ(a.size(), 2u);
    EXPECT_EQ(a[0].seq, 1u);
    EXPECT_EQ(a[1].seq, 2u);
    EXPECT_EQ(a[0].stream, "cam");
  }
  EventLog log(path);
  EXPECT_EQ(log.last_seq(), 2u);
  auto b = log.append({json{{"text", "three"}, {"seq", 99}}});
  EXPECT_EQ(b[0].seq, 3u);  // a caller's "seq" is replaced
  const auto lines = file_lines(path);
  ASSERT_EQ(lines.size(), 3u);
  EXPECT_EQ(json::parse(lines[2])["text"], "three");
  EXPECT_EQ(json::parse(lines[2])["seq"], 3);
  std::remove(path.c_str());
}

TEST(EventLog, RejectsNonObjectsWithoutWriting) {
  EventLog log("");
  EXPECT_THROW(log.append({json{{"a", 1}}, json::array()}), vlm::Error);
  EXPECT_EQ(log.last_seq(), 0u);
}

TEST(EventLog, TornLastLineIsTruncatedOnOpen) {
  const std::string path = test::temp_path("torn.jsonl");
  {
    std::ofstream out(path);
    out << "{\"seq\":1,\"text\":\"a\"}\n{\"seq\":2,\"text\":\"b\"}\n{\"seq\":3,\"te";
  }
  EventLog log(path);
  EXPECT_EQ(log.last_seq(), 2u);
  EXPECT_EQ(log.truncated_bytes(), std::string("{\"seq\":3,\"te").size());
  log.append({json{{"text", "c"}}});
  const auto lines = file_lines(path);
  ASSERT_EQ(lines.size(), 3u);
  for (const auto& l : lines) EXPECT_FALSE(json::parse(l, nullptr, false).is_discarded()) << l;
  EXPECT_EQ(json::parse(lines[2])["seq"], 3);
  std::remove(path.c_str());
}

TEST(EventLog, SinceGivesExactlyTheLaterEventsOrAGapBeyondRetention) {
  EventLog log("", 3);
  for (int i = 0; i < 10; ++i) log.append({json{{"i", i}}});
  Backlog b = log.since(8);
  EXPECT_FALSE(b.gap);
  ASSERT_EQ(b.events.size(), 2u);
  EXPECT_EQ(b.events[0].seq, 9u);
  EXPECT_EQ(b.events[1].seq, 10u);
  b = log.since(2);
  EXPECT_TRUE(b.gap);
  EXPECT_EQ(b.gap_from, 3u);  // 3..7 are gone, 8..10 retained
  EXPECT_EQ(b.gap_to, 7u);
  ASSERT_EQ(b.events.size(), 3u);
  EXPECT_EQ(b.events[0].seq, 8u);
  EXPECT_TRUE(log.since(10).events.empty());
}

// A child appends batches and reports each acknowledged id on a pipe; the parent kills it with
// SIGKILL mid-run. Reopening must find every acknowledged id, in order, and only whole lines.
TEST(EventLog, SurvivesKillDashNineWithEveryAcknowledgedEvent) {
  const std::string path = test::temp_path("kill9.jsonl");
  int fds[2];
  ASSERT_EQ(::pipe(fds), 0);
  const pid_t child = ::fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    ::close(fds[0]);
    EventLog log(path);
    const std::string pad(300, 'x');
    for (uint64_t i = 0;; ++i) {
      auto logged = log.append({json{{"stream", "cam"}, {"i", i}, {"pad", pad}},
                                json{{"stream", "cam"}, {"i", i}, {"pad", pad}}});
      const uint64_t acked = logged.back().seq;
      if (::write(fds[1], &acked, sizeof acked) != sizeof acked) ::_exit(1);
    }
  }
  ::close(fds[1]);
  uint64_t acked = 0;
  for (int n = 0; n < 50; ++n) ASSERT_EQ(::read(fds[0], &acked, sizeof acked), ssize_t(sizeof acked));
  ASSERT_EQ(::kill(child, SIGKILL), 0);
  int status = 0;
  ::waitpid(child, &status, 0);
  uint64_t v = 0;
  while (::read(fds[0], &v, sizeof v) == sizeof v) acked = v;  // acks sent before it died
  ::close(fds[0]);
  EXPECT_TRUE(WIFSIGNALED(status));

  EventLog log(path);
  EXPECT_GE(log.last_seq(), acked);
  const auto lines = file_lines(path);
  ASSERT_EQ(lines.size(), log.last_seq());
  for (size_t i = 0; i < lines.size(); ++i) {
    const json j = json::parse(lines[i], nullptr, false);
    ASSERT_FALSE(j.is_discarded()) << "line " << i;
    EXPECT_EQ(j["seq"].get<uint64_t>(), i + 1);
  }
  // Resume works across the restart: new ids continue, since() answers the old range.
  const uint64_t before = log.last_seq();
  EXPECT_EQ(log.append({json{{"after", "restart"}}})[0].seq, before + 1);
  const Backlog b = log.since(acked - 1);
  ASSERT_FALSE(b.events.empty());
  EXPECT_EQ(b.events.front().seq, acked);
  std::remove(path.c_str());
}

}  // namespace
}  // namespace vlm::net
