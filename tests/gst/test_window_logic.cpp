// Plugin logic without a pipeline: the window grid (WindowBuilder), patch start times, results
// and event merging (window_records / EventMerger), the worker's file/live/flush policies and the
// runner registry. Expected windows and times are worked out by hand from the rules in
// window_builder.h and vlm::FrameSampler (grid of 1/fps instants from the first frame).
#include <gtest/gtest.h>

#include <atomic>
#include <thread>

#include "scripted_runner.h"
#include "window_builder.h"
#include "window_results.h"
#include "worker.h"

using namespace vlm::gst;
using vlm::gst::test_support::script;

namespace {

constexpr int64_t kSec = 1'000'000'000;

FramePtr frame_at(int64_t running_ns, int64_t stream_offset_ns = 0) {
  auto f = std::make_shared<WindowFrame>();
  vlm::ImageRgb8 image;
  image.width = 2;
  image.height = 2;
  image.pixels.assign(12, 0);
  f->pixels = vlm::RawFrame(std::move(image));
  f->running_ns = running_ns;
  f->stream_ns = running_ns + stream_offset_ns;
  return f;
}

// Feeds frames at the given times like the element does (advance, then offer/add).
std::vector<Window> feed(WindowBuilder& builder, const std::vector<int64_t>& times, bool finish = true) {
  std::vector<Window> out;
  for (const int64_t t : times) {
    for (Window& w : builder.advance(t)) out.push_back(std::move(w));
    if (builder.wants(t)) builder.add(frame_at(t));
  }
  if (finish)
    for (Window& w : builder.finish()) out.push_back(std::move(w));
  return out;
}

std::vector<int64_t> at_30fps(int first, int last) {
  std::vector<int64_t> times;
  for (int k = first; k <= last; ++k) times.push_back(static_cast<int64_t>(k) * kSec / 30);
  return times;
}

std::vector<int64_t> frame_times(const Window& w) {
  std::vector<int64_t> t;
  for (const auto& f : w.frames) t.push_back(f->running_ns);
  return t;
}

TEST(WindowBuilder, TenSecondsAt30FpsGivesFourOverlappingWindows) {
  WindowBuilder builder({2.0, 4 * kSec, 2 * kSec});
  const auto windows = feed(builder, at_30fps(0, 299));
  ASSERT_EQ(windows.size(), 4u);  // [0,4) [2,6) [4,8) [6,10); [8,12) holds nothing new
  for (size_t i = 0; i < windows.size(); ++i) {
    const int64_t start = static_cast<int64_t>(i) * 2 * kSec;
    EXPECT_EQ(windows[i].index, i);
    EXPECT_EQ(windows[i].start_rt_ns, start);
    EXPECT_EQ(windows[i].end_rt_ns, start + 4 * kSec);  // last one: 9.5 s + 0.5 s = 10 s
    std::vector<int64_t> expected;
    for (int j = 0; j < 8; ++j) expected.push_back(start + j * kSec / 2);
    EXPECT_EQ(frame_times(windows[i]), expected) << "window " << i;
    EXPECT_EQ(patch_start_seconds(windows[i]), (std::vector<double>{0.0, 1.0, 2.0, 3.0}));
  }
  EXPECT_FALSE(windows[2].partial);
  EXPECT_TRUE(windows[3].partial);
}

TEST(WindowBuilder, VariableFrameRateSamplesByTimestamp) {
  WindowBuilder builder({2.0, 4 * kSec, 2 * kSec});
  const std::vector<double> seconds = {0, 0.2, 0.45, 0.55, 0.9, 1.02, 1.6, 1.7, 2.3, 2.4, 3.1, 3.9, 4.2};
  std::vector<int64_t> times;
  for (double s : seconds) times.push_back(static_cast<int64_t>(s * 1e9 + 0.5));
  const auto windows = feed(builder, times);
  // Grid 0, 0.5, 1.0, … : kept 0, 0.55, 1.02, 1.6, 2.3, 3.1 (late by a whole interval: grid
  // restarts at 3.1, next due 3.6), 3.9 (next due 4.1), 4.2.
  ASSERT_EQ(windows.size(), 2u);
  auto ns = [](std::vector<double> s) {
    std::vector<int64_t> t;
    for (double v : s) t.push_back(static_cast<int64_t>(v * 1e9 + 0.5));
    return t;
  };
  EXPECT_EQ(frame_times(windows[0]), ns({0, 0.55, 1.02, 1.6, 2.3, 3.1, 3.9}));
  EXPECT_EQ(windows[0].end_rt_ns, 4 * kSec);
  const auto starts = patch_start_seconds(windows[0]);  // pairs (0,.55) (1.02,1.6) (2.3,3.1) (3.9)
  ASSERT_EQ(starts.size(), 4u);
  EXPECT_NEAR(starts[1], 1.02, 1e-9);
  EXPECT_NEAR(starts[2], 2.3, 1e-9);
  EXPECT_NEAR(starts[3], 3.9, 1e-9);
  // Tail window [2,6) holds 4.2 s, which no window covered: closed at 4.2 + 0.5 s.
  EXPECT_EQ(frame_times(windows[1]), ns({2.3, 3.1, 3.9, 4.2}));
  EXPECT_EQ(windows[1].end_rt_ns, ns({4.7})[0]);
  EXPECT_TRUE(windows[1].partial);
}

TEST(WindowBuilder, LongGapSkipsEmptyWindows) {
  WindowBuilder builder({2.0, 4 * kSec, 2 * kSec});
  std::vector<int64_t> times = at_30fps(0, 30);  // 0 .. 1.0 s
  const auto later = at_30fps(3000, 3150);       // 100 .. 105 s
  times.insert(times.end(), later.begin(), later.end());
  const auto windows = feed(builder, times, /*finish=*/false);
  // [0,4) closes with 3 frames; the grid then jumps to window 49 = [98,102), the first one open
  // at 100 s (4 frames: 100 .. 101.5), then [100,104) (8 frames); no empty window in between.
  ASSERT_EQ(windows.size(), 3u);
  EXPECT_EQ(frame_times(windows[0]), (std::vector<int64_t>{0, kSec / 2, kSec}));
  EXPECT_EQ(windows[1].start_rt_ns, 98 * kSec);
  EXPECT_EQ(windows[1].frames.size(), 4u);
  EXPECT_EQ(windows[1].frames.front()->running_ns, 100 * kSec);
  EXPECT_EQ(windows[2].start_rt_ns, 100 * kSec);
  EXPECT_EQ(windows[2].frames.size(), 8u);
}

TEST(WindowBuilder, ResetForgetsPendingFrames) {
  WindowBuilder builder({2.0, 4 * kSec, 2 * kSec});
  feed(builder, at_30fps(0, 60), /*finish=*/false);
  EXPECT_GT(builder.pending_frames(), 0u);
  builder.reset();
  EXPECT_EQ(builder.pending_frames(), 0u);
  EXPECT_TRUE(builder.finish().empty());
}

TEST(WindowBuilder, RejectsNonPositiveWindowOrStride) {
  EXPECT_THROW(WindowBuilder({2.0, 0, kSec}), vlm::Error);
  EXPECT_THROW(WindowBuilder({2.0, kSec, -1}), vlm::Error);
}

WindowJob job_with_frames(Task task, uint64_t index, int64_t start_rt, int n, int64_t offset) {
  WindowJob job;
  job.task.task = task;
  job.task.user_prompt = "a dog jumps";
  job.window.index = index;
  job.window.start_rt_ns = start_rt;
  job.window.end_rt_ns = start_rt + 4 * kSec;
  for (int i = 0; i < n; ++i) job.window.frames.push_back(frame_at(start_rt + i * kSec / 2, offset));
  return job;
}

// A plain text answer (no score), as the describe and events tasks give.
std::vector<EventRecord> records_of(const WindowJob& job, const std::string& text,
                                    const std::string& stream, EventMerger& merger) {
  return window_records(job, WindowAnswer{text, std::nullopt}, stream, merger);
}

TEST(WindowResults, DescribeGivesOneWindowRecordInStreamTime) {
  EventMerger merger;
  const auto job = job_with_frames(Task::Describe, 3, 2 * kSec, 8, 10 * kSec);
  const auto records = records_of(job, "  A cat sleeps.\n", "cam", merger);
  ASSERT_EQ(records.size(), 1u);
  const EventRecord& r = records[0];
  EXPECT_EQ(r.kind, "window");
  EXPECT_EQ(r.id, "cam-w3");
  EXPECT_EQ(r.text, "A cat sleeps.");
  EXPECT_EQ(r.start_ns, 12 * kSec);  // running 2 s + stream offset 10 s
  EXPECT_EQ(r.end_ns, 16 * kSec);
  EXPECT_EQ(r.window_start_ns, 12 * kSec);
  EXPECT_EQ(r.frames, 8u);
}

TEST(WindowResults, EventsAreMappedFromTheFirstFrame) {
  EventMerger merger;
  const auto job = job_with_frames(Task::Events, 0, 2 * kSec, 8, 0);
  const auto records =
      records_of(job, "```json\n[{\"start_time\": \"00:00.50\", \"end_time\": \"00:01.50\", "
                          "\"description\": \"door opens\"}]\n```", "cam", merger);
  ASSERT_EQ(records.size(), 2u);
  EXPECT_EQ(records[1].kind, "event");
  EXPECT_EQ(records[1].id, "cam-e0");
  EXPECT_EQ(records[1].start_ns, 2 * kSec + kSec / 2);
  EXPECT_EQ(records[1].end_ns, 3 * kSec + kSec / 2);
  EXPECT_EQ(records[1].text, "door opens");
}

TEST(WindowResults, EventTimesAreClampedToTheWindow) {
  EventMerger merger;
  const auto job = job_with_frames(Task::Events, 0, 0, 8, 0);
  const auto records = records_of(job, "[{\"start\": 3, \"end\": 60, \"event\": \"x\"}]", "s", merger);
  ASSERT_EQ(records.size(), 2u);
  EXPECT_EQ(records[1].end_ns, 4 * kSec);
}

TEST(WindowResults, UnparseableAnswerIsKeptAsWindowText) {
  EventMerger merger;
  const auto job = job_with_frames(Task::Events, 0, 0, 8, 0);
  const auto records = records_of(job, "Nothing much happens.", "s", merger);
  ASSERT_EQ(records.size(), 1u);
  EXPECT_EQ(records[0].text, "Nothing much happens.");
}

TEST(WindowResults, QueryEventTakesTheAnswerSentence) {
  EventMerger merger;
  const auto job = job_with_frames(Task::Query, 0, 0, 8, 0);
  const auto records = records_of(job, "The given query happens in 1.0 - 2.5 seconds.", "s", merger);
  ASSERT_EQ(records.size(), 2u);
  EXPECT_EQ(records[1].start_ns, kSec);
  EXPECT_EQ(records[1].end_ns, 2 * kSec + kSec / 2);
  EXPECT_EQ(records[1].text, "The given query happens in 1.0 - 2.5 seconds.");
}

TEST(WindowResults, InvalidUtf8IsReplacedNotPassedOn) {
  EventMerger merger;
  const auto job = job_with_frames(Task::Describe, 0, 0, 2, 0);
  // A lone continuation byte, a truncated 3-byte sequence at the end, an overlong '/'.
  const auto records = records_of(job, "ok \x80 caf\xC3\xA9 \xC0\xAF end \xE2\x82", "s", merger);
  ASSERT_EQ(records.size(), 1u);
  EXPECT_EQ(records[0].text, "ok \uFFFD caf\u00E9 \uFFFD\uFFFD end \uFFFD\uFFFD");
}

TEST(EventMerger, OverlappingWindowsReportOneEventWithStableId) {
  EventMerger merger;
  // Window A [0,4) sees the dog at 2-4 s; window B [2,6) sees it at 0.5-2 s after its start.
  const auto a = records_of(job_with_frames(Task::Events, 0, 0, 8, 0),
                                "[{\"start\": 2, \"end\": 4, \"event\": \"A dog runs\"}]", "s", merger);
  const auto b = records_of(job_with_frames(Task::Events, 1, 2 * kSec, 8, 0),
                                "[{\"start\": 0.5, \"end\": 2, \"event\": \"a dog runs.\"}]", "s", merger);
  ASSERT_EQ(a.size(), 2u);
  ASSERT_EQ(b.size(), 1u);  // 2.5-4 s lies inside the known 2-4 s: nothing new to publish
  const auto c = records_of(job_with_frames(Task::Events, 2, 2 * kSec, 8, 0),
                                "[{\"start\": 0, \"end\": 3, \"event\": \"A dog runs\"}]", "s", merger);
  ASSERT_EQ(c.size(), 2u);  // 2-5 s extends the event: republished under the same id
  EXPECT_EQ(c[1].id, a[1].id);
  EXPECT_EQ(c[1].start_ns, 2 * kSec);
  EXPECT_EQ(c[1].end_ns, 5 * kSec);
}

TEST(EventMerger, DifferentHappeningsKeepDifferentIds) {
  EventMerger merger;
  const auto r = records_of(job_with_frames(Task::Events, 0, 0, 8, 0),
                                "[{\"start\": 1, \"end\": 2, \"event\": \"a dog runs\"},"
                                " {\"start\": 1, \"end\": 2, \"event\": \"the lights turn off\"}]",
                                "s", merger);
  ASSERT_EQ(r.size(), 3u);
  EXPECT_EQ(r[1].id, "s-e0");
  EXPECT_EQ(r[2].id, "s-e1");
}

TEST(EventRecord, JsonLineHasTheSchemaFields) {
  EventRecord r;
  r.stream = "cam";
  r.kind = "event";
  r.id = "cam-e1";
  r.text = "say \"hi\"";
  r.start_ns = 1'500'000'000;
  r.end_ns = 2 * kSec;
  r.window_start_ns = 0;
  r.window_end_ns = 4 * kSec;
  r.frames = 8;
  EXPECT_EQ(to_json_line(r),
            "{\"stream\":\"cam\",\"kind\":\"event\",\"start\":1.5,\"end\":2.0,\"start_ns\":1500000000,"
            "\"end_ns\":2000000000,\"text\":\"say \\\"hi\\\"\",\"id\":\"cam-e1\",\"window_start\":0.0,"
            "\"window_end\":4.0,\"frames\":8}");
}

// ---- worker ---------------------------------------------------------------------------------

class WorkerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    script().reset();
    test_support::install_scripted_runner();
    runner_ = acquire_runner({"m", "cpu"});
  }
  std::unique_ptr<Worker> make(size_t max_queue) {
    return std::make_unique<Worker>(
        runner_, max_queue,
        [this](const WindowJob& job, const WindowAnswer&) {
          std::lock_guard<std::mutex> lock(mutex_);
          answered_.push_back(job.window.index);
        },
        [this](const WindowJob&, const vlm::Error&) { ++failures_; });
  }
  WindowJob job(uint64_t index) { return job_with_frames(Task::Describe, index, 0, 2, 0); }
  std::vector<uint64_t> answered() {
    std::lock_guard<std::mutex> lock(mutex_);
    return answered_;
  }
  std::shared_ptr<SharedRunner> runner_;
  std::mutex mutex_;
  std::vector<uint64_t> answered_;
  std::atomic<int> failures_{0};
};

