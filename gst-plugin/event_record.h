// One result in the schema every output of vlmdescribe shares (ARCHITECTURE.md §5): stream, kind
// (window|event), start/end (seconds of stream time) and start_ns/end_ns, text, id, plus the
// producing window's window_start/window_end/frames, and `score` for task=query results. Plain
// C++ so records can be built and checked without GStreamer; the element turns them into metas,
// messages and events.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

namespace vlm::gst {

struct EventRecord {
  std::string stream;
  std::string kind;  // "window" or "event"
  std::string id;
  std::string text;
  int64_t start_ns = 0;
  int64_t end_ns = 0;
  int64_t window_start_ns = 0;
  int64_t window_end_ns = 0;
  uint32_t frames = 0;
  std::optional<double> score;  // task=query: probability that the window shows the query
  // Goes to the text_src pad: events, and windows whose answer held no event (not serialised).
  bool caption = false;
  bool is_event() const { return kind == "event"; }
};

// One JSON object on one line (no trailing newline), fields in schema order.
std::string to_json_line(const EventRecord& record);

}  // namespace vlm::gst
