// Event localisation in long video (`vlm localize`): a two-pass search written against two small
// interfaces — a FrameSource (frames sampled at a rate, in time order, streamed) and a
// LocalizeModel (a yes/no probability for a clip, and a start/end answer for a clip) — so the
// algorithm runs the same with the real engine (EngineLocalizeModel) and with a scripted stand-in
// in tests. Pass 1 scores overlapping windows at a low rate and keeps only the frames of the
// windows still open; pass 2 re-reads the file at a higher rate and asks for start/end times
// (spec §9.1) only around the best windows. A JSON checkpoint of finished work lets a killed run
// resume and reach the identical result. Ground-truth evaluation (R@1 at IoU m, mean IoU) is here
// too, so results and scores share one file format.
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "vlm/image.h"

namespace vlm {

class CancelToken;
class Engine;
class Tokenizer;

// One sampled frame, in the format it was decoded or captured in (vlm/image.h: RawFrame);
// `pixels` may be null for algorithm tests that only need times.
struct TimedFrame {
  double seconds = 0.0;  // file time
  std::shared_ptr<const RawFrame> pixels;
};

class FrameSource {
 public:
  virtual ~FrameSource() = default;
  // Delivers frames sampled at `fps`, in time order, until the end or until on_frame returns
  // false. Throws (vlm::Error) when decoding fails; frames delivered before stay delivered.
  virtual void read(double fps, const std::function<bool(TimedFrame&&)>& on_frame) = 0;
};

class LocalizeModel {
 public:
  virtual ~LocalizeModel() = default;
  // Probability in [0, 1] that the clip shows the query.
  virtual double score(std::span<const TimedFrame> clip, const std::string& query) = 0;
  // The model's answer (free text) to "when does <query> occur", times relative to clip[0].
  virtual std::string locate(std::span<const TimedFrame> clip, const std::string& query) = 0;
};

struct LocalizeOptions {
  double window_seconds = 16.0;
  double stride_seconds = 8.0;
  double coarse_fps = 1.0;
  double refine_fps = 2.0;
  double refine_margin_seconds = -1.0;  // frames kept around a candidate; < 0 = stride
  double max_refine_seconds = 64.0;     // longer candidates refine their two edges separately
  int max_candidates = 3;               // per query
  double candidate_threshold = 0.5;     // windows at or above join candidates (the best always does)
};

// Throws InvalidInput naming the option: non-positive rates or lengths, a window shorter than two
// samples at coarse_fps, a stride longer than the window (gaps), max_candidates < 1.
void validate_localize_options(const LocalizeOptions& options);

struct WindowScore {
  double start = 0.0, end = 0.0;  // the window's own bounds (file time)
  std::vector<double> scores;     // one per query
};

struct LocalizedSpan {
  double start = 0.0, end = 0.0;  // file time, seconds
  double score = 0.0;
  std::string text;
};

struct QueryResult {
  std::string query;
  std::vector<LocalizedSpan> spans;  // by score, best first; no two overlap
};

struct LocalizeResult {
  std::vector<QueryResult> queries;
  std::vector<WindowScore> windows;  // the coarse pass, in time order
  double duration_seconds = 0.0;     // up to the last frame read + one coarse interval
  bool complete = true;              // false when decoding failed part-way
  std::string decode_error;
  double decoded_until_seconds = 0.0;  // time of the last good frame
};

struct LocalizeProgress {
  const char* phase = "coarse";  // "coarse" | "refine"
  double position_seconds = 0.0;
  double total_seconds = -1.0;  // -1 when unknown
  int64_t steps_done = 0;       // windows (coarse) or candidates (refine) finished
  int64_t steps_total = -1;     // -1 when unknown
};

struct LocalizeRun {
  std::filesystem::path checkpoint;  // empty = none; written after each finished step
  bool resume = false;               // continue from `checkpoint` when it exists
  std::string input_id;              // identifies the input; a checkpoint for another is refused
  double total_seconds_hint = -1.0;  // duration for progress, when known up front
  std::function<void(const LocalizeProgress&)> on_progress;
};

LocalizeResult localize(FrameSource& source, LocalizeModel& model,
                        const std::vector<std::string>& queries, const LocalizeOptions& options,
                        const LocalizeRun& run = {});

// ---- pieces (public for tests and other front ends) ----
std::string localize_score_prompt(const std::string& query);   // yes/no question
std::string localize_refine_prompt(const std::string& query);  // spec §9.1 grounding prompt
// Spans of one query: overlapping (or touching) spans merged (bounds united, best score and its
// text kept), then sorted by score descending, ties by start.
std::vector<LocalizedSpan> merge_spans(std::vector<LocalizedSpan> spans);
// softmax over the yes/no candidate ids only: sum P(yes ids) / sum P(yes and no ids).
double yes_probability(std::span<const float> step_logits, std::span<const int32_t> yes_ids,
                       std::span<const int32_t> no_ids);

// ---- output files ----
std::string localize_result_json(const LocalizeResult& result, const std::string& video);
LocalizeResult parse_localize_result_json(const std::string& text);  // throws InvalidInput
std::string localize_result_srt(const LocalizeResult& result);
std::string format_srt_time(double seconds);  // "HH:MM:SS,mmm"

// ---- the real model ----
// Asks the engine "Does this clip show: <query>?" and reads P(yes) from the first step's logits;
// refine answers are generated greedily. Frames are preprocessed as a video at their real times,
// with qwen-vl-utils' total-pixel rule set to max_vision_tokens so that long refine clips fit the
// context (the per-frame size shrinks as the clip grows); max_pixels > 0 caps each frame too.
class EngineLocalizeModel : public LocalizeModel {
 public:
  EngineLocalizeModel(Engine& engine, const Tokenizer& tokenizer, int64_t max_pixels,
                      int max_new_tokens = 64, int64_t max_vision_tokens = 6144);
  double score(std::span<const TimedFrame> clip, const std::string& query) override;
  std::string locate(std::span<const TimedFrame> clip, const std::string& query) override;
  // Optional: generation stops when it fires, and score()/locate() throw Error(Cancelled).
  void set_cancel(const CancelToken* cancel) { cancel_ = cancel; }
  // The coarse pass's per-frame cap (0 = max_pixels, as locate()): the yes/no question needs less
  // detail than the start/end one, so it may look at smaller frames.
  void set_score_max_pixels(int64_t pixels) { score_max_pixels_ = pixels; }