TEST_F(WorkerTest, FileModeAnswersEveryWindowInOrder) {
  auto worker = make(1);
  for (uint64_t i = 0; i < 6; ++i) EXPECT_EQ(worker->submit(job(i), false), Worker::Submitted::Queued);
  ASSERT_TRUE(worker->drain());
  EXPECT_EQ(answered(), (std::vector<uint64_t>{0, 1, 2, 3, 4, 5}));
  EXPECT_EQ(worker->stats().done, 6u);
  EXPECT_EQ(worker->stats().dropped, 0u);
}

TEST_F(WorkerTest, FileModeSubmitWaitsForRoomInsteadOfDropping) {
  script().set_gate(false);
  auto worker = make(1);
  worker->submit(job(0), false);
  ASSERT_TRUE(script().wait_started(1));
  worker->submit(job(1), false);  // fills the queue
  std::atomic<bool> returned{false};
  std::thread producer([&] {
    worker->submit(job(2), false);
    returned = true;
  });
  EXPECT_FALSE(returned.load());  // still waiting: the gate is closed
  script().set_gate(true);
  producer.join();
  ASSERT_TRUE(worker->drain());
  EXPECT_EQ(answered(), (std::vector<uint64_t>{0, 1, 2}));
}

TEST_F(WorkerTest, LiveModeDropsOldestPendingWindow) {
  script().set_gate(false);
  auto worker = make(1);
  worker->submit(job(0), true);
  ASSERT_TRUE(script().wait_started(1));
  EXPECT_EQ(worker->submit(job(1), true), Worker::Submitted::Queued);
  EXPECT_EQ(worker->submit(job(2), true), Worker::Submitted::QueuedDroppingOldest);
  EXPECT_EQ(worker->submit(job(3), true), Worker::Submitted::QueuedDroppingOldest);
  EXPECT_EQ(worker->stats().dropped, 2u);
  script().set_gate(true);
  ASSERT_TRUE(worker->drain());
  EXPECT_EQ(answered(), (std::vector<uint64_t>{0, 3}));
}

