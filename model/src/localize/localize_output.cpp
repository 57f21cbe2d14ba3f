// Small pure pieces of the localisation tool (see vlm/localize.h): the two prompts, span merging
// and ranking, the yes-probability read from logits, and the JSON and SRT result files.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <limits>

#include <nlohmann/json.hpp>

#include "vlm/error.h"
#include "vlm/localize.h"

namespace vlm {

std::string localize_score_prompt(const std::string& query) {
  return "Does this clip show: " + query + "? Answer yes or no.";
}

std::string localize_refine_prompt(const std::string& query) {
  return "Give the query: '" + query + "', when does the described content occur in the video?";
}

std::vector<LocalizedSpan> merge_spans(std::vector<LocalizedSpan> spans) {
  std::stable_sort(spans.begin(), spans.end(), [](const LocalizedSpan& a, const LocalizedSpan& b) {
    return a.start < b.start;
  });
  std::vector<LocalizedSpan> merged;
  for (LocalizedSpan& span : spans) {
    if (!merged.empty() && span.start <= merged.back().end) {
      LocalizedSpan& last = merged.back();
      last.end = std::max(last.end, span.end);
      if (span.score > last.score) {
        last.score = span.score;
        last.text = std::move(span.text);
      }
      continue;
    }
    merged.push_back(std::move(span));
  }
  std::stable_sort(merged.begin(), merged.end(), [](const LocalizedSpan& a, const LocalizedSpan& b) {
    return a.score > b.score;
  });
  return merged;
}

double yes_probability(std::span<const float> logits, std::span<const int32_t> yes_ids,
                       std::span<const int32_t> no_ids) {
  VLM_CHECK(!yes_ids.empty() && !no_ids.empty(), InvalidInput,
            "yes_probability needs at least one yes id and one no id");
  float top = -std::numeric_limits<float>::infinity();
  for (std::span<const int32_t> ids : {yes_ids, no_ids}) {
    for (int32_t id : ids) {
      VLM_CHECK(id >= 0 && static_cast<size_t>(id) < logits.size(), InvalidInput,
                "yes/no token id " << id << " is outside the logits (" << logits.size() << ")");
      top = std::max(top, logits[static_cast<size_t>(id)]);
    }
  }
  double yes = 0.0, no = 0.0;
  for (int32_t id : yes_ids) yes += std::exp(static_cast<double>(logits[static_cast<size_t>(id)]) - top);
  for (int32_t id : no_ids) no += std::exp(static_cast<double>(logits[static_cast<size_t>(id)]) - top);
  return yes / (yes + no);
}

std::string localize_result_json(const LocalizeResult& result, const std::string& video) {
  nlohmann::json queries = nlohmann::json::array();
  for (const QueryResult& q : result.queries) {
    nlohmann::json spans = nlohmann::json::array();
    for (const LocalizedSpan& s : q.spans) {
      spans.push_back({{"start", s.start}, {"end", s.end}, {"score", s.score}, {"text", s.text}});
    }
    queries.push_back({{"query", q.query}, {"spans", spans}});
  }
  nlohmann::json windows = nlohmann::json::array();
  for (const WindowScore& w : result.windows) {
    windows.push_back({{"start", w.start}, {"end", w.end}, {"scores", w.scores}});
  }
  nlohmann::json j = {{"video", video},
                      {"duration", result.duration_seconds},
                      {"complete", result.complete},
                      {"queries", queries},
                      {"windows", windows}};
  if (!result.complete) {
    j["decode_error"] = result.decode_error;
    j["decoded_until"] = result.decoded_until_seconds;
  }
  return j.dump(2, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
}

LocalizeResult parse_localize_result_json(const std::string& text) {
  nlohmann::json j = nlohmann::json::parse(text, nullptr, false);
  VLM_CHECK(!j.is_discarded() && j.is_object(), InvalidInput,
            "localize result is not a JSON object");
  LocalizeResult result;
  try {
    result.duration_seconds = j.value("duration", 0.0);
    result.complete = j.value("complete", true);
    for (const auto& q : j.at("queries")) {
      QueryResult qr;
      qr.query = q.at("query").get<std::string>();
      for (const auto& s : q.at("spans")) {
        qr.spans.push_back({s.at("start").get<double>(), s.at("end").get<double>(),
                            s.value("score", 0.0), s.value("text", std::string())});
      }
      result.queries.push_back(std::move(qr));
    }
  } catch (const nlohmann::json::exception& e) {
    VLM_THROW(InvalidInput, "localize result: " << e.what()
                                                << " (expected queries[].spans[].start/end)");
  }
  return result;
}

std::string format_srt_time(double seconds) {
  int64_t ms = static_cast<int64_t>(std::llround(std::max(0.0, seconds) * 1000.0));
  char buffer[32];
  std::snprintf(buffer, sizeof buffer, "%02lld:%02lld:%02lld,%03lld",
                static_cast<long long>(ms / 3600000), static_cast<long long>(ms / 60000 % 60),
                static_cast<long long>(ms / 1000 % 60), static_cast<long long>(ms % 1000));
  return buffer;
}

std::string localize_result_srt(const LocalizeResult& result) {
  struct Cue {
    double start, end;
    std::string text;
  };
  std::vector<Cue> cues;
  for (const QueryResult& q : result.queries) {
    for (const LocalizedSpan& s : q.spans) {
      char score[32];
      std::snprintf(score, sizeof score, "%.2f", s.score);
      cues.push_back({s.start, s.end, q.query + " (" + score + ")"});
    }
  }
  std::stable_sort(cues.begin(), cues.end(), [](const Cue& a, const Cue& b) { return a.start < b.start; });
  std::string out;
  for (size_t i = 0; i < cues.size(); ++i) {
    out += std::to_string(i + 1) + "\n" + format_srt_time(cues[i].start) + " --> " +
           format_srt_time(cues[i].end) + "\n" + cues[i].text + "\n\n";
  }
  return out;
}

}  // namespace vlm
