// Entry point of the statically registered vlmdescribe tests: GStreamer initialised once, the
// scripted runner installed for the whole process, vlmdescribe and vlmoverlay registered from
// this binary (GST_PLUGIN_PATH does not hold the plugin for these tests).
#include <gtest/gtest.h>

#include <gst/gst.h>

#include "gstvlmdescribe.h"
#include "gstvlmoverlay.h"
#include "scripted_runner.h"

int main(int argc, char** argv) {
  gst_init(&argc, &argv);
  ::testing::InitGoogleTest(&argc, argv);
  vlm::gst::test_support::install_scripted_runner();
  if (!gst_vlm_describe_register(nullptr) || !gst_vlm_overlay_register(nullptr)) return 1;
  return RUN_ALL_TESTS();
}
