// JSON Lines serialisation of EventRecord (nlohmann::ordered_json keeps the schema's field order
// so files diff cleanly; invalid UTF-8 from a model is replaced, never thrown).
#include "event_record.h"

#include <nlohmann/json.hpp>

namespace vlm::gst {

std::string to_json_line(const EventRecord& r) {
  nlohmann::ordered_json j;
  j["stream"] = r.stream;
  j["kind"] = r.kind;
  j["start"] = static_cast<double>(r.start_ns) / 1e9;
  j["end"] = static_cast<double>(r.end_ns) / 1e9;
  j["start_ns"] = r.start_ns;
  j["end_ns"] = r.end_ns;
  j["text"] = r.text;
  j["id"] = r.id;
  j["window_start"] = static_cast<double>(r.window_start_ns) / 1e9;
  j["window_end"] = static_cast<double>(r.window_end_ns) / 1e9;
  j["frames"] = r.frames;
  if (r.score) j["score"] = *r.score;
  return j.dump(-1, ' ', false, nlohmann::ordered_json::error_handler_t::replace);
}

}  // namespace vlm::gst
