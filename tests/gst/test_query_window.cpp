// task=query's per-window two passes (query_window.h) with a fake model that records what each
// question was given, the records a query answer becomes (score on every record, the whole-window
// fallback event), and the window's time mapping at other playback rates: reverse windows report
// earliest-first bounds and give the model frames in media order. Expected values are worked out
// by hand in the comments.
#include <gtest/gtest.h>

#include "query_window.h"
#include "vlm/error.h"
#include "window_results.h"

using namespace vlm::gst;

namespace {

constexpr int64_t kSec = 1'000'000'000;

FramePtr frame(int64_t running_ns, int64_t stream_ns) {
  auto f = std::make_shared<WindowFrame>();
  vlm::ImageRgb8 image;
  image.width = 2;
  image.height = 2;
  image.pixels.assign(12, static_cast<uint8_t>(running_ns / (kSec / 2)));
  f->pixels = vlm::RawFrame(std::move(image));
  f->running_ns = running_ns;
  f->stream_ns = stream_ns;
  return f;
}

// Window [start, start + 4 s) of 8 frames every 0.5 s; stream time = running + offset.
WindowJob query_job(int64_t start, double threshold = 0.5) {
  WindowJob job;
  job.task.task = Task::Query;
  job.task.user_prompt = "a dog jumps";
  job.task.query_threshold = threshold;
  job.window.start_rt_ns = start;
  job.window.end_rt_ns = start + 4 * kSec;
  job.window.stride_ns = 2 * kSec;
  for (int i = 0; i < 8; ++i) job.window.frames.push_back(frame(start + i * kSec / 2, start + i * kSec / 2));
  return job;
}

struct FakeModel : vlm::LocalizeModel {
  double given_score = 0.0;
  std::string given_answer;
  std::vector<std::vector<double>> scored, located;  // clip frame times per call
  std::string last_query;
  static std::vector<double> times(std::span<const vlm::TimedFrame> clip) {
    std::vector<double> t;
    for (const auto& f : clip) {
      EXPECT_NE(f.pixels, nullptr);
      t.push_back(f.seconds);
    }
    return t;
  }
  double score(std::span<const vlm::TimedFrame> clip, const std::string& query) override {
    scored.push_back(times(clip));
    last_query = query;
    return given_score;
  }
  std::string locate(std::span<const vlm::TimedFrame> clip, const std::string& query) override {
    located.push_back(times(clip));
    last_query = query;
    return given_answer;
  }
};

TEST(QueryWindow, CoarseQuestionSeesEveryOtherFrameAndLowScoresAreNotRefined) {
  FakeModel coarse, refine;
  coarse.given_score = 0.2;
  const WindowAnswer answer = answer_query_window(coarse, refine, query_job(2 * kSec));
  ASSERT_EQ(coarse.scored.size(), 1u);
  EXPECT_EQ(coarse.scored[0], (std::vector<double>{2.0, 3.0, 4.0, 5.0}));  // frames 0, 2, 4, 6
  EXPECT_EQ(coarse.last_query, "a dog jumps");
  EXPECT_TRUE(refine.located.empty());
  ASSERT_TRUE(answer.score.has_value());
  EXPECT_DOUBLE_EQ(*answer.score, 0.2);
  EXPECT_EQ(answer.text, "");
}

TEST(QueryWindow, ScoresAtTheThresholdAreRefinedOnEveryFrame) {
  FakeModel coarse, refine;
  coarse.given_score = 0.5;
  refine.given_answer = "The event happens in 1.0 - 2.0 seconds.";
  const WindowAnswer answer = answer_query_window(coarse, refine, query_job(0));
  ASSERT_EQ(refine.located.size(), 1u);
  EXPECT_EQ(refine.located[0], (std::vector<double>{0.0, 0.5, 1.0, 1.5, 2.0, 2.5, 3.0, 3.5}));
  EXPECT_EQ(answer.text, refine.given_answer);
  EXPECT_DOUBLE_EQ(*answer.score, 0.5);
}

TEST(QueryWindow, CoarseClipKeepsTwoFramesOfAThreeFrameWindow) {
  std::vector<vlm::TimedFrame> clip(3);
  for (int i = 0; i < 3; ++i) clip[i].seconds = i;
  const auto coarse = coarse_frames(clip);
  ASSERT_EQ(coarse.size(), 2u);  // frames 0 and 2
  EXPECT_EQ(coarse[1].seconds, 2.0);
  clip.resize(2);
  EXPECT_EQ(coarse_frames(clip).size(), 2u);  // 0, then the last one added back
}

TEST(QueryWindow, EmptyQueryIsAnErrorNamingTheProperty) {
  FakeModel m;
  WindowJob job = query_job(0);
  job.task.user_prompt.clear();
  try {
    answer_query_window(m, m, job);
    FAIL() << "expected an error";
  } catch (const vlm::Error& e) {
    EXPECT_NE(std::string(e.what()).find("prompt"), std::string::npos) << e.what();
  }
}

TEST(QueryRecords, RefinedAnswerGivesAScoredEventInStreamTime) {
  EventMerger merger;
  const auto records = window_records(
      query_job(2 * kSec), WindowAnswer{"It happens in 1.0 - 2.5 seconds.", 0.8}, "s", merger);
  ASSERT_EQ(records.size(), 2u);
  EXPECT_DOUBLE_EQ(records[0].score.value_or(-1), 0.8);
  EXPECT_EQ(records[1].kind, "event");
  EXPECT_EQ(records[1].start_ns, 3 * kSec);  // window's first frame 2 s + 1.0 s
  EXPECT_EQ(records[1].end_ns, 4 * kSec + kSec / 2);
  EXPECT_DOUBLE_EQ(records[1].score.value_or(-1), 0.8);
  EXPECT_NE(to_json_line(records[1]).find("\"score\":0.8"), std::string::npos);
}

TEST(QueryRecords, UnrefinedWindowGivesOnlyItsScoredRecordAndNoCaption) {
  EventMerger merger;
  const auto records = window_records(query_job(0), WindowAnswer{"", 0.1}, "s", merger);
  ASSERT_EQ(records.size(), 1u);
  EXPECT_EQ(records[0].kind, "window");
  EXPECT_FALSE(records[0].caption);
  EXPECT_DOUBLE_EQ(records[0].score.value_or(-1), 0.1);
}

TEST(QueryRecords, RefinedAnswerWithoutTimesCoversTheWindow) {
  EventMerger merger;
  const auto records = window_records(query_job(2 * kSec), WindowAnswer{"Yes, a dog jumps.", 0.9}, "s", merger);
  ASSERT_EQ(records.size(), 2u);
  EXPECT_EQ(records[1].start_ns, 2 * kSec);
  EXPECT_EQ(records[1].end_ns, 6 * kSec);
  EXPECT_EQ(records[1].text, "a dog jumps");  // the query names the event
  EXPECT_EQ(records[0].text, "Yes, a dog jumps.");  // the answer is kept on the window
}

TEST(WindowTime, ReverseWindowReportsEarliestFirstAndFramesInMediaOrder) {
  // Reverse playback from stream 10 s: frame i arrives at grid time i·0.5 s, stream 10 - i·0.5 s.
  Window w;
  w.direction = -1;
  w.start_rt_ns = 0;
  w.end_rt_ns = 4 * kSec;
  w.stride_ns = 2 * kSec;
  for (int i = 0; i < 8; ++i) w.frames.push_back(frame(i * kSec / 2, 10 * kSec - i * kSec / 2));
  EXPECT_EQ(w.start_stream_ns(), 6 * kSec);
  EXPECT_EQ(w.end_stream_ns(), 10 * kSec);
  const auto media = w.media_order();
  ASSERT_EQ(media.size(), 8u);
  EXPECT_EQ(media.front()->stream_ns, 6 * kSec + kSec / 2);
  EXPECT_EQ(media.back()->stream_ns, 10 * kSec);
  EXPECT_EQ(patch_start_seconds(w), (std::vector<double>{0.0, 1.0, 2.0, 3.0}));
  const auto clip = window_clip(w);
  EXPECT_EQ(clip.front().seconds, 6.5);
  EXPECT_EQ(clip.front().pixels.get(), &media.front()->pixels);  // shared, not copied
}

TEST(WindowTime, LaterTextStartsAtTheNextGridWindowOrTheLastFrame) {
  WindowJob job = query_job(2 * kSec);
  EXPECT_EQ(job.window.later_text_from_stream_ns(), 4 * kSec);  // next window starts at 4 s
  job.window.stride_ns = 10 * kSec;  // stride longer than the window: a new grid may start
  EXPECT_EQ(job.window.later_text_from_stream_ns(), 5 * kSec + kSec / 2);  // at the last frame
}

}  // namespace
