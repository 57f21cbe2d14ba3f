// vlmpublish through the real plugin module (libgstvlm.so on GST_PLUGIN_PATH) with the tiny
// fixture checkpoint: every vlm-event bus message of vlmdescribe ends up in the log, in order,
// once, with increasing ids; a non-loopback bind without a token fails the state change with an
// error naming the rule.
#include <gst/gst.h>

#include <filesystem>
#include <fstream>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "net_test_util.h"

namespace {

using nlohmann::json;

struct RunResult {
  bool eos = false;
  std::string error;
  std::vector<json> messages;  // vlm-event element messages, in bus order
};

RunResult run(const std::string& description) {
  RunResult r;
  GError* err = nullptr;
  GstElement* pipeline = gst_parse_launch(description.c_str(), &err);
  if (pipeline == nullptr) {
    r.error = err ? err->message : "parse failed";
    g_clear_error(&err);
    return r;
  }
  GstBus* bus = gst_element_get_bus(pipeline);
  gst_element_set_state(pipeline, GST_STATE_PLAYING);
  while (GstMessage* m = gst_bus_timed_pop_filtered(bus, 120 * GST_SECOND,
             static_cast<GstMessageType>(GST_MESSAGE_EOS | GST_MESSAGE_ERROR | GST_MESSAGE_ELEMENT))) {
    const GstMessageType type = GST_MESSAGE_TYPE(m);
    if (type == GST_MESSAGE_ELEMENT && gst_message_has_name(m, "vlm-event")) {
      const GstStructure* s = gst_message_get_structure(m);
      gint64 start_ns = 0;
      gst_structure_get_int64(s, "start_ns", &start_ns);
      r.messages.push_back(json{{"stream", gst_structure_get_string(s, "stream")},
                                {"text", gst_structure_get_string(s, "text")},
                                {"id", gst_structure_get_string(s, "id")},
                                {"start_ns", start_ns}});
    }
    if (type == GST_MESSAGE_ERROR) {
      GError* e = nullptr;
      gchar* debug = nullptr;
      gst_message_parse_error(m, &e, &debug);
      r.error = std::string(e->message) + " | " + (debug ? debug : "");
      g_clear_error(&e);
      g_free(debug);
    }
    r.eos = type == GST_MESSAGE_EOS;
    gst_message_unref(m);
    if (type != GST_MESSAGE_ELEMENT) break;
  }
  gst_element_set_state(pipeline, GST_STATE_NULL);
  gst_object_unref(bus);
  gst_object_unref(pipeline);
  return r;
}

TEST(VlmPublish, LogsEveryResultOfVlmdescribeInOrder) {
  const char* fixtures = std::getenv("VLM_FIXTURES");
  ASSERT_NE(fixtures, nullptr);
  const auto model = std::filesystem::path(fixtures) / "models" / "tiny-a";
  ASSERT_TRUE(std::filesystem::exists(model / "config.json")) << "no tiny checkpoint at " << model;
  const std::string log = vlm::net::test::temp_path("publish.jsonl");
  const RunResult r = run(
      "videotestsrc num-buffers=60 ! video/x-raw,format=I420,width=56,height=56,framerate=30/1 ! "
      "vlmdescribe model=" + model.string() + " mode=file window=1 stride=1 max-new-tokens=3 "
      "min-pixels=3136 max-pixels=3136 stream-id=tiny ! vlmpublish location=" + log +
      " port=0 ! fakesink");
  ASSERT_TRUE(r.eos) << r.error;
  ASSERT_EQ(r.messages.size(), 2u);  // 2 s clip, 1 s windows
  std::ifstream in(log);
  std::vector<json> lines;
  for (std::string l; std::getline(in, l);) lines.push_back(json::parse(l));
  ASSERT_EQ(lines.size(), r.messages.size());
  for (size_t i = 0; i < lines.size(); ++i) {
    EXPECT_EQ(lines[i]["seq"], i + 1);
    EXPECT_EQ(lines[i]["stream"], r.messages[i]["stream"]);
    EXPECT_EQ(lines[i]["text"], r.messages[i]["text"]);
    EXPECT_EQ(lines[i]["id"], r.messages[i]["id"]);
    EXPECT_EQ(lines[i]["start_ns"], r.messages[i]["start_ns"]);
    EXPECT_EQ(lines[i]["kind"], "window");
  }
  std::filesystem::remove(log);
}

TEST(VlmPublish, NonLoopbackWithoutTokenFailsToStart) {
  const RunResult r = run("videotestsrc num-buffers=5 ! vlmpublish address=0.0.0.0 port=0 ! fakesink");
  EXPECT_FALSE(r.eos);
  EXPECT_NE(r.error.find("token"), std::string::npos) << r.error;
}

TEST(VlmPublish, PassesBuffersThrough) {
  const RunResult r = run("videotestsrc num-buffers=5 ! vlmpublish serve=false ! fakesink");
  EXPECT_TRUE(r.eos) << r.error;
}

}  // namespace

int main(int argc, char** argv) {
  gst_init(&argc, &argv);
  ::testing::InitGoogleTest(&argc, argv);
  return RUN_ALL_TESTS();
}
