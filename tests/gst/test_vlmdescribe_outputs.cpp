// vlmdescribe's outputs with the scripted runner: GstVlmEventMeta through videoconvert, bus
// messages and the JSON Lines file field by field, the text_src pad (contents, timing, preroll,
// EOS, textoverlay) and vlmoverlay. Expected values are worked out by hand from the window rules
// (see test_vlmdescribe.cpp) and the scripted answers.
#include <gtest/gtest.h>

#include <gst/video/video.h>

#include <filesystem>
#include <fstream>
#include <mutex>

#include <nlohmann/json.hpp>

#include "gst/vlm/gstvlmeventmeta.h"
#include "gst_test_util.h"
#include "scripted_runner.h"

using namespace vlm::gst;
using namespace vlm::gst::test_support;

namespace {

constexpr int64_t kSec = 1'000'000'000;

class VlmDescribeOutputs : public ::testing::Test {
 protected:
  void SetUp() override { script().reset(); }
};

// ---- outputs ----------------------------------------------------------------------------------

TEST_F(VlmDescribeOutputs, MetaAndEventSurviveVideoconvert) {
  GstHarness* h = gst_harness_new_parse(
      "vlmdescribe model=scripted mode=file window=1 stride=1 stream-id=cam ! videoconvert");
  gst_harness_set_src_caps_str(h, "video/x-raw,format=RGB,width=64,height=48,framerate=30/1");
  gst_harness_set_sink_caps_str(h, "video/x-raw,format=I420,width=64,height=48,framerate=30/1");
  GstElement* describe = gst_harness_find_element(h, "vlmdescribe");
  for (int k = 0; k < 30; ++k) {
    ASSERT_EQ(gst_harness_push(h, rgb_frame(64, 48, at_30fps(k), k)), GST_FLOW_OK);
    gst_buffer_unref(gst_harness_pull(h));
  }
  // The frame at 1.0 s closes window [0,1); its result rides on that frame if the worker was
  // already done by then, otherwise on the next one: exactly one of the two carries it.
  ASSERT_EQ(gst_harness_push(h, rgb_frame(64, 48, at_30fps(30), 30)), GST_FLOW_OK);
  GstBuffer* closing = gst_harness_pull(h);
  ASSERT_TRUE(wait_until([&] { return stat(describe, "windows-done") == 1; }));
  ASSERT_EQ(gst_harness_push(h, rgb_frame(64, 48, at_30fps(31), 31)), GST_FLOW_OK);
  GstBuffer* next = gst_harness_pull(h);
  EXPECT_EQ(gst_buffer_get_size(next), 64u * 48u * 3u / 2u);  // really converted to I420
  const bool on_closing = gst_buffer_get_vlm_event_meta(closing) != nullptr;
  const bool on_next = gst_buffer_get_vlm_event_meta(next) != nullptr;
  EXPECT_NE(on_closing, on_next);
  GstBuffer* out = on_closing ? closing : next;
  gst_buffer_unref(on_closing ? next : closing);
  GstVlmEventMeta* meta = gst_buffer_get_vlm_event_meta(out);
  ASSERT_NE(meta, nullptr);
  EXPECT_EQ(meta->kind, GST_VLM_EVENT_KIND_WINDOW);
  EXPECT_STREQ(meta->stream_id, "cam");
  EXPECT_STREQ(meta->id, "cam-w0");
  EXPECT_STREQ(meta->text, "window 0");
  EXPECT_EQ(meta->start_ns, 0);
  EXPECT_EQ(meta->end_ns, kSec);
  EXPECT_EQ(meta->frames, 2u);  // 0.0 s and 0.5 s
  GstStructure* s = gst_vlm_event_meta_to_structure(meta);
  EXPECT_TRUE(gst_structure_has_name(s, "vlm-event"));
  gst_structure_free(s);
  gst_buffer_unref(out);

  int custom = 0;
  while (GstEvent* ev = gst_harness_try_pull_event(h)) {
    if (GST_EVENT_TYPE(ev) == GST_EVENT_CUSTOM_DOWNSTREAM &&
        gst_structure_has_name(gst_event_get_structure(ev), "vlm-event")) {
      ++custom;
      const gchar* id = gst_structure_get_string(gst_event_get_structure(ev), "id");
      EXPECT_STREQ(id, "cam-w0");
    }
    gst_event_unref(ev);
  }
  EXPECT_EQ(custom, 1);
  gst_object_unref(describe);
  gst_harness_teardown(h);
}

TEST_F(VlmDescribeOutputs, MessagesAndFileCarryTheSchema) {
  {
    std::lock_guard<std::mutex> lock(script().mutex);
    script().answer = [](const WindowJob&) {
      return std::string("[{\"start\": 0.5, \"end\": 1.5, \"event\": \"ball moves\"}]");
    };
  }
  const auto path = std::filesystem::temp_directory_path() /
                    ("vlmdescribe-events-" + std::to_string(::getpid()) + ".jsonl");
  std::filesystem::remove(path);
  std::vector<GstStructure*> messages;
  ASSERT_TRUE(run_pipeline(
      "videotestsrc num-buffers=150 ! video/x-raw,format=RGB,width=64,height=48,framerate=30/1 ! "
      "vlmdescribe model=scripted mode=file task=events stream-id=cam events-file=" + path.string() +
          " ! fakesink", &messages));
  // 5 s clip: window [0,4) (8 frames), tail [2,5) (frames 2.0..4.5, 6 frames); one event each,
  // at 0.5-1.5 s after each window's first frame.
  struct Expected { const char* kind; const char* id; double start, end, ws, we; unsigned frames; };
  const Expected expected[] = {
      {"window", "cam-w0", 0.0, 4.0, 0.0, 4.0, 8}, {"event", "cam-e0", 0.5, 1.5, 0.0, 4.0, 8},
      {"window", "cam-w1", 2.0, 5.0, 2.0, 5.0, 6}, {"event", "cam-e1", 2.5, 3.5, 2.0, 5.0, 6}};
  ASSERT_EQ(messages.size(), 4u);
  std::ifstream file(path);
  std::vector<nlohmann::json> lines;
  for (std::string line; std::getline(file, line);) lines.push_back(nlohmann::json::parse(line));
  ASSERT_EQ(lines.size(), 4u);
  for (size_t i = 0; i < 4; ++i) {
    const Expected& x = expected[i];
    const GstStructure* m = messages[i];
    double start = -1, end = -1, ws = -1, we = -1;
    gint64 start_ns = -1, end_ns = -1;
    guint frames = 0;
    gst_structure_get(m, "start", G_TYPE_DOUBLE, &start, "end", G_TYPE_DOUBLE, &end, "window_start",
                      G_TYPE_DOUBLE, &ws, "window_end", G_TYPE_DOUBLE, &we, "start_ns", G_TYPE_INT64,
                      &start_ns, "end_ns", G_TYPE_INT64, &end_ns, "frames", G_TYPE_UINT, &frames, nullptr);
    EXPECT_STREQ(gst_structure_get_string(m, "stream"), "cam");
    EXPECT_STREQ(gst_structure_get_string(m, "kind"), x.kind) << i;
    EXPECT_STREQ(gst_structure_get_string(m, "id"), x.id) << i;
    const std::string text = gst_structure_get_string(m, "text");
    EXPECT_EQ(text, std::string(x.kind) == "event" ? "ball moves"
                                                   : "[{\"start\": 0.5, \"end\": 1.5, \"event\": \"ball moves\"}]");
    EXPECT_DOUBLE_EQ(start, x.start);
    EXPECT_DOUBLE_EQ(end, x.end);
    EXPECT_EQ(start_ns, static_cast<gint64>(x.start * 1e9));
    EXPECT_EQ(end_ns, static_cast<gint64>(x.end * 1e9));
    EXPECT_DOUBLE_EQ(ws, x.ws);
    EXPECT_DOUBLE_EQ(we, x.we);
    EXPECT_EQ(frames, x.frames);
    const nlohmann::json& j = lines[i];
    EXPECT_EQ(j["stream"], "cam");
    EXPECT_EQ(j["kind"], x.kind);
    EXPECT_EQ(j["id"], x.id);
    EXPECT_EQ(j["text"], text);
    EXPECT_EQ(j["start_ns"].get<int64_t>(), start_ns);
    EXPECT_EQ(j["end_ns"].get<int64_t>(), end_ns);
    EXPECT_DOUBLE_EQ(j["start"].get<double>(), x.start);
    EXPECT_DOUBLE_EQ(j["window_end"].get<double>(), x.we);
    EXPECT_EQ(j["frames"].get<unsigned>(), x.frames);
  }
  free_structures(messages);
  std::filesystem::remove(path);
}

struct TextCollector {
  std::mutex mutex;
  std::vector<std::string> texts;
  std::vector<GstClockTime> pts, durations;
  static void on_handoff(GstElement*, GstBuffer* buffer, GstPad*, gpointer data) {
    auto* self = static_cast<TextCollector*>(data);
    GstMapInfo map;
    gst_buffer_map(buffer, &map, GST_MAP_READ);
    std::lock_guard<std::mutex> lock(self->mutex);
    self->texts.emplace_back(reinterpret_cast<const char*>(map.data), map.size);
    self->pts.push_back(GST_BUFFER_PTS(buffer));
    self->durations.push_back(GST_BUFFER_DURATION(buffer));
    gst_buffer_unmap(buffer, &map);
  }
};

// Runs a parsed pipeline to EOS with a handoff collector on the element named "text".
bool run_with_text_sink(const std::string& description, TextCollector& collector) {
  GstElement* pipeline = gst_parse_launch(description.c_str(), nullptr);
  if (pipeline == nullptr) return false;
  GstElement* text = gst_bin_get_by_name(GST_BIN(pipeline), "text");
  if (text != nullptr) {
    g_signal_connect(text, "handoff", G_CALLBACK(&TextCollector::on_handoff), &collector);
    gst_object_unref(text);
  }
  gst_element_set_state(pipeline, GST_STATE_PLAYING);
  GstBus* bus = gst_element_get_bus(pipeline);
  GstMessage* msg = gst_bus_timed_pop_filtered(bus, 60 * GST_SECOND,
                                               static_cast<GstMessageType>(GST_MESSAGE_EOS | GST_MESSAGE_ERROR));
  const bool ok = msg != nullptr && GST_MESSAGE_TYPE(msg) == GST_MESSAGE_EOS;
  if (msg != nullptr) gst_message_unref(msg);
  gst_element_set_state(pipeline, GST_STATE_NULL);
  gst_object_unref(bus);
  gst_object_unref(pipeline);
  return ok;
}

TEST_F(VlmDescribeOutputs, TextPadGivesEventsTimedWithWhatTheyDescribe) {
  {
    std::lock_guard<std::mutex> lock(script().mutex);
    script().answer = [](const WindowJob&) {
      return std::string("[{\"start\": 0.5, \"end\": 1.5, \"event\": \"ball moves\"}]");
    };
  }
  TextCollector collector;
  // The text sink prerolls on the GAP event that follows the segment, and EOS reaches it.
  ASSERT_TRUE(run_with_text_sink(
      "videotestsrc num-buffers=150 ! video/x-raw,format=RGB,width=64,height=48,framerate=30/1 ! "
      "vlmdescribe name=d model=scripted mode=file task=events ! fakesink "
      "d.text_src ! fakesink name=text signal-handoffs=true sync=false", collector));
  // Windows [0,4) and [2,5) each report the event 0.5-1.5 s after their first frame.
  EXPECT_EQ(collector.texts, (std::vector<std::string>{"ball moves", "ball moves"}));
  EXPECT_EQ(collector.pts, (std::vector<GstClockTime>{GST_SECOND / 2, 5 * GST_SECOND / 2}));
  EXPECT_EQ(collector.durations, (std::vector<GstClockTime>{GST_SECOND, GST_SECOND}));
}

TEST_F(VlmDescribeOutputs, TextPadCarriesWindowCaptionsForDescribe) {
  TextCollector collector;
  ASSERT_TRUE(run_with_text_sink(
      "videotestsrc num-buffers=180 ! video/x-raw,format=RGB,width=64,height=48,framerate=30/1 ! "
      "vlmdescribe name=d model=scripted mode=file ! fakesink "
      "d.text_src ! fakesink name=text signal-handoffs=true sync=false", collector));
  EXPECT_EQ(collector.texts, (std::vector<std::string>{"window 0", "window 1"}));
  EXPECT_EQ(collector.pts, (std::vector<GstClockTime>{0, 2 * GST_SECOND}));
  EXPECT_EQ(collector.durations, (std::vector<GstClockTime>{4 * GST_SECOND, 4 * GST_SECOND}));
}

TEST_F(VlmDescribeOutputs, TextPadFeedsTextoverlayWithoutStalling) {
  GstElementFactory* overlay = gst_element_factory_find("textoverlay");
  ASSERT_NE(overlay, nullptr) << "textoverlay (gstreamer1.0-x, scripts/install-deps.sh) is not installed";
  gst_object_unref(overlay);
  TextCollector unused;
  EXPECT_TRUE(run_with_text_sink(
      "videotestsrc num-buffers=180 ! video/x-raw,format=RGB,width=64,height=48,framerate=30/1 ! "
      "vlmdescribe name=d model=scripted mode=file ! textoverlay name=o wait-text=false ! fakesink "
      "d.text_src ! o.text_sink", unused));
}

TEST_F(VlmDescribeOutputs, OverlayShowsTheTextOfTheMetaOnTheVideo) {
  GstElement* overlay_bin = gst_element_factory_make("vlmoverlay", nullptr);
  ASSERT_NE(overlay_bin, nullptr);
  GstElement* text_overlay = gst_bin_get_by_name(GST_BIN(overlay_bin), "overlay");
  ASSERT_NE(text_overlay, nullptr) << "textoverlay (gstreamer1.0-x, scripts/install-deps.sh) is not installed";
  GstHarness* h = gst_harness_new_with_element(overlay_bin, "sink", "src");
  gst_harness_set_src_caps_str(h, "video/x-raw,format=RGB,width=64,height=48,framerate=30/1");
  GstBuffer* plain = rgb_frame(64, 48, 0, 0);
  ASSERT_EQ(gst_harness_push(h, plain), GST_FLOW_OK);
  gst_buffer_unref(gst_harness_pull(h));
  gchar* text = nullptr;
  g_object_get(text_overlay, "text", &text, nullptr);
  EXPECT_STREQ(text, "");  // textoverlay's default: nothing shown yet
  g_free(text);

  GstBuffer* with_meta = rgb_frame(64, 48, at_30fps(1), 1);
  gst_buffer_add_vlm_event_meta(with_meta, "cam", GST_VLM_EVENT_KIND_WINDOW, "cam-w0", "A ball rolls.",
                                0, 4 * kSec, 0, 4 * kSec, 8);
  gst_buffer_add_vlm_event_meta(with_meta, "cam", GST_VLM_EVENT_KIND_EVENT, "cam-e0", "ball bounces",
                                kSec + kSec / 2, 63 * kSec, 0, 4 * kSec, 8);
  ASSERT_EQ(gst_harness_push(h, with_meta), GST_FLOW_OK);
  gst_buffer_unref(gst_harness_pull(h));
  g_object_get(text_overlay, "text", &text, nullptr);
  EXPECT_STREQ(text, "A ball rolls.\n[0:01.5 - 1:03.0] ball bounces");
  g_free(text);
  gst_object_unref(text_overlay);
  gst_harness_teardown(h);
  gst_object_unref(overlay_bin);
}

}  // namespace