TEST_F(WorkerTest, FlushCancelsRunningAndDiscardsPending) {
  script().set_gate(false);
  auto worker = make(2);
  worker->submit(job(0), false);
  ASSERT_TRUE(script().wait_started(1));
  worker->submit(job(1), false);
  worker->set_flushing(true);
  ASSERT_TRUE(test_support::wait_until([&] { return worker->stats().cancelled == 1; }));
  EXPECT_EQ(worker->stats().discarded, 1u);
  EXPECT_EQ(worker->submit(job(2), false), Worker::Submitted::Refused);
  worker->set_flushing(false);
  script().set_gate(true);
  worker->submit(job(3), false);
  ASSERT_TRUE(worker->drain());
  EXPECT_EQ(answered(), (std::vector<uint64_t>{3}));
}

TEST_F(WorkerTest, FailuresAreReportedAndCounted) {
  {
    std::lock_guard<std::mutex> lock(script().mutex);
    script().fail = true;
  }
  auto worker = make(2);
  worker->submit(job(0), false);
  ASSERT_TRUE(worker->drain());
  EXPECT_EQ(failures_.load(), 1);
  EXPECT_EQ(worker->stats().failed, 1u);
}

TEST(RunnerRegistry, SharesOneRunnerPerModelAndDevice) {
  script().reset();
  test_support::install_scripted_runner();
  auto a = acquire_runner({"model-a", "cpu"});
  auto b = acquire_runner({"model-a", "cpu"});
  auto c = acquire_runner({"model-a", "cuda:1"});
  EXPECT_EQ(a.get(), b.get());
  EXPECT_NE(a.get(), c.get());
  EXPECT_EQ(script().factory_calls.size(), 2u);
}

