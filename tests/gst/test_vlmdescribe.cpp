// vlmdescribe in harnesses and pipelines, with the element registered statically and the engine
// replaced by the scripted runner (scripted_runner.h): properties, caps, state cycles, passthrough,
// the window grid on real timestamps (30 fps, VFR, gaps, missing PTS,
// seeks, resolution changes), file-mode draining and live-mode dropping. Expected windows are
// derived by hand: sampled frames at the first frame at/after each 0.5 s instant, window k =
// [2k, 2k+4) s, a tail window only when it holds a frame no earlier window held.
#include <gtest/gtest.h>

#include <gst/video/video.h>

#include <atomic>
#include <chrono>
#include <thread>

#include "gst_test_util.h"
#include "gstvlmdescribe.h"
#include "scripted_runner.h"
#include "vlm/image.h"

using namespace vlm::gst;
using namespace vlm::gst::test_support;

namespace {

constexpr int64_t kSec = 1'000'000'000;

class VlmDescribe : public ::testing::Test {
 protected:
  void SetUp() override { script().reset(); }
  static std::vector<WindowJob> jobs() { return script().jobs_copy(); }
};

std::vector<int64_t> stream_times(const Window& w) {
  std::vector<int64_t> t;
  for (const auto& f : w.frames) t.push_back(f->stream_ns);
  return t;
}

std::vector<int64_t> every_half_second(double first, int n) {
  std::vector<int64_t> t;
  for (int j = 0; j < n; ++j) t.push_back(static_cast<int64_t>(first * 1e9) + j * kSec / 2);
  return t;
}

// ---- properties and caps ----------------------------------------------------------------------

TEST_F(VlmDescribe, PropertyDefaults) {
  GstElement* e = gst_element_factory_make("vlmdescribe", nullptr);
  ASSERT_NE(e, nullptr);
  gchar *model, *device, *prompt, *stream_id, *events_file;
  gint task, mode, max_new_tokens, max_queue;
  gdouble fps, window, stride;
  gint64 min_pixels, max_pixels;
  g_object_get(e, "model", &model, "device", &device, "prompt", &prompt, "stream-id", &stream_id,
               "events-file", &events_file, "task", &task, "mode", &mode, "max-new-tokens",
               &max_new_tokens, "max-queue", &max_queue, "sample-fps", &fps, "window", &window,
               "stride", &stride, "min-pixels", &min_pixels, "max-pixels", &max_pixels, nullptr);
  EXPECT_EQ(model, nullptr);
  EXPECT_STREQ(device, "cpu");
  EXPECT_EQ(prompt, nullptr);
  EXPECT_EQ(stream_id, nullptr);
  EXPECT_EQ(events_file, nullptr);
  EXPECT_EQ(task, GST_VLM_DESCRIBE_TASK_DESCRIBE);
  EXPECT_EQ(mode, GST_VLM_DESCRIBE_MODE_AUTO);
  EXPECT_EQ(max_new_tokens, 128);
  EXPECT_EQ(max_queue, 2);
  EXPECT_DOUBLE_EQ(fps, 2.0);
  EXPECT_DOUBLE_EQ(window, 4.0);
  EXPECT_DOUBLE_EQ(stride, 2.0);
  EXPECT_EQ(min_pixels, 100352);
  EXPECT_EQ(max_pixels, 0);
  g_free(model);
  g_free(device);
  g_free(prompt);
  g_free(stream_id);
  g_free(events_file);
  GParamSpec* stats = g_object_class_find_property(G_OBJECT_GET_CLASS(e), "stats");
  ASSERT_NE(stats, nullptr);
  EXPECT_FALSE(stats->flags & G_PARAM_WRITABLE);
  gst_object_unref(e);
}

struct WarningCatcher {
  WarningCatcher() {
    handler = g_log_set_handler("GLib-GObject", static_cast<GLogLevelFlags>(G_LOG_LEVEL_WARNING | G_LOG_LEVEL_CRITICAL),
                                &WarningCatcher::on_log, this);
    own = g_log_set_handler(nullptr, G_LOG_LEVEL_WARNING, &WarningCatcher::on_log, this);
  }
  ~WarningCatcher() {
    g_log_remove_handler("GLib-GObject", handler);
    g_log_remove_handler(nullptr, own);
  }
  static void on_log(const gchar*, GLogLevelFlags, const gchar* message, gpointer self) {
    static_cast<WarningCatcher*>(self)->messages.push_back(message);
  }
  guint handler, own;
  std::vector<std::string> messages;
};

TEST_F(VlmDescribe, NegativeSampleFpsIsRefusedWithAWarning) {
  GstElement* e = gst_element_factory_make("vlmdescribe", nullptr);
  WarningCatcher catcher;
  g_object_set(e, "sample-fps", -1.0, nullptr);
  gdouble fps = 0;
  g_object_get(e, "sample-fps", &fps, nullptr);
  EXPECT_DOUBLE_EQ(fps, 2.0);
  ASSERT_EQ(catcher.messages.size(), 1u);
  EXPECT_NE(catcher.messages[0].find("sample-fps"), std::string::npos) << catcher.messages[0];
  gst_object_unref(e);
}

TEST_F(VlmDescribe, InvalidDeviceIsRefusedWithAWarning) {
  GstElement* e = gst_element_factory_make("vlmdescribe", nullptr);
  WarningCatcher catcher;
  g_object_set(e, "device", "tpu", nullptr);
  g_object_set(e, "device", "cuda:1", nullptr);
  gchar* device = nullptr;
  g_object_get(e, "device", &device, nullptr);
  EXPECT_STREQ(device, "cuda:1");
  g_free(device);
  ASSERT_EQ(catcher.messages.size(), 1u);
  EXPECT_NE(catcher.messages[0].find("tpu"), std::string::npos);
  gst_object_unref(e);
}

TEST_F(VlmDescribe, AcceptsTheCommonRawFormatsOnly) {
  GstElement* e = gst_element_factory_make("vlmdescribe", nullptr);
  GstPad* sink = gst_element_get_static_pad(e, "sink");
  for (const char* format : {"RGB", "RGBA", "RGBx", "BGRx", "I420", "NV12"}) {
    GstCaps* caps = gst_caps_from_string(
        (std::string("video/x-raw,format=") + format + ",width=64,height=48,framerate=30/1").c_str());
    EXPECT_TRUE(gst_pad_query_accept_caps(sink, caps)) << format;
    gst_caps_unref(caps);
  }
  for (const char* other : {"video/x-raw,format=GRAY8,width=64,height=48,framerate=30/1",
                            "video/x-raw,format=RGB,width=100000,height=48,framerate=30/1",
                            "video/x-h264,width=64,height=48", "audio/x-raw,format=S16LE"}) {
    GstCaps* caps = gst_caps_from_string(other);
    EXPECT_FALSE(gst_pad_query_accept_caps(sink, caps)) << other;
    gst_caps_unref(caps);
  }
  gst_object_unref(sink);
  gst_object_unref(e);
}

// ---- lifecycle and passthrough ----------------------------------------------------------------

TEST_F(VlmDescribe, SurvivesTwoHundredStateCycles) {
  GstElement* pipeline = gst_parse_launch(
      "videotestsrc num-buffers=30 ! video/x-raw,format=RGB,width=32,height=24,framerate=30/1 ! "
      "vlmdescribe model=scripted mode=file window=0.5 stride=0.25 ! fakesink",
      nullptr);
  ASSERT_NE(pipeline, nullptr);
  for (int i = 0; i < 200; ++i) {
    ASSERT_NE(gst_element_set_state(pipeline, GST_STATE_PLAYING), GST_STATE_CHANGE_FAILURE) << i;
    ASSERT_EQ(gst_element_get_state(pipeline, nullptr, nullptr, 30 * GST_SECOND), GST_STATE_CHANGE_SUCCESS) << i;
    ASSERT_EQ(gst_element_set_state(pipeline, GST_STATE_NULL), GST_STATE_CHANGE_SUCCESS) << i;
  }
  gst_object_unref(pipeline);
}

// An application stopping the pipeline from a bus sync handler: the handler runs on the thread
// that posted the message, here vlmdescribe's worker, so stop() is called from the worker itself.
struct StopOnFirstResult {
  GstElement* pipeline = nullptr;
  std::atomic<bool> stopped{false};
  static GstBusSyncReply on_message(GstBus*, GstMessage* message, gpointer data) {
    auto* self = static_cast<StopOnFirstResult*>(data);
    const GstStructure* s = gst_message_get_structure(message);
    if (GST_MESSAGE_TYPE(message) == GST_MESSAGE_ELEMENT && s != nullptr &&
        gst_structure_has_name(s, "vlm-event") && !self->stopped.exchange(true)) {
      gst_element_set_state(self->pipeline, GST_STATE_NULL);
    }
    return GST_BUS_PASS;
  }
};

TEST_F(VlmDescribe, StopFromABusSyncHandlerOnTheWorkerThreadIsClean) {
  StopOnFirstResult stopper;
  stopper.pipeline = gst_parse_launch(
      "videotestsrc num-buffers=300 ! video/x-raw,format=RGB,width=32,height=24,framerate=30/1 ! "
      "vlmdescribe model=scripted mode=file ! fakesink", nullptr);
  ASSERT_NE(stopper.pipeline, nullptr);
  GstBus* bus = gst_element_get_bus(stopper.pipeline);
  gst_bus_set_sync_handler(bus, &StopOnFirstResult::on_message, &stopper, nullptr);
  gst_element_set_state(stopper.pipeline, GST_STATE_PLAYING);
  ASSERT_TRUE(wait_until([&] { return stopper.stopped.load(); })) << "no result was published";
  GstState state = GST_STATE_VOID_PENDING;
  EXPECT_EQ(gst_element_get_state(stopper.pipeline, &state, nullptr, 30 * GST_SECOND),
            GST_STATE_CHANGE_SUCCESS);
  EXPECT_EQ(state, GST_STATE_NULL);
  gst_bus_set_sync_handler(bus, nullptr, nullptr, nullptr);
  gst_object_unref(bus);
  gst_object_unref(stopper.pipeline);
}

TEST_F(VlmDescribe, PassesBuffersThroughUnchanged) {
  Harness harness(make_describe("file"));
  for (int k = 0; k <= 150; ++k) {
    GstBuffer* in = rgb_frame(64, 48, at_30fps(k), static_cast<unsigned>(k));
    GST_BUFFER_OFFSET(in) = static_cast<guint64>(k);
    if (k % 3 != 0) GST_BUFFER_FLAG_SET(in, GST_BUFFER_FLAG_DELTA_UNIT);
    GstBuffer* expected = gst_buffer_copy_deep(in);
    ASSERT_EQ(gst_harness_push(harness.h, in), GST_FLOW_OK);
    GstBuffer* out = gst_harness_pull(harness.h);
    ASSERT_NE(out, nullptr);
    EXPECT_EQ(GST_BUFFER_PTS(out), GST_BUFFER_PTS(expected));
    EXPECT_EQ(GST_BUFFER_DTS(out), GST_BUFFER_DTS(expected));
    EXPECT_EQ(GST_BUFFER_DURATION(out), GST_BUFFER_DURATION(expected));
    EXPECT_EQ(GST_BUFFER_OFFSET(out), GST_BUFFER_OFFSET(expected));
    EXPECT_EQ(GST_BUFFER_FLAGS(out), GST_BUFFER_FLAGS(expected));
    ASSERT_EQ(gst_buffer_get_size(out), gst_buffer_get_size(expected));
    GstMapInfo map;
    gst_buffer_map(expected, &map, GST_MAP_READ);
    EXPECT_EQ(gst_buffer_memcmp(out, 0, map.data, map.size), 0) << "frame " << k;
    gst_buffer_unmap(expected, &map);
    gst_buffer_unref(expected);
    gst_buffer_unref(out);
  }
}

TEST_F(VlmDescribe, WithoutModelNothingIsSampled) {
  Harness harness(make_describe("file", nullptr));
  harness.push_30fps(0, 200);
  EXPECT_EQ(gst_harness_buffers_received(harness.h), 201u);
  EXPECT_EQ(stat(harness.element, "windows-submitted"), 0u);
  EXPECT_TRUE(jobs().empty());
}

// ---- windows on real timestamps ---------------------------------------------------------------

TEST_F(VlmDescribe, TenSecondClipGivesTheExpectedWindows) {
  std::vector<GstStructure*> messages;
  ASSERT_TRUE(run_pipeline(
      "videotestsrc num-buffers=300 ! video/x-raw,format=I420,width=64,height=48,framerate=30/1 ! "
      "vlmdescribe model=scripted mode=file sample-fps=2 window=4 stride=2 ! fakesink", &messages));
  const auto js = jobs();
  ASSERT_EQ(js.size(), 4u);
  ASSERT_EQ(messages.size(), 4u);
  for (size_t i = 0; i < 4; ++i) {
    const double start = 2.0 * static_cast<double>(i);
    EXPECT_EQ(js[i].window.start_stream_ns(), static_cast<int64_t>(start * 1e9));
    EXPECT_EQ(js[i].window.end_stream_ns(), static_cast<int64_t>((start + 4) * 1e9));
    EXPECT_EQ(stream_times(js[i].window), every_half_second(start, 8)) << "window " << i;
    EXPECT_EQ(patch_start_seconds(js[i].window), (std::vector<double>{0, 1, 2, 3}));
    EXPECT_EQ(js[i].window.frames[0]->pixels.width(), 64);
    double ws = -1, we = -1;
    gst_structure_get_double(messages[i], "window_start", &ws);
    gst_structure_get_double(messages[i], "window_end", &we);
    EXPECT_DOUBLE_EQ(ws, start);
    EXPECT_DOUBLE_EQ(we, start + 4);
  }
  free_structures(messages);
}

// Sampled frames are kept in the negotiated format (NV12: 1.5 bytes a pixel, odd sizes rounded up
// for chroma), not converted on the streaming thread; converting them later gives the picture.
TEST_F(VlmDescribe, SampledFramesKeepTheirFormatUntilInference) {
  ASSERT_TRUE(run_pipeline(
      "videotestsrc num-buffers=90 pattern=white ! video/x-raw,format=NV12,width=65,height=49,"
      "framerate=30/1 ! vlmdescribe model=scripted mode=file sample-fps=2 window=2 stride=2 ! fakesink",
      nullptr));
  const auto js = jobs();
  ASSERT_FALSE(js.empty());
  ASSERT_FALSE(js[0].window.frames.empty());
  for (const auto& f : js[0].window.frames) {
    EXPECT_EQ(f->pixels.format(), vlm::PixelFormat::NV12);
    EXPECT_EQ(f->pixels.size_bytes(), 65u * 49u + 66u * 25u);
  }
  const vlm::ImageRgb8 rgb = vlm::to_rgb8(js[0].window.frames[0]->pixels.view());
  ASSERT_EQ(rgb.width, 65);
  ASSERT_EQ(rgb.height, 49);
  for (uint8_t c : rgb.pixels) ASSERT_EQ(c, 255);  // white: Y 235, U = V = 128
}

TEST_F(VlmDescribe, VariableFrameRateIsSampledByTimestamp) {
  Harness harness(make_describe("file"), 64, 48, "0/1");
  const std::vector<double> seconds = {0, 0.2, 0.45, 0.55, 0.9, 1.02, 1.6, 1.7, 2.3, 2.4, 3.1, 3.9, 4.2};
  unsigned seed = 0;
  for (double s : seconds)
    ASSERT_EQ(harness.push(rgb_frame(64, 48, static_cast<GstClockTime>(s * 1e9 + 0.5), seed++)), GST_FLOW_OK);
  gst_harness_push_event(harness.h, gst_event_new_eos());
  const auto js = jobs();
  ASSERT_EQ(js.size(), 2u);
  auto ns = [](std::vector<double> v) {
    std::vector<int64_t> t;
    for (double s : v) t.push_back(static_cast<int64_t>(s * 1e9 + 0.5));
    return t;
  };
  EXPECT_EQ(stream_times(js[0].window), ns({0, 0.55, 1.02, 1.6, 2.3, 3.1, 3.9}));
  const auto starts = patch_start_seconds(js[0].window);
  ASSERT_EQ(starts.size(), 4u);
  EXPECT_NEAR(starts[1], 1.02, 1e-9);
  EXPECT_NEAR(starts[2], 2.3, 1e-9);
  EXPECT_NEAR(starts[3], 3.9, 1e-9);
  EXPECT_EQ(stream_times(js[1].window), ns({2.3, 3.1, 3.9, 4.2}));
}

TEST_F(VlmDescribe, PtsGapStartsANewWindow) {
  Harness harness(make_describe("file"));
  harness.push_30fps(0, 60);     // 0 .. 2.0 s
  harness.push_30fps(600, 720);  // 20 .. 24 s: an 18 s gap, longer than a window
  gst_harness_push_event(harness.h, gst_event_new_eos());
  const auto js = jobs();
  ASSERT_EQ(js.size(), 3u);
  EXPECT_EQ(stream_times(js[0].window), every_half_second(0, 5));
  EXPECT_EQ(js[0].window.end_stream_ns(), 2 * kSec + kSec / 2);
  EXPECT_TRUE(js[0].window.partial);
  EXPECT_EQ(js[1].window.start_stream_ns(), 20 * kSec);
  EXPECT_EQ(stream_times(js[1].window), every_half_second(20, 8));
  EXPECT_EQ(stream_times(js[2].window), every_half_second(22, 5));
  EXPECT_EQ(js[2].window.end_stream_ns(), 24 * kSec + kSec / 2);
}

TEST_F(VlmDescribe, MissingPtsStartsANewWindow) {
  Harness harness(make_describe("file"));
  harness.push_30fps(0, 60);
  GstBuffer* untimed = rgb_frame(64, 48, GST_CLOCK_TIME_NONE, 0);
  GST_BUFFER_DTS(untimed) = GST_CLOCK_TIME_NONE;
  ASSERT_EQ(harness.push(untimed), GST_FLOW_OK);
  harness.push_30fps(61, 183);
  gst_harness_push_event(harness.h, gst_event_new_eos());
  const auto js = jobs();
  ASSERT_EQ(js.size(), 3u);
  EXPECT_EQ(stream_times(js[0].window), every_half_second(0, 5));
  std::vector<int64_t> expected;  // new grid from frame 61: frames 61 + 15 j
  for (int j = 0; j < 8; ++j) expected.push_back(static_cast<int64_t>(at_30fps(61 + 15 * j)));
  EXPECT_EQ(stream_times(js[1].window), expected);
  EXPECT_EQ(js[2].window.frames.size(), 5u);
}

TEST_F(VlmDescribe, TimestampsGoingBackwardsStartANewWindow) {
  Harness harness(make_describe("file"));
  harness.push_30fps(0, 120);   // 0 .. 4.0 s: window [0,4) closes at 4.0 s
  harness.push_30fps(30, 150);  // back to 1.0 .. 5.0 s
  gst_harness_push_event(harness.h, gst_event_new_eos());
  // [0,4) 8 frames; the jump closes [2,6) early (2.0 .. 4.0 s, 5 frames); a new grid from 1.0 s
  // gives [1,5) (8 frames) and at EOS [3,7) (3.0 .. 5.0 s, 5 frames).
  const auto js = jobs();
  ASSERT_EQ(js.size(), 4u);
  EXPECT_EQ(stream_times(js[0].window), every_half_second(0, 8));
  EXPECT_EQ(stream_times(js[1].window), every_half_second(2, 5));
  EXPECT_EQ(stream_times(js[2].window), every_half_second(1, 8));
  EXPECT_EQ(stream_times(js[3].window), every_half_second(3, 5));
}

TEST_F(VlmDescribe, ResolutionChangeStartsANewWindow) {
  Harness harness(make_describe("file"));
  harness.push_30fps(0, 60);
  harness.set_size(32, 24);
  harness.push_30fps(61, 183);
  gst_harness_push_event(harness.h, gst_event_new_eos());
  const auto js = jobs();
  ASSERT_GE(js.size(), 2u);
  EXPECT_EQ(stream_times(js[0].window), every_half_second(0, 5));
  for (const auto& f : js[0].window.frames) EXPECT_EQ(f->pixels.width(), 64);
  for (size_t i = 1; i < js.size(); ++i)
    for (const auto& f : js[i].window.frames) {
      EXPECT_EQ(f->pixels.width(), 32);
      EXPECT_EQ(f->pixels.height(), 24);
    }
  EXPECT_EQ(js[1].window.frames.front()->stream_ns, static_cast<int64_t>(at_30fps(61)));
}

TEST_F(VlmDescribe, FlushingSeekCancelsAndRestartsWindows) {
  script().set_gate(false);
  Harness harness(make_describe("file"));
  harness.push_30fps(0, 120);  // window [0,4) queued at 4.0 s
  ASSERT_TRUE(script().wait_started(1));
  harness.push_30fps(121, 180);  // window [2,6) waits in the queue
  ASSERT_TRUE(gst_harness_push_event(harness.h, gst_event_new_flush_start()));
  ASSERT_TRUE(gst_harness_push_event(harness.h, gst_event_new_flush_stop(TRUE)));
  GstSegment segment;
  gst_segment_init(&segment, GST_FORMAT_TIME);
  segment.start = segment.time = segment.position = 10 * GST_SECOND;
  ASSERT_TRUE(gst_harness_push_event(harness.h, gst_event_new_segment(&segment)));
  ASSERT_TRUE(wait_until([&] { return stat(harness.element, "windows-cancelled") == 1; }));
  EXPECT_EQ(stat(harness.element, "windows-discarded"), 1u);
  script().set_gate(true);
  for (int k = 0; k <= 120; ++k)
    ASSERT_EQ(harness.push(rgb_frame(64, 48, 10 * GST_SECOND + at_30fps(k), k)), GST_FLOW_OK);
  gst_harness_push_event(harness.h, gst_event_new_eos());
  const auto js = jobs();
  ASSERT_GE(js.size(), 2u);
  EXPECT_EQ(js[0].window.start_stream_ns(), 0);           // the cancelled one
  EXPECT_EQ(js[1].window.start_stream_ns(), 10 * kSec);   // after the seek: stream time 10 s
  EXPECT_EQ(js[1].window.start_rt_ns, 0);                 // running time restarted
  EXPECT_EQ(stream_times(js[1].window), every_half_second(10, 8));
  EXPECT_EQ(stat(harness.element, "windows-done"), js.size() - 1);
}

TEST_F(VlmDescribe, PipelineSeekDescribesFromTheNewPosition) {
  GstElement* pipeline = gst_parse_launch(
      "videotestsrc ! video/x-raw,format=RGB,width=64,height=48,framerate=30/1 ! "
      "vlmdescribe model=scripted mode=file ! fakesink sync=false", nullptr);
  ASSERT_NE(pipeline, nullptr);
  ASSERT_NE(gst_element_set_state(pipeline, GST_STATE_PAUSED), GST_STATE_CHANGE_FAILURE);
  ASSERT_EQ(gst_element_get_state(pipeline, nullptr, nullptr, 30 * GST_SECOND), GST_STATE_CHANGE_SUCCESS);
  // Flushing seek to 20 s .. 30 s: everything sampled before (the preroll frame) is dropped.
  ASSERT_TRUE(gst_element_seek(pipeline, 1.0, GST_FORMAT_TIME,
                               static_cast<GstSeekFlags>(GST_SEEK_FLAG_FLUSH | GST_SEEK_FLAG_ACCURATE),
                               GST_SEEK_TYPE_SET, 20 * GST_SECOND, GST_SEEK_TYPE_SET, 30 * GST_SECOND));
  gst_element_set_state(pipeline, GST_STATE_PLAYING);
  GstBus* bus = gst_element_get_bus(pipeline);
  GstMessage* msg = gst_bus_timed_pop_filtered(bus, 60 * GST_SECOND,
                                               static_cast<GstMessageType>(GST_MESSAGE_EOS | GST_MESSAGE_ERROR));
  ASSERT_NE(msg, nullptr);
  EXPECT_EQ(GST_MESSAGE_TYPE(msg), GST_MESSAGE_EOS);
  gst_message_unref(msg);
  gst_object_unref(bus);
  gst_element_set_state(pipeline, GST_STATE_NULL);
  gst_object_unref(pipeline);
  const auto js = jobs();
  ASSERT_EQ(js.size(), 4u);  // [20,24) [22,26) [24,28) [26,30) in stream time
  for (size_t i = 0; i < js.size(); ++i) {
    const double start = 20.0 + 2.0 * static_cast<double>(i);
    EXPECT_EQ(stream_times(js[i].window), every_half_second(start, 8)) << "window " << i;
    EXPECT_EQ(js[i].window.start_rt_ns, static_cast<int64_t>((start - 20.0) * 1e9));
  }
}

TEST_F(VlmDescribe, EosDrainsEveryPendingWindowInFileMode) {
  {
    std::lock_guard<std::mutex> lock(script().mutex);
    script().answer = [](const WindowJob& job) {
      std::this_thread::sleep_for(std::chrono::milliseconds(5));  // keep windows pending at EOS
      return "window " + std::to_string(job.window.index);
    };
  }
  GstElement* e = make_describe("file");
  g_object_set(e, "max-queue", 1, nullptr);
  Harness harness(e);
  harness.push_30fps(0, 299);
  ASSERT_TRUE(gst_harness_push_event(harness.h, gst_event_new_eos()));
  EXPECT_EQ(stat(harness.element, "windows-done"), 4u);
  EXPECT_EQ(stat(harness.element, "windows-submitted"), 4u);
  int custom = 0;
  bool eos_last = false;
  while (GstEvent* ev = gst_harness_try_pull_event(harness.h)) {
    if (GST_EVENT_TYPE(ev) == GST_EVENT_CUSTOM_DOWNSTREAM) {
      EXPECT_FALSE(eos_last) << "a result came after EOS";
      ++custom;
    }
    eos_last = GST_EVENT_TYPE(ev) == GST_EVENT_EOS;
    gst_event_unref(ev);
  }
  EXPECT_EQ(custom, 4);
  EXPECT_TRUE(eos_last);
}

TEST_F(VlmDescribe, LiveModeDropsAndCountsWithoutDelayingVideo) {
  script().set_gate(false);  // the engine is stuck on its first window until the test opens it
  GstElement* e = make_describe("live");
  g_object_set(e, "max-queue", 1, nullptr);
  Harness harness(e);
  harness.push_30fps(0, 120);  // window 0 submitted at 4.0 s
  ASSERT_TRUE(script().wait_started(1));
  harness.push_30fps(121, 299);  // windows 1 (6 s) and 2 (8 s): 1 is dropped for 2
  EXPECT_EQ(gst_harness_buffers_received(harness.h), 300u);  // no frame waited for the engine
  EXPECT_EQ(stat(harness.element, "windows-dropped"), 1u);
  GstMessage* warning = gst_bus_pop_filtered(harness.bus, GST_MESSAGE_WARNING);
  ASSERT_NE(warning, nullptr);
  gst_message_unref(warning);
  script().set_gate(true);
  ASSERT_TRUE(wait_until([&] { return stat(harness.element, "windows-done") == 2; }));
  gst_harness_push_event(harness.h, gst_event_new_eos());
  std::vector<uint64_t> answered;
  for (const auto& j : jobs()) answered.push_back(j.window.index);
  EXPECT_EQ(answered, (std::vector<uint64_t>{0, 2, 3}));
}

TEST_F(VlmDescribe, PromptChangesApplyFromTheNextWindow) {
  GstElement* e = make_describe("file");
  g_object_set(e, "prompt", "first prompt", nullptr);
  Harness harness(e);
  harness.push_30fps(0, 120);  // window [0,4) queued with the first prompt
  g_object_set(harness.element, "prompt", "second prompt", nullptr);
  harness.push_30fps(121, 180);  // window [2,6)
  gst_harness_push_event(harness.h, gst_event_new_eos());
  const auto js = jobs();
  ASSERT_GE(js.size(), 2u);
  EXPECT_EQ(js[0].task.prompt, "first prompt");
  EXPECT_EQ(js[1].task.prompt, "second prompt");
}

TEST_F(VlmDescribe, AutoModeFollowsUpstreamLiveness) {
  Harness live(make_describe("auto"));  // the harness source answers latency queries as live
  live.push_30fps(0, 2);
  GstStructure* stats = nullptr;
  g_object_get(live.element, "stats", &stats, nullptr);
  gboolean is_live = FALSE;
  ASSERT_TRUE(gst_structure_get_boolean(stats, "live", &is_live));
  EXPECT_TRUE(is_live);
  gst_structure_free(stats);
}

TEST_F(VlmDescribe, LatencyQueryReportsUpstreamLatencyUnchanged) {
  Harness harness(make_describe("live"));
  gst_harness_set_upstream_latency(harness.h, 40 * GST_MSECOND);
  EXPECT_EQ(gst_harness_query_latency(harness.h), 40 * GST_MSECOND);
}

TEST_F(VlmDescribe, InferenceFailureIsAWarningAndVideoContinues) {
  {
    std::lock_guard<std::mutex> lock(script().mutex);
    script().fail = true;
  }
  Harness harness(make_describe("file"));
  harness.push_30fps(0, 120);
  ASSERT_TRUE(wait_until([&] { return stat(harness.element, "windows-failed") == 1; }));
  GstMessage* warning = gst_bus_timed_pop_filtered(harness.bus, 10 * GST_SECOND, GST_MESSAGE_WARNING);
  ASSERT_NE(warning, nullptr);
  gst_message_unref(warning);
  EXPECT_EQ(gst_bus_pop_filtered(harness.bus, GST_MESSAGE_ERROR), nullptr);
  harness.push_30fps(121, 150);
  EXPECT_EQ(gst_harness_buffers_received(harness.h), 151u);
}

TEST_F(VlmDescribe, ElementsShareOneEnginePerModelAndDevice) {
  GstElement* a = make_describe("file", "shared");
  GstElement* b = make_describe("file", "shared");
  GstElement* c = make_describe("file", "shared");
  g_object_set(c, "device", "cuda:0", nullptr);
  for (GstElement* e : {a, b, c}) ASSERT_NE(gst_element_set_state(e, GST_STATE_PAUSED), GST_STATE_CHANGE_FAILURE);
  EXPECT_EQ(script().factory_calls.size(), 2u);
  for (GstElement* e : {a, b, c}) {
    gst_element_set_state(e, GST_STATE_NULL);
    gst_object_unref(e);
  }
}

}  // namespace
