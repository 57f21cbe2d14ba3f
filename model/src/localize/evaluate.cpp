// Scoring localisation results against ground truth (see vlm/localize.h): the R@1 / IoU figures
// of the temporal-grounding benchmarks (Charades-STA, ActivityNet Captions). Each truth item counts
// once; a query the result does not answer counts as IoU 0 (a miss), never as skipped, so an
// incomplete result cannot score better than a complete one.
#include <algorithm>
#include <cctype>
#include <filesystem>
#include <map>
#include <optional>
#include <sstream>

#include <nlohmann/json.hpp>

#include "vlm/error.h"
#include "vlm/localize.h"

namespace vlm {
namespace {

// Lower case, outer whitespace and trailing sentence punctuation removed.
std::string normalise_query(const std::string& text) {
  std::string s;
  for (char c : text) s += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  auto is_trim = [](char c) { return std::isspace(static_cast<unsigned char>(c)) || c == '.' || c == '?' || c == '!'; };
  while (!s.empty() && is_trim(s.back())) s.pop_back();
  size_t first = 0;
  while (first < s.size() && std::isspace(static_cast<unsigned char>(s[first]))) ++first;
  return s.substr(first);
}

std::string video_key(const std::string& video) {
  return video.empty() ? std::string() : std::filesystem::path(video).stem().string();
}

double number(const nlohmann::json& value, const char* what) {
  if (value.is_number()) return value.get<double>();
  VLM_THROW(InvalidInput, "ground truth: " << what << " is not a number (" << value.dump() << ")");
}

}  // namespace

double interval_iou(double a_start, double a_end, double b_start, double b_end) {
  double inter = std::max(0.0, std::min(a_end, b_end) - std::max(a_start, b_start));
  double uni = (a_end - a_start) + (b_end - b_start) - inter;
  return uni > 0 ? inter / uni : 0.0;
}

namespace {

// "AO8RW 0.0 6.9##a person is putting a book on a shelf." lines; nullopt when the text is not so.
std::optional<std::vector<TruthSpan>> parse_charades_lines(const std::string& text) {
  std::vector<TruthSpan> truth;
  std::istringstream lines(text);
  std::string line;
  int number = 0;
  while (std::getline(lines, line)) {
    ++number;
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line.find_first_not_of(" \t") == std::string::npos) continue;
    size_t hashes = line.find("##");
    if (hashes == std::string::npos) return std::nullopt;
    std::istringstream head(line.substr(0, hashes));
    TruthSpan t;
    std::string extra;
    if (!(head >> t.video >> t.start >> t.end) || (head >> extra)) {
      VLM_THROW(InvalidInput, "ground truth line " << number << " is not 'VIDEO START END##SENTENCE': " << line);
    }
    t.query = line.substr(hashes + 2);
    truth.push_back(std::move(t));
  }
  if (truth.empty()) return std::nullopt;
  return truth;
}

}  // namespace

std::vector<TruthSpan> parse_truth_json(const std::string& text) {
  nlohmann::json j = nlohmann::json::parse(text, nullptr, false);
  if (j.is_discarded()) {
    if (std::optional<std::vector<TruthSpan>> lines = parse_charades_lines(text)) {
      for (const TruthSpan& t : *lines) {
        VLM_CHECK(t.end >= t.start, InvalidInput, "ground truth '" << t.query << "' ends (" << t.end
                                                                   << ") before it starts (" << t.start << ")");
      }
      return *lines;
    }
  }
  VLM_CHECK(!j.is_discarded(), InvalidInput,
            "ground truth is neither JSON nor Charades-STA 'VIDEO START END##SENTENCE' lines");
  std::vector<TruthSpan> truth;
  if (j.is_array()) {
    for (const auto& item : j) {
      VLM_CHECK(item.is_object() && item.contains("query") && item["query"].is_string() &&
                    item.contains("start") && item.contains("end"),
                InvalidInput, "ground truth list items need query, start and end: " << item.dump());
      truth.push_back({item.value("video", std::string()), item["query"].get<std::string>(),
                       number(item["start"], "start"), number(item["end"], "end")});
    }
  } else if (j.is_object()) {
    for (const auto& [video, entry] : j.items()) {
      VLM_CHECK(entry.is_object() && entry.contains("timestamps") && entry.contains("sentences") &&
                    entry["timestamps"].is_array() && entry["sentences"].is_array(),
                InvalidInput, "ground truth video '" << video << "' needs timestamps and sentences lists");
      const auto& stamps = entry["timestamps"];
      const auto& sentences = entry["sentences"];
      VLM_CHECK(stamps.size() == sentences.size(), InvalidInput,
                "ground truth video '" << video << "' has " << stamps.size() << " timestamps for "
                                       << sentences.size() << " sentences");
      for (size_t i = 0; i < stamps.size(); ++i) {
        VLM_CHECK(stamps[i].is_array() && stamps[i].size() == 2 && sentences[i].is_string(),
                  InvalidInput, "ground truth video '" << video << "' item " << i
                                                       << " is not [start, end] with a sentence");
        truth.push_back({video, sentences[i].get<std::string>(), number(stamps[i][0], "start"),
                         number(stamps[i][1], "end")});
      }
    }
  } else {
    VLM_THROW(InvalidInput, "ground truth must be a JSON object or list");
  }
  for (TruthSpan& t : truth) {
    VLM_CHECK(t.end >= t.start, InvalidInput,
              "ground truth '" << t.query << "' ends (" << t.end << ") before it starts (" << t.start << ")");
  }
  return truth;
}

LocalizeScores evaluate_localization(const std::vector<LocalizeResult>& results,
                                     const std::vector<std::string>& result_videos,
                                     const std::vector<TruthSpan>& truth) {
  VLM_CHECK(results.size() == result_videos.size(), InvalidInput,
            "evaluate_localization: " << results.size() << " results for " << result_videos.size()
                                      << " video names");
  LocalizeScores scores;
  double hits03 = 0, hits05 = 0, hits07 = 0, iou_sum = 0;
  for (const TruthSpan& t : truth) {
    const LocalizedSpan* top = nullptr;
    for (size_t r = 0; r < results.size() && top == nullptr; ++r) {
      std::string rv = video_key(result_videos[r]), tv = video_key(t.video);
      if (!rv.empty() && !tv.empty() && rv != tv) continue;
      for (const QueryResult& q : results[r].queries) {
        if (normalise_query(q.query) != normalise_query(t.query) || q.spans.empty()) continue;
        top = &q.spans.front();
        break;
      }
    }
    ++scores.count;
    if (top == nullptr) {
      ++scores.missing;
      continue;
    }
    double iou = interval_iou(top->start, top->end, t.start, t.end);
    iou_sum += iou;
    hits03 += iou >= 0.3;
    hits05 += iou >= 0.5;
    hits07 += iou >= 0.7;
  }
  if (scores.count > 0) {
    double n = static_cast<double>(scores.count);
    scores.recall_at_03 = hits03 / n;
    scores.recall_at_05 = hits05 / n;
    scores.recall_at_07 = hits07 / n;
    scores.mean_iou = iou_sum / n;
  }
  return scores;
}

}  // namespace vlm
