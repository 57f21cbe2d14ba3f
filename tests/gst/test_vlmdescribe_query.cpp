// vlmdescribe task=query in pipelines, with the scripted model answering the two questions and
// the element's own two-pass logic choosing the windows to refine: every window's score reaches
// the bus and the file, events come only from windows at or above query-threshold; and the text_src
// pad feeding textoverlay with its default wait-text=true through a bounded queue finishes, which
// needs the GAP events that say no text will come for the windows under the threshold.
#include <gtest/gtest.h>
#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "gst_test_util.h"
#include "scripted_runner.h"

using namespace vlm::gst;
using namespace vlm::gst::test_support;

namespace {

class VlmDescribeQuery : public ::testing::Test {
 protected:
  void SetUp() override {
    script().reset();
    std::lock_guard<std::mutex> lock(script().mutex);
    // Window 1 ([2,6) s) shows the event; the others do not.
    script().score = [](const WindowJob& job) { return job.window.index == 1 ? 0.9 : 0.1; };
    script().answer = [](const WindowJob&) { return std::string("It happens in 1.0 - 2.0 seconds."); };
  }
};

TEST_F(VlmDescribeQuery, ScoresEveryWindowAndRefinesOnlyLikelyOnes) {
  const auto path = std::filesystem::temp_directory_path() /
                    ("vlmdescribe-query-" + std::to_string(::getpid()) + ".jsonl");
  std::filesystem::remove(path);
  std::vector<GstStructure*> messages;
  ASSERT_TRUE(run_pipeline(
      "videotestsrc num-buffers=240 ! video/x-raw,format=RGB,width=64,height=48,framerate=30/1 ! "
      "vlmdescribe model=scripted mode=file task=query prompt=\"a ball bounces\" stream-id=cam "
      "events-file=" + path.string() + " ! fakesink", &messages));
  // 8 s clip: windows [0,4) [2,6) and [4,8) (closed at EOS). Window 1 is refined: its answer
  // "1.0 - 2.0 s" from its first frame at 2 s is the event 3-4 s.
  std::vector<std::string> kinds;
  int with_score = 0;
  for (const GstStructure* m : messages) {
    kinds.push_back(gst_structure_get_string(m, "kind"));
    double score = -1;
    if (gst_structure_get_double(m, "score", &score)) ++with_score;
    if (kinds.back() == "event") {
      double start = 0, end = 0;
      gst_structure_get_double(m, "start", &start);
      gst_structure_get_double(m, "end", &end);
      EXPECT_DOUBLE_EQ(start, 3.0);
      EXPECT_DOUBLE_EQ(end, 4.0);
      EXPECT_DOUBLE_EQ(score, 0.9);
      EXPECT_STREQ(gst_structure_get_string(m, "text"), "It happens in 1.0 - 2.0 seconds.");
    }
  }
  EXPECT_EQ(kinds, (std::vector<std::string>{"window", "window", "event", "window"}));
  EXPECT_EQ(with_score, 4);
  {
    std::lock_guard<std::mutex> lock(script().mutex);
    EXPECT_EQ(script().coarse_frames, (std::vector<size_t>{4, 4, 4}));  // every other frame
    EXPECT_EQ(script().refine_frames, (std::vector<size_t>{8}));           // window 1 only
  }
  std::ifstream file(path);
  int lines = 0;
  for (std::string line; std::getline(file, line); ++lines) {
    const auto j = nlohmann::json::parse(line);
    EXPECT_TRUE(j.contains("score")) << line;
  }
  EXPECT_EQ(lines, 4);
  free_structures(messages);
  std::filesystem::remove(path);
}

struct TextCount {
  std::atomic<int> buffers{0};
  static GstPadProbeReturn on_buffer(GstPad*, GstPadProbeInfo*, gpointer data) {
    ++static_cast<TextCount*>(data)->buffers;
    return GST_PAD_PROBE_OK;
  }
};

TEST_F(VlmDescribeQuery, TextoverlayWaitingForTextFinishesBehindABoundedQueue) {
  GstElementFactory* factory = gst_element_factory_find("textoverlay");
  ASSERT_NE(factory, nullptr) << "textoverlay (gstreamer1.0-x, scripts/install-deps.sh) is not installed";
  gst_object_unref(factory);
  // 20 s clip; the queue holds 6 s of video, more than a window and a stride but far less than
  // the clip: without GAPs the overlay would wait at 0 s for text that never comes, the queue
  // would fill and the pipeline would stall.
  GstElement* pipeline = gst_parse_launch(
      "videotestsrc num-buffers=600 ! video/x-raw,format=I420,width=64,height=48,framerate=30/1 ! "
      "vlmdescribe name=d model=scripted mode=file task=query prompt=\"a ball bounces\" ! "
      "queue max-size-time=6000000000 max-size-buffers=0 max-size-bytes=0 ! "
      "textoverlay name=o wait-text=true ! fakesink name=video d.text_src ! o.text_sink", nullptr);
  ASSERT_NE(pipeline, nullptr);
  GstElement* overlay = gst_bin_get_by_name(GST_BIN(pipeline), "o");
  GstPad* text_sink = gst_element_get_static_pad(overlay, "text_sink");
  TextCount count;
  gst_pad_add_probe(text_sink, GST_PAD_PROBE_TYPE_BUFFER, &TextCount::on_buffer, &count, nullptr);
  gst_object_unref(text_sink);
  gst_object_unref(overlay);
  gst_element_set_state(pipeline, GST_STATE_PLAYING);
  GstBus* bus = gst_element_get_bus(pipeline);
  GstMessage* msg = gst_bus_timed_pop_filtered(bus, 60 * GST_SECOND,
                                               static_cast<GstMessageType>(GST_MESSAGE_EOS | GST_MESSAGE_ERROR));
  ASSERT_NE(msg, nullptr) << "the pipeline stalled";
  EXPECT_EQ(GST_MESSAGE_TYPE(msg), GST_MESSAGE_EOS);
  gst_message_unref(msg);
  gst_element_set_state(pipeline, GST_STATE_NULL);
  gst_object_unref(bus);
  gst_object_unref(pipeline);
  EXPECT_EQ(count.buffers.load(), 1);  // window 1's event, the only text
}

}  // namespace
