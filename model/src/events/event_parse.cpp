// Model answer -> events (see vlm/event_parse.h). JSON first (nlohmann, non-throwing parse), then
// the sentence forms the Qwen cookbooks show. Everything here treats the answer as untrusted: no
// exception escapes for malformed text, only for programming errors.
#include "vlm/event_parse.h"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cmath>
#include <memory>

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>
#include <nlohmann/json.hpp>

#include "vlm/error.h"

namespace vlm {
namespace {

std::string_view trim(std::string_view s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
  return s;
}

bool all_digits(std::string_view s) {
  return !s.empty() && std::all_of(s.begin(), s.end(),
                                   [](char c) { return std::isdigit(static_cast<unsigned char>(c)); });
}

// "12" or "12.5" (no sign, no exponent) -> value.
std::optional<double> parse_plain_number(std::string_view s) {
  const size_t dot = s.find('.');
  const std::string_view whole = s.substr(0, dot);
  if (!all_digits(whole)) return std::nullopt;
  if (dot != std::string_view::npos && !all_digits(s.substr(dot + 1))) return std::nullopt;
  double value = 0.0;
  const auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), value);
  if (ec != std::errc() || ptr != s.data() + s.size() || !std::isfinite(value)) return std::nullopt;
  return value;
}

std::optional<double> time_from_json(const nlohmann::json& value) {
  if (value.is_number()) {
    const double v = value.get<double>();
    if (!std::isfinite(v) || v < 0) return std::nullopt;
    return v;
  }
  if (value.is_string()) return parse_time_seconds(value.get<std::string>());
  return std::nullopt;
}

const nlohmann::json* find_key(const nlohmann::json& object, std::initializer_list<const char*> keys) {
  for (const char* key : keys) {
    const auto it = object.find(key);
    if (it != object.end()) return &*it;
  }
  return nullptr;
}

std::optional<ParsedEvent> event_from_json(const nlohmann::json& object) {
  if (!object.is_object()) return std::nullopt;
  std::optional<double> start, end;
  if (const auto* s = find_key(object, {"start", "start_time", "start_seconds", "begin", "from"}))
    start = time_from_json(*s);
  if (const auto* e = find_key(object, {"end", "end_time", "end_seconds", "stop", "to"}))
    end = time_from_json(*e);
  if (const auto* span = find_key(object, {"timestamp", "timestamps", "time", "span"});
      span != nullptr && span->is_array() && span->size() == 2 && !start && !end) {
    start = time_from_json((*span)[0]);
    end = time_from_json((*span)[1]);
  }
  if (!start || !end) return std::nullopt;
  ParsedEvent event;
  event.start_seconds = std::min(*start, *end);
  event.end_seconds = std::max(*start, *end);
  if (const auto* t = find_key(object, {"description", "event", "text", "caption", "label",
                                        "content", "sentence", "query"});
      t != nullptr && t->is_string())
    event.text = std::string(trim(t->get<std::string>()));
  return event;
}

// Tries every '['/'{' start with the last matching closer; the first parse that yields events wins.
std::optional<std::vector<ParsedEvent>> parse_json_events(std::string_view text) {
  for (const char open : {'[', '{'}) {
    const char close = open == '[' ? ']' : '}';
    const size_t first = text.find(open);
    const size_t last = text.rfind(close);
    if (first == std::string_view::npos || last == std::string_view::npos || last < first) continue;
    const nlohmann::json doc =
        nlohmann::json::parse(text.substr(first, last - first + 1), nullptr, /*allow_exceptions=*/false);
    if (doc.is_discarded()) continue;
    const nlohmann::json* list = &doc;
    if (doc.is_object()) {
      if (const auto* events = find_key(doc, {"events", "results", "segments"});
          events != nullptr && events->is_array())
        list = events;
    }
    std::vector<ParsedEvent> events;
    if (list->is_array()) {
      for (const auto& item : *list)
        if (auto e = event_from_json(item)) events.push_back(std::move(*e));
    } else if (auto e = event_from_json(*list)) {
      events.push_back(std::move(*e));
    }
    if (!events.empty()) return events;
  }
  return std::nullopt;
}

bool is_sentence_end(std::string_view text, size_t i) {
  const char c = text[i];
  if (c == '\n') return true;
  if (c != '.' && c != '!' && c != '?') return false;
  return i + 1 == text.size() || std::isspace(static_cast<unsigned char>(text[i + 1]));
}

// The sentence of `text` that holds position `pos`, trimmed.
std::string sentence_around(std::string_view text, size_t pos) {
  size_t begin = pos;
  while (begin > 0 && !is_sentence_end(text, begin - 1)) --begin;
  size_t end = pos;
  while (end < text.size() && !is_sentence_end(text, end)) ++end;
  if (end < text.size() && text[end] != '\n') ++end;  // keep the full stop
  return std::string(trim(text.substr(begin, end - begin)));
}

