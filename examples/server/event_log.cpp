// EventLog: recovery on open (scan, keep complete parseable lines, truncate a torn tail), batched
// append with one write + fdatasync per batch, and an in-memory window for resume.
#include "event_log.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>

#include "vlm/error.h"

namespace vlm::net {

std::string stream_of(const nlohmann::json& event) {
  auto it = event.find("stream");
  if (it != event.end() && it->is_string()) return it->get<std::string>();
  return {};
}

std::string stream_of(const nlohmann::ordered_json& event) {
  auto it = event.find("stream");
  if (it != event.end() && it->is_string()) return it->get<std::string>();
  return {};
}

EventLog::EventLog(const std::string& path, size_t retention)
    : path_(path), retention_(retention == 0 ? 1 : retention) {
  if (path_.empty()) return;
  recover();
  fd_ = ::open(path_.c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
  VLM_CHECK(fd_ >= 0, Io, "event log " << path_ << ": cannot open for appending: "
                                        << std::strerror(errno));
}

EventLog::~EventLog() {
  if (fd_ >= 0) ::close(fd_);
}

void EventLog::recover() {
  std::ifstream in(path_, std::ios::binary);
  if (!in) return;  // a new log
  std::string line;
  uint64_t good_end = 0;  // offset just past the last complete, valid line
  uint64_t offset = 0;
  while (std::getline(in, line)) {
    const bool terminated = !in.eof();
    const uint64_t next = offset + line.size() + (terminated ? 1 : 0);
    if (!terminated) break;  // torn: no newline, never acknowledged
    nlohmann::json j = nlohmann::json::parse(line, nullptr, false);
    if (j.is_discarded() || !j.is_object() || !j.contains("seq") ||
        !j["seq"].is_number_unsigned())
      break;  // a torn or foreign line ends the trusted prefix
    const uint64_t seq = j["seq"].get<uint64_t>();
    VLM_CHECK(seq > last_seq_, InvalidInput,
              "event log " << path_ << ": seq " << seq << " at byte " << offset
                           << " does not increase (previous " << last_seq_ << ")");
    last_seq_ = seq;
    remember(LoggedEvent{seq, stream_of(j), line});
    good_end = next;
    offset = next;
  }
  in.close();
  struct stat st {};
  VLM_CHECK(::stat(path_.c_str(), &st) == 0, Io, "event log " << path_ << ": stat failed");
  if (static_cast<uint64_t>(st.st_size) > good_end) {
    truncated_bytes_ = static_cast<uint64_t>(st.st_size) - good_end;
    VLM_CHECK(::truncate(path_.c_str(), static_cast<off_t>(good_end)) == 0, Io,
              "event log " << path_ << ": cannot truncate torn tail: " << std::strerror(errno));
  }
}

void EventLog::remember(LoggedEvent event) {
  recent_.push_back(std::move(event));
  while (recent_.size() > retention_) recent_.pop_front();
}

std::vector<LoggedEvent> EventLog::append(const std::vector<nlohmann::json>& events) {
  std::vector<nlohmann::ordered_json> ordered;
  ordered.reserve(events.size());
  for (const nlohmann::json& e : events) ordered.push_back(nlohmann::ordered_json(e));
  return append_ordered(ordered);
}

std::vector<LoggedEvent> EventLog::append_ordered(const std::vector<nlohmann::ordered_json>& events) {
  for (size_t i = 0; i < events.size(); ++i)
    VLM_CHECK(events[i].is_object(), InvalidInput,
              "event log append: event " << i << " is not a JSON object");
  std::lock_guard<std::mutex> lock(mutex_);
  std::vector<LoggedEvent> out;
  out.reserve(events.size());
  std::string batch;
  uint64_t seq = last_seq_;
  for (const nlohmann::ordered_json& e : events) {
    nlohmann::ordered_json line;
    line["seq"] = ++seq;
    for (auto it = e.begin(); it != e.end(); ++it)
      if (it.key() != "seq") line[it.key()] = it.value();
    LoggedEvent logged{seq, stream_of(e),
                       line.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace)};
    batch += logged.line;
    batch += '\n';
    out.push_back(std::move(logged));
  }
  if (fd_ >= 0 && !batch.empty()) {
    size_t done = 0;
    while (done < batch.size()) {
      const ssize_t n = ::write(fd_, batch.data() + done, batch.size() - done);
      if (n < 0 && errno == EINTR) continue;
      VLM_CHECK(n > 0, Io, "event log " << path_ << ": write failed: " << std::strerror(errno));
      done += static_cast<size_t>(n);
    }
    VLM_CHECK(::fdatasync(fd_) == 0, Io,
              "event log " << path_ << ": fdatasync failed: " << std::strerror(errno));
  }
  last_seq_ = seq;
  for (const LoggedEvent& e : out) remember(e);
  return out;
}

Backlog EventLog::since(uint64_t after, size_t max) const {
  std::lock_guard<std::mutex> lock(mutex_);
  Backlog b;
  if (after >= last_seq_) return b;
  const uint64_t first_kept = recent_.empty() ? last_seq_ + 1 : recent_.front().seq;
  if (after + 1 < first_kept) {
    b.gap = true;
    b.gap_from = after + 1;
    b.gap_to = first_kept - 1;
  }
  for (const LoggedEvent& e : recent_) {
    if (e.seq <= after) continue;
    if (b.events.size() >= max) break;
    b.events.push_back(e);
  }
  return b;
}

uint64_t EventLog::last_seq() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return last_seq_;
}

size_t EventLog::retained() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return recent_.size();
}

}  // namespace vlm::net