 private:
  Engine& engine_;
  const CancelToken* cancel_ = nullptr;
  std::vector<int32_t> yes_ids_, no_ids_;
  int64_t max_pixels_;
  int64_t score_max_pixels_ = 0;
  int max_new_tokens_;
  int64_t max_vision_tokens_;
};

// ---- evaluation against ground truth (Charades-STA style) ----
struct TruthSpan {
  std::string video;  // empty = any
  std::string query;
  double start = 0.0, end = 0.0;
};

// Accepts {"<video>": {"timestamps": [[s, e], …], "sentences": [...]}, …} (the JSON Charades-STA /
// ActivityNet-Captions releases), a list of {"video"?, "query", "start", "end"}, or the original
// Charades-STA text release: one "VIDEO START END##SENTENCE" per line.
std::vector<TruthSpan> parse_truth_json(const std::string& text);
double interval_iou(double a_start, double a_end, double b_start, double b_end);

struct LocalizeScores {
  int64_t count = 0;    // truth items
  int64_t missing = 0;  // truth items with no span for their query (IoU 0)
  double recall_at_03 = 0, recall_at_05 = 0, recall_at_07 = 0;  // R@1, fractions
  double mean_iou = 0;
};

// Each truth item is matched to the top span of the result query with the same text (case and
// trailing punctuation ignored) and, when both name one, the same video (file stem).
LocalizeScores evaluate_localization(const std::vector<LocalizeResult>& results,
                                     const std::vector<std::string>& result_videos,
                                     const std::vector<TruthSpan>& truth);

}  // namespace vlm