TEST(FairTurns, CancelledWaiterDoesNotBlockTheLine) {
  FairTurns turns;
  vlm::CancelToken none, waiter_token;
  ASSERT_TRUE(turns.acquire(none));
  std::atomic<int> result{-1};
  std::thread waiter([&] { result = turns.acquire(waiter_token) ? 1 : 0; });
  waiter_token.cancel();
  waiter.join();
  EXPECT_EQ(result.load(), 0);
  turns.release();
  ASSERT_TRUE(turns.acquire(none));  // the abandoned ticket is skipped
  turns.release();
}

TEST(FairTurns, TurnsAreGivenInArrivalOrder) {
  FairTurns turns;
  vlm::CancelToken none;
  ASSERT_TRUE(turns.acquire(none));  // held by the test
  std::mutex order_mutex;
  std::vector<int> order;
  std::vector<std::thread> waiters;
  for (int id = 0; id < 3; ++id) {
    waiters.emplace_back([&, id] {
      turns.acquire(none);
      {
        std::lock_guard<std::mutex> lock(order_mutex);
        order.push_back(id);
      }
      turns.release();
    });
    // The next waiter starts only once this one is in line.
    ASSERT_TRUE(test_support::wait_until([&] { return turns.waiting() == static_cast<uint64_t>(id + 1); }));
  }
  turns.release();
  for (auto& t : waiters) t.join();
  EXPECT_EQ(order, (std::vector<int>{0, 1, 2}));
}

}  // namespace
