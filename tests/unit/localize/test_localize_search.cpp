// Tests of the two-pass localisation search (vlm::localize) with a scripted model that knows the
// true event times, on a synthetic 20-minute 29.97 fps timeline sampled by the real FrameSampler.
// Expectations come from the script's truth: every true event must be found with edges within one
// refine sample interval (1/fps) plus 0.01 s (the answers print times to 0.01 s in mm:ss.ff form).
// Resume tests interrupt a run by making the model throw after N calls, then compare the resumed
// result with an uninterrupted run field by field (exact equality: the search is deterministic).
#include <gtest/gtest.h>

#include <filesystem>
#include <unistd.h>

#include "scripted_model.h"
#include "vlm/error.h"
#include "vlm/localize.h"

namespace {

using localize_test::Event;
using localize_test::ScriptedModel;
using localize_test::TimelineSource;

constexpr double kTwentyMinutes = 1200.0;

std::map<std::string, std::vector<Event>> truth() {
  return {{"a person falls", {{125.3, 131.8}, {905.0, 913.4}}},
          {"a red car stops", {{402.7, 470.2}}},  // long: refined by its two edges
          {"a dog barks", {{1000.2, 1003.9}}}};
}

std::vector<std::string> queries() { return {"a person falls", "a red car stops", "a dog barks"}; }

vlm::LocalizeOptions options_at(double fps) {
  vlm::LocalizeOptions o;
  o.window_seconds = 16;
  o.stride_seconds = 8;
  o.coarse_fps = fps / 2;
  o.refine_fps = fps;
  return o;
}

std::filesystem::path temp_path(const std::string& name) {
  return std::filesystem::temp_directory_path() /
         ("vlm_localize_" + std::to_string(::getpid()) + "_" + name);
}

void expect_same(const vlm::LocalizeResult& a, const vlm::LocalizeResult& b) {
  ASSERT_EQ(a.queries.size(), b.queries.size());
  for (size_t q = 0; q < a.queries.size(); ++q) {
    ASSERT_EQ(a.queries[q].spans.size(), b.queries[q].spans.size()) << a.queries[q].query;
    for (size_t s = 0; s < a.queries[q].spans.size(); ++s) {
      EXPECT_EQ(a.queries[q].spans[s].start, b.queries[q].spans[s].start);
      EXPECT_EQ(a.queries[q].spans[s].end, b.queries[q].spans[s].end);
      EXPECT_EQ(a.queries[q].spans[s].score, b.queries[q].spans[s].score);
      EXPECT_EQ(a.queries[q].spans[s].text, b.queries[q].spans[s].text);
    }
  }
  ASSERT_EQ(a.windows.size(), b.windows.size());
  for (size_t w = 0; w < a.windows.size(); ++w) {
    EXPECT_EQ(a.windows[w].start, b.windows[w].start);
    EXPECT_EQ(a.windows[w].scores, b.windows[w].scores);
  }
  EXPECT_EQ(a.duration_seconds, b.duration_seconds);
  EXPECT_EQ(a.complete, b.complete);
}

class LocalizeAtFps : public ::testing::TestWithParam<double> {};

TEST_P(LocalizeAtFps, FindsEveryEventWithinOneSampleInterval) {
  const double fps = GetParam();
  for (bool json_answers : {false, true}) {
    TimelineSource source(kTwentyMinutes);
    ScriptedModel model(truth());
    model.json_answers = json_answers;
    vlm::LocalizeResult result = vlm::localize(source, model, queries(), options_at(fps));
    EXPECT_TRUE(result.complete);
    EXPECT_EQ(source.reads, 2);  // one coarse and one refine pass over the file
    const double tolerance = 1.0 / fps + 0.01;
    auto events = truth();
    ASSERT_EQ(result.queries.size(), 3u);
    for (const vlm::QueryResult& q : result.queries) {
      const std::vector<Event>& expected = events.at(q.query);
      ASSERT_GE(q.spans.size(), expected.size()) << q.query;
      for (const Event& e : expected) {
        bool found = false;
        for (size_t s = 0; s < expected.size(); ++s) {  // the best-ranked spans are the events
          found |= std::abs(q.spans[s].start - e.start) <= tolerance &&
                   std::abs(q.spans[s].end - e.end) <= tolerance;
        }
        EXPECT_TRUE(found) << q.query << " [" << e.start << ", " << e.end << "] at " << fps
                           << " fps, json=" << json_answers << "; top span [" << q.spans[0].start
                           << ", " << q.spans[0].end << "]";
      }
      for (size_t s = 1; s < q.spans.size(); ++s) EXPECT_GE(q.spans[s - 1].score, q.spans[s].score);
    }
  }
}

INSTANTIATE_TEST_SUITE_P(Rates, LocalizeAtFps, ::testing::Values(1.0, 2.0, 4.0));

TEST(Localize, CoarsePassCoversTheWholeTimeline) {
  TimelineSource source(kTwentyMinutes);
  ScriptedModel model(truth());
  vlm::LocalizeResult result = vlm::localize(source, model, queries(), options_at(2));
  ASSERT_FALSE(result.windows.empty());
  EXPECT_EQ(result.windows.front().start, 0.0);
  // Windows every 8 s; the last one reaches the last frame (1199.x s).
  for (size_t w = 1; w < result.windows.size(); ++w) {
    EXPECT_NEAR(result.windows[w].start - result.windows[w - 1].start, 8.0, 1e-9);
  }
  EXPECT_GE(result.windows.back().end, 1199.0);
  EXPECT_LT(result.windows.back().start, 1199.0);
  EXPECT_NEAR(result.duration_seconds, 1200.0, 1.0);
}

TEST(Localize, IsDeterministic) {
  TimelineSource s1(kTwentyMinutes), s2(kTwentyMinutes);
  ScriptedModel m1(truth()), m2(truth());
  expect_same(vlm::localize(s1, m1, queries(), options_at(2)),
              vlm::localize(s2, m2, queries(), options_at(2)));
}

TEST(Localize, ResumeAfterInterruptionGivesTheIdenticalResult) {
  TimelineSource reference_source(kTwentyMinutes);
  ScriptedModel reference_model(truth());
  vlm::LocalizeResult reference =
      vlm::localize(reference_source, reference_model, queries(), options_at(2));
  const int total_calls = reference_model.score_calls + reference_model.locate_calls;
  const int coarse_calls = reference_model.score_calls;
  // Killed early in the coarse pass, at its end, and in the middle of the refine pass. A window is
  // saved once all three queries are scored, so the early kill falls between windows (39 = 13 * 3).
  for (int kill_after : {39, coarse_calls, coarse_calls + 2}) {
    std::filesystem::path checkpoint = temp_path("resume_" + std::to_string(kill_after) + ".json");
    std::filesystem::remove(checkpoint);
    vlm::LocalizeRun run;
    run.checkpoint = checkpoint;
    run.resume = true;
    run.input_id = "timeline-20min";
    {
      TimelineSource source(kTwentyMinutes);
      ScriptedModel model(truth(), kill_after);
      EXPECT_THROW(vlm::localize(source, model, queries(), options_at(2), run), std::runtime_error);
    }
    ASSERT_TRUE(std::filesystem::exists(checkpoint));
    TimelineSource source(kTwentyMinutes);
    ScriptedModel model(truth());
    vlm::LocalizeResult resumed = vlm::localize(source, model, queries(), options_at(2), run);
    expect_same(reference, resumed);
    EXPECT_EQ(model.score_calls + model.locate_calls, total_calls - kill_after)
        << "the resumed run must redo only the unfinished steps";
    std::filesystem::remove(checkpoint);
  }
}

TEST(Localize, ResumeRefusesACheckpointOfAnotherJob) {
  std::filesystem::path checkpoint = temp_path("other.json");
  vlm::LocalizeRun run;
  run.checkpoint = checkpoint;
  run.resume = true;
  run.input_id = "first-input";
  {
    TimelineSource source(120);
    ScriptedModel model(truth());
    vlm::localize(source, model, queries(), options_at(2), run);
  }
  TimelineSource source(120);
  ScriptedModel model(truth());
  run.input_id = "second-input";
  EXPECT_THROW(vlm::localize(source, model, queries(), options_at(2), run), vlm::Error);
  run.input_id = "first-input";
  EXPECT_THROW(vlm::localize(source, model, {"a dog barks"}, options_at(2), run), vlm::Error);
  EXPECT_THROW(vlm::localize(source, model, queries(), options_at(4), run), vlm::Error);
  std::filesystem::remove(checkpoint);
}

TEST(Localize, DamagedInputKeepsSpansFoundBeforeTheDamage) {
  TimelineSource source(kTwentyMinutes, /*damaged_at_seconds=*/600.0);
  ScriptedModel model(truth());
  vlm::LocalizeResult result = vlm::localize(source, model, queries(), options_at(2));
  EXPECT_FALSE(result.complete);
  EXPECT_NE(result.decode_error.find("broken packet"), std::string::npos) << result.decode_error;
  EXPECT_LT(result.decoded_until_seconds, 600.0);
  EXPECT_GT(result.decoded_until_seconds, 599.0);
  const vlm::QueryResult& falls = result.queries[0];
  ASSERT_FALSE(falls.spans.empty());
  EXPECT_NEAR(falls.spans[0].start, 125.3, 0.51);
  EXPECT_NEAR(falls.spans[0].end, 131.8, 0.51);
  for (const vlm::QueryResult& q : result.queries) {
    for (const vlm::LocalizedSpan& s : q.spans) EXPECT_LE(s.end, 601.0) << q.query;
  }
}

TEST(Localize, GapInTheStreamGivesEmptyWindowsScoreZeroWithoutAskingTheModel) {
  TimelineSource source(kTwentyMinutes);
  source.set_gap(600.0, 700.0);  // 100 s without frames: windows inside it have no frames
  ScriptedModel model(truth());  // throws on an empty clip
  vlm::LocalizeResult result = vlm::localize(source, model, queries(), options_at(2));
  int empty = 0;
  for (const vlm::WindowScore& w : result.windows) {
    if (w.start >= 600.0 && w.end <= 700.0) {
      ++empty;
      EXPECT_EQ(w.scores, std::vector<double>(3, 0.0));
    }
  }
  EXPECT_EQ(empty, 11);  // starts 600, 608, ..., 680 (ends 696); the next, 688, ends at 704
  ASSERT_FALSE(result.queries[1].spans.empty());
  EXPECT_NEAR(result.queries[1].spans[0].start, 402.7, 0.51);  // events outside the gap still found
}

TEST(Localize, ModelErrorsPropagate) {
  TimelineSource source(120);
  ScriptedModel model(truth(), /*fail_after_calls=*/3);
  EXPECT_THROW(vlm::localize(source, model, queries(), options_at(2)), std::runtime_error);
}

TEST(Localize, RejectsUnusableOptions) {
  TimelineSource source(60);
  ScriptedModel model(truth());
  EXPECT_THROW(vlm::localize(source, model, {}, options_at(2)), vlm::Error);
  vlm::LocalizeOptions short_window = options_at(2);
  short_window.window_seconds = 1.5;  // 1.5 samples at 1 fps
  short_window.stride_seconds = 1;
  EXPECT_THROW(vlm::validate_localize_options(short_window), vlm::Error);
  short_window.window_seconds = 2.0;  // exactly two samples: allowed
  EXPECT_NO_THROW(vlm::validate_localize_options(short_window));
  vlm::LocalizeOptions gaps = options_at(2);
  gaps.stride_seconds = 20;  // longer than the 16 s window
  EXPECT_THROW(vlm::validate_localize_options(gaps), vlm::Error);
  vlm::LocalizeOptions zero = options_at(2);
  zero.refine_fps = 0;
  EXPECT_THROW(vlm::validate_localize_options(zero), vlm::Error);
}

TEST(Localize, ReportsProgressForBothPasses) {
  TimelineSource source(300);
  ScriptedModel model(truth());
  vlm::LocalizeRun run;
  int coarse = 0, refine = 0;
  int64_t last_refine_done = 0, refine_total = 0;
  run.on_progress = [&](const vlm::LocalizeProgress& p) {
    if (std::string(p.phase) == "coarse") ++coarse;
    if (std::string(p.phase) == "refine") {
      ++refine;
      last_refine_done = p.steps_done;
      refine_total = p.steps_total;
    }
  };
  vlm::LocalizeResult result = vlm::localize(source, model, queries(), options_at(2), run);
  EXPECT_EQ(coarse, static_cast<int>(result.windows.size()));
  EXPECT_GT(refine, 0);
  EXPECT_EQ(last_refine_done, refine_total);
}

}  // namespace
