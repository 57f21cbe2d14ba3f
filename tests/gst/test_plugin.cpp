// The real plugin module (libgstvlm.so found through GST_PLUGIN_PATH, its own registry file) with
// the real engine: registration and documentation, the errors a user sees for a missing or
// corrupt checkpoint (an ERROR naming the path and a failed state change), libvlm's log in the
// "vlm" debug category, and one end-to-end run with the tiny fixture checkpoint
// (tests/fixtures/models/tiny-a).
#include <gtest/gtest.h>

#include <gst/gst.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "gst_test_util.h"

using namespace vlm::gst::test_support;

namespace {

// Sets `description` to PAUSED; returns the state change result and the first ERROR's text.
GstStateChangeReturn pause_pipeline(const std::string& description, std::string* error_text) {
  GstElement* pipeline = gst_parse_launch(description.c_str(), nullptr);
  EXPECT_NE(pipeline, nullptr);
  if (pipeline == nullptr) return GST_STATE_CHANGE_FAILURE;
  GstStateChangeReturn ret = gst_element_set_state(pipeline, GST_STATE_PAUSED);
  if (ret == GST_STATE_CHANGE_ASYNC) ret = gst_element_get_state(pipeline, nullptr, nullptr, 30 * GST_SECOND);
  GstBus* bus = gst_element_get_bus(pipeline);
  if (GstMessage* msg = gst_bus_pop_filtered(bus, GST_MESSAGE_ERROR)) {
    GError* err = nullptr;
    gchar* debug = nullptr;
    gst_message_parse_error(msg, &err, &debug);
    *error_text = std::string(err->message) + " | " + (debug ? debug : "");
    g_clear_error(&err);
    g_free(debug);
    gst_message_unref(msg);
  }
  gst_object_unref(bus);
  gst_element_set_state(pipeline, GST_STATE_NULL);
  gst_object_unref(pipeline);
  return ret;
}

TEST(Plugin, LoadsFromThePluginPathWithDocumentation) {
  GstPlugin* plugin = gst_registry_find_plugin(gst_registry_get(), "vlm");
  ASSERT_NE(plugin, nullptr);
  EXPECT_NE(std::string(gst_plugin_get_filename(plugin)).find("libgstvlm.so"), std::string::npos);
  gst_object_unref(plugin);
  GstElementFactory* factory = gst_element_factory_find("vlmdescribe");
  ASSERT_NE(factory, nullptr);
  const std::string klass = gst_element_factory_get_metadata(factory, GST_ELEMENT_METADATA_KLASS);
  const std::string description = gst_element_factory_get_metadata(factory, GST_ELEMENT_METADATA_DESCRIPTION);
  EXPECT_NE(klass.find("Analyzer"), std::string::npos);
  EXPECT_NE(description.find("gst-launch-1.0"), std::string::npos);  // example launch line
  gst_object_unref(factory);
}

TEST(Plugin, MissingModelIsAnErrorNamingTheFolder) {
  std::string error;
  const auto ret = pause_pipeline(
      "videotestsrc ! vlmdescribe model=/nonexistent/qwen-folder ! fakesink", &error);
  EXPECT_EQ(ret, GST_STATE_CHANGE_FAILURE);
  EXPECT_NE(error.find("/nonexistent/qwen-folder"), std::string::npos) << error;
}

TEST(Plugin, CorruptModelIsAnErrorNamingTheFile) {
  const auto dir = std::filesystem::temp_directory_path() / ("vlm-corrupt-" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  std::ofstream(dir / "config.json") << "{ \"model_type\": \"qwen2_5_vl\", oops";
  std::string error;
  const auto ret = pause_pipeline("videotestsrc ! vlmdescribe model=" + dir.string() + " ! fakesink", &error);
  EXPECT_EQ(ret, GST_STATE_CHANGE_FAILURE);
  EXPECT_NE(error.find("config.json"), std::string::npos) << error;
  std::filesystem::remove_all(dir);
}

// The bundled tiny checkpoint (tests/fixtures/models/tiny-a): committed, so its absence fails.
class PluginWithTinyModel : public ::testing::Test {
 protected:
  void SetUp() override {
    const char* fixtures = std::getenv("VLM_FIXTURES");
    ASSERT_NE(fixtures, nullptr);
    model = std::filesystem::path(fixtures) / "models" / "tiny-a";
    ASSERT_TRUE(std::filesystem::exists(model / "config.json")) << "no tiny checkpoint at " << model;
  }
  std::filesystem::path model;
};

TEST_F(PluginWithTinyModel, TinyCheckpointDescribesAClipEndToEnd) {
  std::vector<GstStructure*> messages;
  std::vector<std::string> warnings;
  // 2 s at 30 fps, 1 s windows at 2 fps: windows [0,1) and [1,2), 2 frames each, 56x56 pixels.
  ASSERT_TRUE(run_pipeline(
      "videotestsrc num-buffers=60 ! video/x-raw,format=I420,width=56,height=56,framerate=30/1 ! "
      "vlmdescribe model=" + model.string() + " mode=file window=1 stride=1 max-new-tokens=3 "
      "min-pixels=3136 max-pixels=3136 stream-id=tiny ! fakesink", &messages, &warnings));
  for (const auto& w : warnings) ADD_FAILURE() << "warning: " << w;
  ASSERT_EQ(messages.size(), 2u);
  for (size_t i = 0; i < messages.size(); ++i) {
    EXPECT_STREQ(gst_structure_get_string(messages[i], "kind"), "window");
    EXPECT_STREQ(gst_structure_get_string(messages[i], "stream"), "tiny");
    guint frames = 0;
    gst_structure_get_uint(messages[i], "frames", &frames);
    EXPECT_EQ(frames, 2u);
    EXPECT_NE(gst_structure_get_string(messages[i], "text"), nullptr);
  }
  free_structures(messages);
}

TEST_F(PluginWithTinyModel, TinyCheckpointAnswersQueryWindowsWithScores) {
  std::vector<GstStructure*> messages;
  std::vector<std::string> warnings;
  // Windows [0,1) and [1,2) of 2 frames; query-threshold 0 refines both, so the real engine asks
  // both questions. A random model's answer has no times: each window's event is the window.
  ASSERT_TRUE(run_pipeline(
      "videotestsrc num-buffers=60 ! video/x-raw,format=I420,width=56,height=56,framerate=30/1 ! "
      "vlmdescribe model=" + model.string() + " mode=file window=1 stride=1 max-new-tokens=3 "
      "min-pixels=3136 max-pixels=3136 task=query prompt=\"a ball moves\" query-threshold=0 ! "
      "fakesink", &messages, &warnings));
  for (const auto& w : warnings) ADD_FAILURE() << "warning: " << w;
  std::vector<std::string> kinds;
  for (const GstStructure* m : messages) {
    kinds.push_back(gst_structure_get_string(m, "kind"));
    double score = -1;
    ASSERT_TRUE(gst_structure_get_double(m, "score", &score)) << kinds.back();
    EXPECT_GE(score, 0.0);
    EXPECT_LE(score, 1.0);
  }
  ASSERT_EQ(kinds, (std::vector<std::string>{"window", "event", "window", "event"}));
  double start = -1, end = -1;
  gst_structure_get_double(messages[3], "start", &start);
  gst_structure_get_double(messages[3], "end", &end);
  EXPECT_DOUBLE_EQ(start, 1.0);
  EXPECT_DOUBLE_EQ(end, 2.0);
  free_structures(messages);
}

// libvlm's log reaches GStreamer's debug log under the "vlm" category (gst-plugin/library_log.h):
// loading a copy of the checkpoint without generation_config.json logs a note at INFO.
void collect_vlm_lines(GstDebugCategory* category, GstDebugLevel level, const gchar*, const gchar*,
                       gint, GObject*, GstDebugMessage* message, gpointer lines) {
  if (std::string(gst_debug_category_get_name(category)) != "vlm") return;
  static_cast<std::vector<std::string>*>(lines)->push_back(
      std::string(gst_debug_level_get_name(level)) + " " + gst_debug_message_get(message));
}

TEST_F(PluginWithTinyModel, LibraryLogGoesToTheVlmDebugCategory) {
  const auto dir = std::filesystem::temp_directory_path() / ("vlm-log-" + std::to_string(::getpid()));
  std::filesystem::remove_all(dir);
  std::filesystem::copy(model, dir);
  ASSERT_TRUE(std::filesystem::remove(dir / "generation_config.json"));
  std::vector<std::string> lines;
  const bool was_active = gst_debug_is_active();
  gst_debug_set_active(TRUE);
  gst_debug_set_threshold_for_name("vlm", GST_LEVEL_INFO);
  gst_debug_add_log_function(collect_vlm_lines, &lines, nullptr);
  std::string error;
  const auto ret = pause_pipeline("videotestsrc ! vlmdescribe model=" + dir.string() + " ! fakesink", &error);
  gst_debug_remove_log_function(collect_vlm_lines);
  gst_debug_unset_threshold_for_name("vlm");
  gst_debug_set_active(was_active);
  std::filesystem::remove_all(dir);
  EXPECT_NE(ret, GST_STATE_CHANGE_FAILURE) << error;
  bool found = false;
  for (const std::string& line : lines) found = found || line.find("generation_config.json not found") != std::string::npos;
  EXPECT_TRUE(found) << lines.size() << " line(s) in category vlm";
  for (const std::string& line : lines) std::printf("[ vlm log ] %s\n", line.c_str());
}

// No machine has GPU 999: on a CUDA build the backend finds no such device, elsewhere CUDA is not
// built; either way the element names the device and stops, or falls back when told to.
TEST_F(PluginWithTinyModel, UnusableDeviceIsAnErrorNamingIt) {
  std::string error;
  const auto ret = pause_pipeline(
      "videotestsrc ! vlmdescribe model=" + model.string() + " device=cuda:999 ! fakesink", &error);
  EXPECT_EQ(ret, GST_STATE_CHANGE_FAILURE);
  EXPECT_NE(error.find("cuda"), std::string::npos) << error;
}

TEST_F(PluginWithTinyModel, UnusableDeviceFallsBackWhenAFallbackIsSet) {
  GstElement* pipeline = gst_parse_launch(
      ("videotestsrc num-buffers=30 ! video/x-raw,format=I420,width=56,height=56,framerate=30/1 ! "
       "vlmdescribe name=d model=" + model.string() + " device=cuda:999 fallback-device=cpu "
       "mode=file window=1 stride=1 max-new-tokens=2 min-pixels=3136 max-pixels=3136 ! fakesink").c_str(),
      nullptr);
  ASSERT_NE(pipeline, nullptr);
  gst_element_set_state(pipeline, GST_STATE_PLAYING);
  GstBus* bus = gst_element_get_bus(pipeline);
  std::string warning;
  int results = 0;
  bool eos = false;
  while (GstMessage* msg = gst_bus_timed_pop(bus, 60 * GST_SECOND)) {
    const GstMessageType type = GST_MESSAGE_TYPE(msg);
    if (type == GST_MESSAGE_WARNING && warning.empty()) {
      GError* err = nullptr;
      gst_message_parse_warning(msg, &err, nullptr);
      warning = err->message;
      g_clear_error(&err);
    } else if (type == GST_MESSAGE_ELEMENT &&
               gst_structure_has_name(gst_message_get_structure(msg), "vlm-event")) {
      ++results;
    }
    eos = type == GST_MESSAGE_EOS;
    const bool done = eos || type == GST_MESSAGE_ERROR;
    gst_message_unref(msg);
    if (done) break;
  }
  GstElement* d = gst_bin_get_by_name(GST_BIN(pipeline), "d");
  GstStructure* stats = nullptr;
  g_object_get(d, "stats", &stats, nullptr);
  const std::string device = gst_structure_get_string(stats, "device");
  gst_structure_free(stats);
  gst_object_unref(d);
  gst_element_set_state(pipeline, GST_STATE_NULL);
  gst_object_unref(bus);
  gst_object_unref(pipeline);
  EXPECT_TRUE(eos);
  EXPECT_NE(warning.find("cuda:999"), std::string::npos) << warning;
  EXPECT_NE(warning.find("'cpu'"), std::string::npos) << warning;
  EXPECT_EQ(device, "cpu");
  EXPECT_EQ(results, 1);  // one window [0,1) answered on the CPU
}

TEST_F(PluginWithTinyModel, AbsurdAspectRatioIsAWarningNotACrash) {
  std::vector<GstStructure*> messages;
  std::vector<std::string> warnings;
  // 2000x8 breaks the processor's aspect-ratio rule (at most 200:1): every window fails, the
  // video still reaches EOS and each failure is a warning.
  ASSERT_TRUE(run_pipeline(
      "videotestsrc num-buffers=30 ! video/x-raw,format=RGB,width=2000,height=8,framerate=30/1 ! "
      "vlmdescribe model=" + model.string() + " mode=file window=0.5 stride=0.5 ! fakesink",
      &messages, &warnings));
  EXPECT_TRUE(messages.empty());
  EXPECT_FALSE(warnings.empty());
  free_structures(messages);
}

}  // namespace

int main(int argc, char** argv) {
  gst_init(&argc, &argv);
  ::testing::InitGoogleTest(&argc, argv);
  return RUN_ALL_TESTS();
}
