// Helpers shared by the GStreamer tests: synthetic RGB frames at exact timestamps, a GstHarness
// around a configured vlmdescribe with its own bus, stats and message access, and a pipeline
// runner that collects "vlm-event" messages until EOS. All waits are hang guards with generous
// limits, never timing assertions.
#pragma once

#include <gst/check/gstharness.h>
#include <gst/gst.h>

#include <string>
#include <vector>

namespace vlm::gst::test_support {

inline GstClockTime at_30fps(int k) { return gst_util_uint64_scale(k, GST_SECOND, 30); }

// An RGB frame whose bytes depend on `seed`, PTS = DTS = pts, duration 1/30 s.
GstBuffer* rgb_frame(int width, int height, GstClockTime pts, unsigned seed);

// A vlmdescribe made by the factory with properties set before the harness starts it.
GstElement* make_describe(const char* mode, const char* model = "scripted");

struct Harness {
  explicit Harness(GstElement* element, int width = 64, int height = 48, const char* framerate = "30/1");
  ~Harness();
  Harness(const Harness&) = delete;
  Harness& operator=(const Harness&) = delete;

  void set_size(int width, int height, const char* framerate = "30/1");
  // Pushes 30 fps frames k = first..last (pulled and dropped unless keep).
  void push_30fps(int first, int last);
  GstFlowReturn push(GstBuffer* buffer, bool keep = false);
  std::vector<GstBuffer*> kept;  // owned
  GstHarness* h = nullptr;
  GstElement* element = nullptr;  // borrowed from h
  GstBus* bus = nullptr;
  int width = 64, height = 48;
};

guint64 stat(GstElement* element, const char* field);

// Runs `description` to EOS (or ERROR); returns the "vlm-event" element messages (owned copies)
// and the warnings' texts. False when the pipeline failed or did not finish.
bool run_pipeline(const std::string& description, std::vector<GstStructure*>* events,
                  std::vector<std::string>* warnings = nullptr);

void free_structures(std::vector<GstStructure*>& structures);

}  // namespace vlm::gst::test_support
