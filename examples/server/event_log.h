// vlm::net::EventLog — the durable, append-only JSON Lines log behind vlmpublish and vlm-monitor.
// Each line is one event object whose first field is "seq", a strictly increasing event id that
// survives restarts (the next id continues after the last line found on open).
//
// Durability (fsync policy): append() writes a whole batch with one write(2) and then fdatasync(2)s
// the file before it returns, so every event append() has returned (acknowledged) is on disk.
// A crash (kill -9, power loss) can leave at most a torn last line of an unacknowledged batch; open
// truncates the file back to the end of the last complete, parseable line.
// Retention: the newest `retention` events are kept in memory for resume (SSE Last-Event-ID,
// /events.jsonl?since=); older ids are answered with a gap. The file itself is never trimmed.
// An empty path gives a memory-only log (tests, benchmarks). Thread-safe.
#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
#include <mutex>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace vlm::net {

struct LoggedEvent {
  uint64_t seq = 0;
  std::string stream;  // the event's "stream" field ("" when absent): the dashboard groups by it
  std::string line;    // the JSON object, one line, no trailing newline
};

// What a reader who saw everything up to `after` should receive next.
struct Backlog {
  bool gap = false;       // events gap_from..gap_to are no longer retained
  uint64_t gap_from = 0;
  uint64_t gap_to = 0;
  std::vector<LoggedEvent> events;  // in seq order, all with seq > after
};

class EventLog {
 public:
  explicit EventLog(const std::string& path, size_t retention = 100000);
  ~EventLog();
  EventLog(const EventLog&) = delete;
  EventLog& operator=(const EventLog&) = delete;

  // Assigns ids, writes and syncs the batch; returns the events as logged. Non-object inputs are
  // rejected (InvalidInput) before anything is written. A field named "seq" is replaced.
  std::vector<LoggedEvent> append(const std::vector<nlohmann::json>& events);
  // The same, keeping each object's field order (e.g. the vlmdescribe schema order).
  std::vector<LoggedEvent> append_ordered(const std::vector<nlohmann::ordered_json>& events);

  // Events with seq > after (at most `max`), with a gap marker when some of them are gone.
  Backlog since(uint64_t after, size_t max = SIZE_MAX) const;

  uint64_t last_seq() const;  // 0 when empty
  size_t retained() const;
  // Bytes cut from a torn tail when the file was opened (0 when it ended cleanly).
  uint64_t truncated_bytes() const { return truncated_bytes_; }
  const std::string& path() const { return path_; }

 private:
  void recover();
  void remember(LoggedEvent event);

  std::string path_;
  size_t retention_;
  int fd_ = -1;
  uint64_t truncated_bytes_ = 0;
  mutable std::mutex mutex_;
  uint64_t last_seq_ = 0;
  std::deque<LoggedEvent> recent_;
};

// The "stream" field of an event line, "" when absent (used on recovery).
std::string stream_of(const nlohmann::json& event);
std::string stream_of(const nlohmann::ordered_json& event);

}  // namespace vlm::net
