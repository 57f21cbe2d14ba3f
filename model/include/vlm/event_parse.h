// Parsing a model's answer into timestamped events (spec §9.1). Qwen2.5-VL answers in the form the
// prompt asks for: a JSON list (keys start/end or start_time/end_time, seconds or "mm:ss.ff"), or
// plain sentences ("happens in 64.0 - 72.0 seconds", "from 3 to 5.5 seconds"). Shared by the
// GStreamer element and the `vlm localize` tool. Parsing never throws on model output: text that
// holds no event gives an empty list and the caller keeps the raw text.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace vlm {

// One event, times in seconds relative to the first frame the model saw.
struct ParsedEvent {
  double start_seconds = 0.0;
  double end_seconds = 0.0;
  std::string text;
};

// A time as the model writes it: "12", "12.5", "12.5s", "1:05", "01:05.50", "1:02:03.5".
// Returns nullopt for anything else (negative, empty, non-numeric, minutes/seconds >= 60).
std::optional<double> parse_time_seconds(std::string_view text);

// The answer with ```json fences and surrounding whitespace removed.
std::string strip_code_fences(std::string_view answer);

// Every event the answer states. JSON (a list of objects, one object, or {"events": [...]}) is
// tried first; otherwise each "A - B seconds" / "from A to B seconds" / "A to B s" phrase gives one
// event whose text is the sentence holding it. Events with end < start are swapped; events with
// unreadable times are skipped.
std::vector<ParsedEvent> parse_events(std::string_view answer);

}  // namespace vlm
