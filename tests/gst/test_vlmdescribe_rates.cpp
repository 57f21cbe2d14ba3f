// vlmdescribe at playback rates other than 1: windows, stride and sample-fps mean media seconds
// (a rate-2 segment gives the same windows as rate 1), and in reverse playback each window's
// bounds are reported earliest first and the model gets its frames in media order with forward
// patch times. Expected values are worked out by hand in the comments (30 fps frames, 2 fps
// samples, window 4 s, stride 2 s).
#include <gtest/gtest.h>

#include "gst_test_util.h"
#include "scripted_runner.h"

using namespace vlm::gst;
using namespace vlm::gst::test_support;

namespace {

constexpr int64_t kSec = 1'000'000'000;

class VlmDescribeRates : public ::testing::Test {
 protected:
  void SetUp() override { script().reset(); }
};

void push_segment(Harness& harness, double rate, GstClockTime stop = GST_CLOCK_TIME_NONE) {
  GstSegment segment;
  gst_segment_init(&segment, GST_FORMAT_TIME);
  segment.rate = rate;
  segment.stop = stop;
  if (rate < 0) segment.position = stop;
  ASSERT_TRUE(gst_harness_push_event(harness.h, gst_event_new_segment(&segment)));
}

std::vector<int64_t> stream_times(const std::vector<FramePtr>& frames) {
  std::vector<int64_t> t;
  for (const auto& f : frames) t.push_back(f->stream_ns);
  return t;
}

TEST_F(VlmDescribeRates, DoubleSpeedGivesTheWindowsOfMediaTime) {
  Harness harness(make_describe("file"));
  push_segment(harness, 2.0);
  harness.push_30fps(0, 299);  // 10 s of media, 5 s of running time
  gst_harness_push_event(harness.h, gst_event_new_eos());
  const auto js = script().jobs_copy();
  // Media windows [0,4) [2,6) [4,8) and, closed at EOS, [6,10) (6.0 .. 9.5 s): 8 frames at 0.5 s
  // each ([8,12) holds nothing new and is not asked). At rate 1 the grid would be the same; taken
  // in running time it would have been two windows of 8 media seconds.
  ASSERT_EQ(js.size(), 4u);
  for (size_t i = 0; i < 4; ++i) {
    EXPECT_EQ(js[i].window.start_stream_ns(), static_cast<int64_t>(2 * i) * kSec) << i;
    EXPECT_EQ(js[i].window.end_stream_ns(), static_cast<int64_t>(2 * i + 4) * kSec) << i;
    ASSERT_EQ(js[i].window.frames.size(), 8u) << i;
    EXPECT_EQ(js[i].window.frames[1]->stream_ns - js[i].window.frames[0]->stream_ns, kSec / 2);
    EXPECT_EQ(patch_start_seconds(js[i].window), (std::vector<double>{0.0, 1.0, 2.0, 3.0})) << i;
  }
  EXPECT_TRUE(js[3].window.partial);
}

TEST_F(VlmDescribeRates, ReversePlaybackGivesTheModelForwardMedia) {
  Harness harness(make_describe("file"));
  push_segment(harness, -1.0, 10 * GST_SECOND);
  for (int k = 299; k >= 0; --k)
    ASSERT_EQ(harness.push(rgb_frame(64, 48, at_30fps(k), static_cast<unsigned>(k))), GST_FLOW_OK);
  gst_harness_push_event(harness.h, gst_event_new_eos());
  const auto js = script().jobs_copy();
  ASSERT_GE(js.size(), 4u);
  // Running time = 10 s - PTS, so frame 299 comes first (running 1/30 s) and samples are every
  // 15 frames: window 0 holds frames 299, 284, …, 194 and covers stream (299/30 - 4, 299/30].
  const Window& w0 = js[0].window;
  EXPECT_EQ(w0.direction, -1);
  EXPECT_EQ(w0.end_stream_ns(), static_cast<int64_t>(at_30fps(299)));
  EXPECT_EQ(w0.start_stream_ns(), static_cast<int64_t>(at_30fps(299)) - 4 * kSec);
  std::vector<int64_t> forward;
  for (int j = 7; j >= 0; --j) forward.push_back(static_cast<int64_t>(at_30fps(299 - 15 * j)));
  EXPECT_EQ(stream_times(w0.media_order()), forward);
  EXPECT_EQ(patch_start_seconds(w0), (std::vector<double>{0.0, 1.0, 2.0, 3.0}));
  // Later windows cover earlier media: window 1 ends 2 s before window 0.
  EXPECT_EQ(js[1].window.end_stream_ns(), w0.end_stream_ns() - 2 * kSec);
  for (const auto& job : js) EXPECT_LE(job.window.start_stream_ns(), job.window.end_stream_ns());
}

}  // namespace
