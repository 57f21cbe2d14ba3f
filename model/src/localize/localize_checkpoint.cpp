// Resume checkpoint for the localisation search (see localize_checkpoint.h). Doubles go through
// nlohmann::json, which prints the shortest text that reads back to the same double, so a resumed
// run continues from bit-identical scores.
#include "localize/localize_checkpoint.h"

#include <fstream>
#include <sstream>

#include <nlohmann/json.hpp>

#include "vlm/error.h"

namespace vlm::localize_detail {
namespace {

constexpr const char* kFormat = "vlm-localize-checkpoint/1";

std::string options_key(const LocalizeOptions& o) {
  nlohmann::json j = {{"window", o.window_seconds},      {"stride", o.stride_seconds},
                      {"coarse_fps", o.coarse_fps},      {"refine_fps", o.refine_fps},
                      {"margin", o.refine_margin_seconds}, {"max_refine", o.max_refine_seconds},
                      {"max_candidates", o.max_candidates}, {"threshold", o.candidate_threshold}};
  return j.dump();
}

}  // namespace

CheckpointFile::CheckpointFile(std::filesystem::path path, std::string input_id,
                               std::vector<std::string> queries, const LocalizeOptions& options)
    : path_(std::move(path)), input_id_(std::move(input_id)), queries_(std::move(queries)),
      options_key_(options_key(options)) {}

std::optional<CheckpointState> CheckpointFile::load() const {
  if (path_.empty()) return std::nullopt;
  std::ifstream in(path_, std::ios::binary);
  if (!in) return std::nullopt;
  std::stringstream buffer;
  buffer << in.rdbuf();
  nlohmann::json j = nlohmann::json::parse(buffer.str(), nullptr, false);
  VLM_CHECK(!j.is_discarded() && j.is_object() && j.value("format", "") == kFormat, InvalidInput,
            "resume checkpoint " << path_.string() << " is not a " << kFormat << " file");
  VLM_CHECK(j.value("input", "") == input_id_, InvalidInput,
            "resume checkpoint " << path_.string() << " was made for another input ("
                                 << j.value("input", "") << "); delete it or run without --resume");
  VLM_CHECK(j.contains("queries") && j["queries"] == nlohmann::json(queries_), InvalidInput,
            "resume checkpoint " << path_.string() << " was made for other queries");
  VLM_CHECK(j.value("options", "") == options_key_, InvalidInput,
            "resume checkpoint " << path_.string() << " was made with other options ("
                                 << j.value("options", "") << ")");
  CheckpointState state;
  try {
    for (const auto& w : j.at("windows")) {
      WindowScore window;
      window.start = w.at("start").get<double>();
      window.end = w.at("end").get<double>();
      window.scores = w.at("scores").get<std::vector<double>>();
      VLM_CHECK(window.scores.size() == queries_.size(), InvalidInput,
                "resume checkpoint " << path_.string() << ": a window has "
                                     << window.scores.size() << " scores for " << queries_.size()
                                     << " queries");
      state.windows.push_back(std::move(window));
    }
    state.coarse_done = j.at("coarse_done").get<bool>();
    state.duration_seconds = j.at("duration").get<double>();
    state.complete = j.at("complete").get<bool>();
    state.decode_error = j.at("decode_error").get<std::string>();
    state.decoded_until_seconds = j.at("decoded_until").get<double>();
    for (const auto& a : j.at("answers")) {
      state.answers[a.at("clip").get<int>()] = {a.at("answer").get<std::string>(),
                                                 a.at("first").get<double>(),
                                                 a.at("limit").get<double>()};
    }
  } catch (const nlohmann::json::exception& e) {
    VLM_THROW(InvalidInput, "resume checkpoint " << path_.string() << " is malformed: " << e.what());
  }
  return state;
}

void CheckpointFile::save(const CheckpointState& state) const {
  if (path_.empty()) return;
  nlohmann::json windows = nlohmann::json::array();
  for (const WindowScore& w : state.windows) {
    windows.push_back({{"start", w.start}, {"end", w.end}, {"scores", w.scores}});
  }
  nlohmann::json answers = nlohmann::json::array();
  for (const auto& [clip, answer] : state.answers) {
    answers.push_back({{"clip", clip},
                       {"answer", answer.text},
                       {"first", answer.first_seconds},
                       {"limit", answer.limit_seconds}});
  }
  nlohmann::json j = {{"format", kFormat},
                      {"input", input_id_},
                      {"queries", queries_},
                      {"options", options_key_},
                      {"windows", windows},
                      {"coarse_done", state.coarse_done},
                      {"duration", state.duration_seconds},
                      {"complete", state.complete},
                      {"decode_error", state.decode_error},
                      {"decoded_until", state.decoded_until_seconds},
                      {"answers", answers}};
  std::filesystem::path temporary = path_;
  temporary += ".tmp";
  {
    std::ofstream out(temporary, std::ios::binary | std::ios::trunc);
    VLM_CHECK(out.good(), Io, "cannot write resume checkpoint " << temporary.string());
    out << j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
    out.flush();
    VLM_CHECK(out.good(), Io, "cannot write resume checkpoint " << temporary.string());
  }
  std::error_code ec;
  std::filesystem::rename(temporary, path_, ec);
  VLM_CHECK(!ec, Io, "cannot replace resume checkpoint " << path_.string() << ": " << ec.message());
}

}  // namespace vlm::localize_detail