// The time-span pattern, compiled once (PCRE2: libvlm already links it, and std::regex trips
// GCC 12 -Wmaybe-uninitialized false positives under -fsanitize=address).
// Groups: 1 "from/between", 2 first time, 3 second time, 4 unit after the second time.
const pcre2_code* span_pattern() {
  static const std::unique_ptr<pcre2_code, decltype(&pcre2_code_free)> code = [] {
    const std::string time = R"((\d+(?::\d{1,2}){0,2}(?:\.\d+)?))";
    const std::string unit = R"((?:s|secs?|seconds?)\b)";
    const std::string pattern = R"((\b(?:from|between)\s+)?)" + time + R"(\s*(?:)" + unit +
                                R"()?\s*(?:-|to|and|~|\xE2\x80\x93|\xE2\x80\x94)\s*)" + time + R"(\s*()" + unit +
                                R"()?)";
    int error = 0;
    PCRE2_SIZE offset = 0;
    pcre2_code* compiled = pcre2_compile(reinterpret_cast<PCRE2_SPTR>(pattern.c_str()), pattern.size(),
                                         PCRE2_CASELESS, &error, &offset, nullptr);
    VLM_CHECK(compiled != nullptr, Internal, "event span pattern does not compile (PCRE2 error " << error
                                                 << " at " << offset << ")");
    return std::unique_ptr<pcre2_code, decltype(&pcre2_code_free)>(compiled, &pcre2_code_free);
  }();
  return code.get();
}

std::vector<ParsedEvent> parse_sentence_events(std::string_view text) {
  std::vector<ParsedEvent> events;
  const pcre2_code* pattern = span_pattern();
  std::unique_ptr<pcre2_match_data, decltype(&pcre2_match_data_free)> match(
      pcre2_match_data_create_from_pattern(pattern, nullptr), &pcre2_match_data_free);
  const auto* subject = reinterpret_cast<PCRE2_SPTR>(text.data());
  PCRE2_SIZE from = 0;
  while (from <= text.size()) {
    // Byte mode (no PCRE2_UTF): model text may be invalid UTF-8; dashes are matched as bytes.
    const int rc = pcre2_match(pattern, subject, text.size(), from, 0, match.get(), nullptr);
    if (rc < 0) break;
    const PCRE2_SIZE* ov = pcre2_get_ovector_pointer(match.get());
    auto group = [&](int g) -> std::string_view {
      if (g >= rc || ov[2 * g] == PCRE2_UNSET) return {};
      return text.substr(ov[2 * g], ov[2 * g + 1] - ov[2 * g]);
    };
    const size_t pos = ov[0];
    from = ov[1] > ov[0] ? ov[1] : ov[0] + 1;
    if (pos > 0 && (std::isdigit(static_cast<unsigned char>(text[pos - 1])) || text[pos - 1] == '.'))
      continue;  // inside a longer number
    const bool has_lead = !group(1).empty();
    const bool has_unit = !group(4).empty();
    const bool clock_form = group(2).find(':') != std::string_view::npos &&
                            group(3).find(':') != std::string_view::npos;
    if (!has_lead && !has_unit && !clock_form) continue;  // two bare numbers are not a time span
    const auto a = parse_time_seconds(group(2));
    const auto b = parse_time_seconds(group(3));
    if (!a || !b) continue;
    ParsedEvent event;
    event.start_seconds = std::min(*a, *b);
    event.end_seconds = std::max(*a, *b);
    event.text = sentence_around(text, pos);
    events.push_back(std::move(event));
  }
  return events;
}

}  // namespace

std::optional<double> parse_time_seconds(std::string_view text) {
  std::string_view s = trim(text);
  for (const std::string_view suffix : {"seconds", "second", "secs", "sec", "s"}) {
    if (s.size() > suffix.size() && s.substr(s.size() - suffix.size()) == suffix) {
      s = trim(s.substr(0, s.size() - suffix.size()));
      break;
    }
  }
  if (s.empty()) return std::nullopt;
  std::vector<std::string_view> parts;
  size_t begin = 0;
  while (true) {
    const size_t colon = s.find(':', begin);
    parts.push_back(s.substr(begin, colon == std::string_view::npos ? std::string_view::npos : colon - begin));
    if (colon == std::string_view::npos) break;
    begin = colon + 1;
  }
  if (parts.size() > 3) return std::nullopt;
  double total = 0.0;
  for (size_t i = 0; i < parts.size(); ++i) {
    const bool last = i + 1 == parts.size();
    if (!last && !all_digits(parts[i])) return std::nullopt;  // only the seconds carry a fraction
    const auto value = parse_plain_number(parts[i]);
    if (!value) return std::nullopt;
    if (i > 0 && *value >= 60.0) return std::nullopt;
    total = total * 60.0 + *value;
  }
  return total;
}

std::string strip_code_fences(std::string_view answer) {
  std::string_view s = trim(answer);
  const size_t open = s.find("```");
  if (open != std::string_view::npos) {
    size_t body = s.find('\n', open);
    body = body == std::string_view::npos ? open + 3 : body + 1;  // skip the ```json line
    const size_t close = s.find("```", body);
    return std::string(trim(s.substr(body, close == std::string_view::npos ? std::string_view::npos
                                                                            : close - body)));
  }
  return std::string(s);
}

std::vector<ParsedEvent> parse_events(std::string_view answer) {
  const std::string body = strip_code_fences(answer);
  if (auto events = parse_json_events(body)) return std::move(*events);
  return parse_sentence_events(body);
}

}  // namespace vlm
