// The two-pass localisation search (see vlm/localize.h). Pass 1 streams frames at coarse_fps,
// keeps only the frames of windows still open, and scores each window for every query. Candidates
// are runs of consecutive windows at or above the threshold (the best window when none is). Pass 2
// streams again at refine_fps, collects the frames around each candidate (its two edges separately
// when it is long), asks the model for start/end times, parses them with the shared event parser
// and maps them to file time. Exceptions from the model stop the run; exceptions from the source
// are decoding failures: what was found before them is kept and the result says where it stopped.
#include <algorithm>
#include <cmath>
#include <deque>
#include <exception>

#include "localize/localize_checkpoint.h"
#include "vlm/error.h"
#include "vlm/event_parse.h"
#include "vlm/localize.h"

namespace vlm {
namespace {

using localize_detail::CheckpointFile;
using localize_detail::CheckpointState;
using localize_detail::RefineAnswer;

// One refine request: frames in [from, to), and which edges of the candidate it decides.
struct RefineClip {
  int query = 0;
  int candidate = 0;  // index into the query's candidate list
  double from = 0.0, to = 0.0;
  bool gives_start = true, gives_end = true;
  std::vector<TimedFrame> frames;
  bool done = false;
};

struct Candidate {
  double start = 0.0, end = 0.0, score = 0.0;
};

// Reads `source`, passing frames to on_frame; a model error thrown inside on_frame is rethrown,
// a source error is returned as text (empty when the read ended normally).
std::string read_source(FrameSource& source, double fps,
                        const std::function<bool(TimedFrame&&)>& on_frame) {
  std::exception_ptr model_error;
  try {
    source.read(fps, [&](TimedFrame&& frame) {
      try {
        return on_frame(std::move(frame));
      } catch (...) {
        model_error = std::current_exception();
        return false;
      }
    });
  } catch (const std::exception& e) {
    if (model_error) std::rethrow_exception(model_error);
    return e.what()[0] != '\0' ? e.what() : "decoding failed";
  }
  if (model_error) std::rethrow_exception(model_error);
  return {};
}

std::vector<Candidate> select_candidates(const std::vector<WindowScore>& windows, size_t query,
                                         const LocalizeOptions& options) {
  std::vector<Candidate> candidates;
  for (size_t i = 0; i < windows.size();) {
    if (windows[i].scores[query] < options.candidate_threshold) {
      ++i;
      continue;
    }
    Candidate c{windows[i].start, windows[i].end, windows[i].scores[query]};
    size_t j = i + 1;
    for (; j < windows.size() && windows[j].scores[query] >= options.candidate_threshold; ++j) {
      c.end = std::max(c.end, windows[j].end);
      c.score = std::max(c.score, windows[j].scores[query]);
    }
    candidates.push_back(c);
    i = j;
  }
  if (candidates.empty() && !windows.empty()) {
    size_t best = 0;
    for (size_t i = 1; i < windows.size(); ++i) {
      if (windows[i].scores[query] > windows[best].scores[query]) best = i;
    }
    candidates.push_back({windows[best].start, windows[best].end, windows[best].scores[query]});
  }
  std::stable_sort(candidates.begin(), candidates.end(),
                   [](const Candidate& a, const Candidate& b) { return a.score > b.score; });
  if (candidates.size() > static_cast<size_t>(options.max_candidates)) {
    candidates.resize(static_cast<size_t>(options.max_candidates));
  }
  return candidates;
}

std::vector<RefineClip> plan_refine(const std::vector<std::vector<Candidate>>& candidates,
                                    const LocalizeOptions& options, double origin, double duration) {
  double margin = options.refine_margin_seconds >= 0 ? options.refine_margin_seconds
                                                     : options.stride_seconds;
  std::vector<RefineClip> clips;
  for (size_t q = 0; q < candidates.size(); ++q) {
    for (size_t c = 0; c < candidates[q].size(); ++c) {
      double from = std::max(origin, candidates[q][c].start - margin);
      double to = std::min(duration, candidates[q][c].end + margin);
      RefineClip clip;
      clip.query = static_cast<int>(q);
      clip.candidate = static_cast<int>(c);
      if (to - from <= options.max_refine_seconds) {
        clip.from = from;
        clip.to = to;
        clips.push_back(clip);
        continue;
      }
      double half = options.max_refine_seconds / 2;
      RefineClip head = clip, tail = clip;
      head.from = from;
      head.to = from + half;
      head.gives_end = false;
      tail.from = to - half;
      tail.to = to;
      tail.gives_start = false;
      clips.push_back(head);
      clips.push_back(tail);
    }
  }
  return clips;
}

void report(const LocalizeRun& run, const char* phase, double position, double total, int64_t done,
            int64_t steps_total) {
  if (!run.on_progress) return;
  LocalizeProgress p;
  p.phase = phase;
  p.position_seconds = position;
  p.total_seconds = total;
  p.steps_done = done;
  p.steps_total = steps_total;
  run.on_progress(p);
}

// Pass 1. Fills state.windows (continuing from a resumed prefix), duration and decode status.
void coarse_pass(FrameSource& source, LocalizeModel& model, const std::vector<std::string>& queries,
                 const LocalizeOptions& options, const LocalizeRun& run, const CheckpointFile& file,
                 CheckpointState& state) {
  const std::vector<WindowScore> resumed = std::move(state.windows);
  state.windows.clear();
  std::deque<TimedFrame> open;  // frames of windows not finished yet
  double origin = 0.0, last_time = 0.0;
  bool any = false;
  size_t next = 0;  // index of the next window to finish
  auto window_start = [&](size_t k) { return origin + static_cast<double>(k) * options.stride_seconds; };

  auto finish = [&](size_t k) {
    WindowScore w;
    w.start = window_start(k);
    w.end = w.start + options.window_seconds;
    if (k < resumed.size()) {
      VLM_CHECK(std::abs(resumed[k].start - w.start) < 1e-9, InvalidInput,
                "resume checkpoint window " << k << " starts at " << resumed[k].start
                                            << " s but this input gives " << w.start << " s");
      w.scores = resumed[k].scores;
    } else {
      std::vector<TimedFrame> clip;
      for (const TimedFrame& f : open) {
        if (f.seconds >= w.start && f.seconds < w.end) clip.push_back(f);
      }
      for (const std::string& query : queries) {
        if (clip.empty()) {  // a gap in the stream: nothing to show, no question asked
          w.scores.push_back(0.0);
          continue;
        }
        double s = model.score(clip, query);
        VLM_CHECK(std::isfinite(s) && s >= 0.0 && s <= 1.0, Internal,
                  "localisation model scored a window " << s << ", outside [0, 1]");
        w.scores.push_back(s);
      }
    }
    state.windows.push_back(std::move(w));
    if (k >= resumed.size()) file.save(state);
    report(run, "coarse", last_time, run.total_seconds_hint, static_cast<int64_t>(k + 1), -1);
  };

  std::string error = read_source(source, options.coarse_fps, [&](TimedFrame&& frame) {
    if (!any) {
      origin = frame.seconds;
      any = true;
    }
    last_time = frame.seconds;
    while (window_start(next) + options.window_seconds <= frame.seconds) finish(next++);
    open.push_back(std::move(frame));
    while (!open.empty() && open.front().seconds < window_start(next)) open.pop_front();
    return true;
  });
  // The tail: windows that start before the last frame and reach frames no earlier window had.
  while (any && window_start(next) <= last_time &&
         (next == 0 || last_time >= window_start(next - 1) + options.window_seconds)) {
    finish(next++);
  }
  state.duration_seconds = any ? last_time + 1.0 / options.coarse_fps : 0.0;
  state.decoded_until_seconds = last_time;
  state.complete = error.empty();
  state.decode_error = error;
  state.coarse_done = true;
  file.save(state);
}

// Pass 2: answers for every clip (from the checkpoint or the model), in clip order.
void refine_pass(FrameSource& source, LocalizeModel& model, const std::vector<std::string>& queries,
                 std::vector<RefineClip>& clips, const LocalizeOptions& options,
                 const LocalizeRun& run, const CheckpointFile& file, CheckpointState& state) {
  int64_t done = 0;
  auto run_clip = [&](size_t i) {
    RefineClip& clip = clips[i];
    clip.done = true;
    if (!state.answers.count(static_cast<int>(i)) && !clip.frames.empty()) {
      state.answers[static_cast<int>(i)] = {model.locate(clip.frames, queries[clip.query]),
                                            clip.frames.front().seconds,
                                            clip.frames.back().seconds + 1.0 / options.refine_fps};
      file.save(state);
    }
    std::vector<TimedFrame>().swap(clip.frames);
    ++done;
    report(run, "refine", clip.to, state.duration_seconds, done, static_cast<int64_t>(clips.size()));
  };
  auto all_known = [&] {
    for (size_t i = 0; i < clips.size(); ++i) {
      if (!state.answers.count(static_cast<int>(i))) return false;
    }
    return true;
  };
  if (clips.empty()) return;
  if (!all_known()) {
    std::string error = read_source(source, options.refine_fps, [&](TimedFrame&& frame) {
      bool pending = false;
      for (size_t i = 0; i < clips.size(); ++i) {
        RefineClip& clip = clips[i];
        if (clip.done) continue;
        if (frame.seconds >= clip.to) {
          run_clip(i);
          continue;
        }
        if (frame.seconds >= clip.from) clip.frames.push_back(frame);
        pending = true;
      }
      return pending;
    });
    if (!error.empty() && state.complete) {
      state.complete = false;
      state.decode_error = error;
    }
  }
  for (size_t i = 0; i < clips.size(); ++i) {
    if (!clips[i].done) run_clip(i);
  }
}

// Spans of one candidate from its clips' answers; the coarse bounds when no answer parses.
std::vector<LocalizedSpan> spans_of_candidate(const Candidate& candidate,
                                              const std::vector<const RefineClip*>& clips,
                                              const std::vector<const RefineAnswer*>& answers,
                                              const std::string& query) {
  std::vector<LocalizedSpan> spans;
  std::string raw;
  double start = candidate.start, end = candidate.end;
  bool have_start = false, have_end = false;
  std::string text;
  for (size_t n = 0; n < clips.size(); ++n) {
    const RefineClip& clip = *clips[n];
    if (answers[n] == nullptr) continue;  // the clip had no frames (decoding stopped before it)
    if (raw.empty()) raw = answers[n]->text;
    std::vector<ParsedEvent> events = parse_events(answers[n]->text);
    double base = answers[n]->first_seconds, limit = answers[n]->limit_seconds;
    std::vector<LocalizedSpan> found;
    for (const ParsedEvent& e : events) {
      double s = std::clamp(base + e.start_seconds, base, limit);
      double t = std::clamp(base + e.end_seconds, base, limit);
      if (t <= s) continue;
      found.push_back({s, t, candidate.score, e.text.empty() ? query : e.text});
    }
    if (found.empty()) continue;
    if (clip.gives_start && clip.gives_end) {
      spans.insert(spans.end(), found.begin(), found.end());
      continue;
    }
    if (clip.gives_start) {
      start = found.front().start;
      have_start = true;
      text = found.front().text;
    } else {
      end = found.back().end;
      have_end = true;
      if (text.empty()) text = found.back().text;
    }
  }
  if (clips.size() > 1 && (have_start || have_end)) {
    spans.push_back({start, std::max(end, start), candidate.score, text});
  }
  if (spans.empty()) {
    spans.push_back({candidate.start, candidate.end, candidate.score, raw.empty() ? query : raw});
  }
  return spans;
}

}  // namespace

void validate_localize_options(const LocalizeOptions& o) {
  VLM_CHECK(o.coarse_fps > 0 && std::isfinite(o.coarse_fps), InvalidInput,
            "coarse fps must be positive, got " << o.coarse_fps);
  VLM_CHECK(o.refine_fps > 0 && std::isfinite(o.refine_fps), InvalidInput,
            "refine fps must be positive, got " << o.refine_fps);
  VLM_CHECK(o.window_seconds > 0 && std::isfinite(o.window_seconds), InvalidInput,
            "window must be positive seconds, got " << o.window_seconds);
  VLM_CHECK(o.window_seconds * o.coarse_fps >= 2.0, InvalidInput,
            "window of " << o.window_seconds << " s holds fewer than two samples at "
                         << o.coarse_fps << " fps; use a window of at least "
                         << 2.0 / o.coarse_fps << " s");
  VLM_CHECK(o.stride_seconds > 0 && o.stride_seconds <= o.window_seconds, InvalidInput,
            "stride must be positive and at most the window (" << o.window_seconds
                                                               << " s), got " << o.stride_seconds);
  VLM_CHECK(o.max_refine_seconds >= 2.0 / o.refine_fps, InvalidInput,
            "max refine length " << o.max_refine_seconds << " s holds fewer than two samples");
  VLM_CHECK(o.max_candidates >= 1, InvalidInput,
            "max candidates must be at least 1, got " << o.max_candidates);
}

LocalizeResult localize(FrameSource& source, LocalizeModel& model,
                        const std::vector<std::string>& queries, const LocalizeOptions& options,
                        const LocalizeRun& run) {
  VLM_CHECK(!queries.empty(), InvalidInput, "localize needs at least one query");
  for (const std::string& q : queries) {
    VLM_CHECK(!q.empty(), InvalidInput, "localize queries must not be empty");
  }
  validate_localize_options(options);
  CheckpointFile file(run.checkpoint, run.input_id, queries, options);
  CheckpointState state;
  if (run.resume) {
    if (std::optional<CheckpointState> saved = file.load()) state = std::move(*saved);
  }
  if (!state.coarse_done) coarse_pass(source, model, queries, options, run, file, state);

  double origin = state.windows.empty() ? 0.0 : state.windows.front().start;
  std::vector<std::vector<Candidate>> candidates;
  for (size_t q = 0; q < queries.size(); ++q) {
    candidates.push_back(select_candidates(state.windows, q, options));
  }
  std::vector<RefineClip> clips = plan_refine(candidates, options, origin, state.duration_seconds);
  refine_pass(source, model, queries, clips, options, run, file, state);

  LocalizeResult result;
  result.windows = state.windows;
  result.duration_seconds = state.duration_seconds;
  result.complete = state.complete;
  result.decode_error = state.decode_error;
  result.decoded_until_seconds = state.decoded_until_seconds;
  for (size_t q = 0; q < queries.size(); ++q) {
    QueryResult qr;
    qr.query = queries[q];
    std::vector<LocalizedSpan> spans;
    for (size_t c = 0; c < candidates[q].size(); ++c) {
      std::vector<const RefineClip*> own;
      std::vector<const RefineAnswer*> answers;
      for (size_t i = 0; i < clips.size(); ++i) {
        if (clips[i].query != static_cast<int>(q) || clips[i].candidate != static_cast<int>(c)) continue;
        own.push_back(&clips[i]);
        auto it = state.answers.find(static_cast<int>(i));
        answers.push_back(it == state.answers.end() ? nullptr : &it->second);
      }
      std::vector<LocalizedSpan> found =
          spans_of_candidate(candidates[q][c], own, answers, queries[q]);
      spans.insert(spans.end(), found.begin(), found.end());
    }
    qr.spans = merge_spans(std::move(spans));
    result.queries.push_back(std::move(qr));
  }
  return result;
}

}  // namespace vlm
