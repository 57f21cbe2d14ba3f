// Window answer -> records, and duplicate-event merging (see window_results.h).
#include "window_results.h"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <set>

#include "vlm/event_parse.h"

namespace vlm::gst {
namespace {

constexpr size_t kKnownEvents = 256;
constexpr double kMinOverlap = 0.3;  // temporal IoU above which similar texts are one event

std::set<std::string> words_of(const std::string& text) {
  std::set<std::string> words;
  std::string word;
  for (const char c : text) {
    if (std::isalnum(static_cast<unsigned char>(c)) || (static_cast<unsigned char>(c) & 0x80)) {
      word.push_back(static_cast<char>(std::tolower(static_cast<unsigned char>(c))));
    } else if (!word.empty()) {
      words.insert(word);
      word.clear();
    }
  }
  if (!word.empty()) words.insert(word);
  return words;
}

double temporal_iou(const EventRecord& a, const EventRecord& b) {
  const int64_t inter = std::min(a.end_ns, b.end_ns) - std::max(a.start_ns, b.start_ns);
  const int64_t uni = std::max(a.end_ns, b.end_ns) - std::min(a.start_ns, b.start_ns);
  if (uni <= 0) return a.start_ns == b.start_ns ? 1.0 : 0.0;  // two instants
  return std::max<int64_t>(inter, 0) / static_cast<double>(uni);
}

// Bytes that do not form valid UTF-8 become U+FFFD: a generation cut at max-new-tokens can end
// inside a character, and GLib strings, Pango and JSON consumers all need valid UTF-8.
std::string valid_utf8(const std::string& s) {
  std::string out;
  out.reserve(s.size());
  size_t i = 0;
  while (i < s.size()) {
    const auto c = static_cast<unsigned char>(s[i]);
    size_t n = 0;
    uint32_t cp = 0;
    if (c < 0x80) { n = 1; cp = c; }
    else if ((c & 0xE0) == 0xC0) { n = 2; cp = c & 0x1F; }
    else if ((c & 0xF0) == 0xE0) { n = 3; cp = c & 0x0F; }
    else if ((c & 0xF8) == 0xF0) { n = 4; cp = c & 0x07; }
    bool ok = n > 0 && i + n <= s.size();
    for (size_t k = 1; ok && k < n; ++k) {
      const auto cc = static_cast<unsigned char>(s[i + k]);
      ok = (cc & 0xC0) == 0x80;
      cp = (cp << 6) | (cc & 0x3F);
    }
    // Overlong forms, surrogates and values past U+10FFFF are invalid too.
    ok = ok && !(n == 2 && cp < 0x80) && !(n == 3 && cp < 0x800) && !(n == 4 && cp < 0x10000) &&
         !(cp >= 0xD800 && cp <= 0xDFFF) && cp <= 0x10FFFF;
    if (ok) {
      out.append(s, i, n);
      i += n;
    } else {
      out += "\xEF\xBF\xBD";
      ++i;
    }
  }
  return out;
}

std::string trimmed(const std::string& s) {
  const auto first = s.find_first_not_of(" \t\r\n");
  if (first == std::string::npos) return {};
  return s.substr(first, s.find_last_not_of(" \t\r\n") - first + 1);
}

}  // namespace

bool similar_text(const std::string& a, const std::string& b) {
  const auto wa = words_of(a);
  const auto wb = words_of(b);
  if (wa.empty() || wb.empty()) return wa == wb;
  size_t shared = 0;
  for (const auto& w : wa) shared += wb.count(w);
  const size_t uni = wa.size() + wb.size() - shared;
  return static_cast<double>(shared) / static_cast<double>(uni) >= 0.5;
}

bool EventMerger::merge(EventRecord& candidate, const std::string& stream) {
  for (EventRecord& known : known_) {
    if (temporal_iou(known, candidate) < kMinOverlap || !similar_text(known.text, candidate.text))
      continue;
    const int64_t start = std::min(known.start_ns, candidate.start_ns);
    const int64_t end = std::max(known.end_ns, candidate.end_ns);
    if (start == known.start_ns && end == known.end_ns) return false;  // nothing new
    known.start_ns = start;
    known.end_ns = end;
    known.window_start_ns = candidate.window_start_ns;
    known.window_end_ns = candidate.window_end_ns;
    known.frames = candidate.frames;
    if (candidate.score && (!known.score || *candidate.score > *known.score)) known.score = candidate.score;
    candidate = known;
    return true;
  }
  candidate.id = (stream.empty() ? "" : stream + "-") + "e" + std::to_string(next_id_++);
  known_.push_back(candidate);
  if (known_.size() > kKnownEvents) known_.pop_front();
  return true;
}

std::vector<EventRecord> window_records(const WindowJob& job, const WindowAnswer& answer,
                                        const std::string& stream, EventMerger& merger) {
  const Window& w = job.window;
  std::vector<EventRecord> out;
  EventRecord window;
  window.stream = stream;
  window.kind = "window";
  window.id = (stream.empty() ? "" : stream + "-") + "w" + std::to_string(w.index);
  window.text = trimmed(valid_utf8(answer.text));
  window.score = answer.score;
  window.start_ns = window.window_start_ns = w.start_stream_ns();
  window.end_ns = window.window_end_ns = w.end_stream_ns();
  window.frames = static_cast<uint32_t>(w.frames.size());
  window.caption = !window.text.empty();
  out.push_back(window);
  if (job.task.task == Task::Describe || w.frames.empty() || window.text.empty()) return out;

  const int64_t origin = w.media_first()->stream_ns;  // model time 0
  std::vector<ParsedEvent> parsed_events = parse_events(answer.text);
  if (parsed_events.empty() && job.task.task == Task::Query) {
    // Refined but no times in the answer: the query's span is the window, as `vlm localize` falls
    // back to a candidate's coarse bounds.
    ParsedEvent whole;
    whole.start_seconds = static_cast<double>(window.window_start_ns - origin) / 1e9;
    whole.end_seconds = static_cast<double>(window.window_end_ns - origin) / 1e9;
    parsed_events.push_back(whole);
  }
  if (!parsed_events.empty()) out.front().caption = false;  // its events are the captions
  for (const ParsedEvent& parsed : parsed_events) {
    EventRecord event = window;
    event.kind = "event";
    event.caption = true;
    event.id.clear();
    auto to_ns = [&](double seconds) {
      const int64_t t = origin + static_cast<int64_t>(std::llround(seconds * 1e9));
      return std::clamp(t, window.window_start_ns, window.window_end_ns);
    };
    event.start_ns = to_ns(parsed.start_seconds);
    event.end_ns = to_ns(parsed.end_seconds);
    event.text = !parsed.text.empty() ? valid_utf8(parsed.text)
                 : job.task.task == Task::Query ? valid_utf8(job.task.user_prompt)
                                                : window.text;
    if (merger.merge(event, stream)) out.push_back(event);
  }
  return out;
}

}  // namespace vlm::gst
