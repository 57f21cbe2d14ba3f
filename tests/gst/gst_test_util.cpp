// GStreamer test helpers (see gst_test_util.h).
#include "gst_test_util.h"

#include <gst/video/video.h>

namespace vlm::gst::test_support {

GstBuffer* rgb_frame(int width, int height, GstClockTime pts, unsigned seed) {
  const gsize size = static_cast<gsize>(width) * height * 3;
  GstBuffer* buffer = gst_buffer_new_allocate(nullptr, size, nullptr);
  GstMapInfo map;
  gst_buffer_map(buffer, &map, GST_MAP_WRITE);
  for (gsize i = 0; i < size; ++i) map.data[i] = static_cast<guint8>((i * 7 + seed * 13) % 251);
  gst_buffer_unmap(buffer, &map);
  GST_BUFFER_PTS(buffer) = pts;
  GST_BUFFER_DTS(buffer) = pts;
  GST_BUFFER_DURATION(buffer) = GST_SECOND / 30;
  return buffer;
}

GstElement* make_describe(const char* mode, const char* model) {
  GstElement* element = gst_element_factory_make("vlmdescribe", nullptr);
  g_object_set(element, "stream-id", "cam", nullptr);
  if (model != nullptr) g_object_set(element, "model", model, nullptr);
  gst_util_set_object_arg(G_OBJECT(element), "mode", mode);
  return element;
}

static std::string caps_string(int width, int height, const char* framerate) {
  return "video/x-raw,format=RGB,width=" + std::to_string(width) + ",height=" + std::to_string(height) +
         ",framerate=" + framerate;
}

Harness::Harness(GstElement* el, int w, int ht, const char* framerate) : width(w), height(ht) {
  bus = gst_bus_new();
  gst_element_set_bus(el, bus);
  h = gst_harness_new_with_element(el, "sink", "src");
  element = h->element;
  gst_object_unref(el);  // the harness holds its own reference
  gst_harness_set_src_caps_str(h, caps_string(w, ht, framerate).c_str());
}

Harness::~Harness() {
  for (GstBuffer* b : kept) gst_buffer_unref(b);
  gst_harness_teardown(h);
  gst_object_unref(bus);
}

void Harness::set_size(int w, int ht, const char* framerate) {
  width = w;
  height = ht;
  gst_harness_set_src_caps_str(h, caps_string(w, ht, framerate).c_str());
}

GstFlowReturn Harness::push(GstBuffer* buffer, bool keep) {
  const GstFlowReturn ret = gst_harness_push(h, buffer);
  if (ret != GST_FLOW_OK) return ret;
  GstBuffer* out = gst_harness_pull(h);
  if (keep)
    kept.push_back(out);
  else
    gst_buffer_unref(out);
  return ret;
}

void Harness::push_30fps(int first, int last) {
  for (int k = first; k <= last; ++k) push(rgb_frame(width, height, at_30fps(k), static_cast<unsigned>(k)));
}

guint64 stat(GstElement* element, const char* field) {
  GstStructure* stats = nullptr;
  g_object_get(element, "stats", &stats, nullptr);
  guint64 value = 0;
  gst_structure_get_uint64(stats, field, &value);
  gst_structure_free(stats);
  return value;
}

bool run_pipeline(const std::string& description, std::vector<GstStructure*>* events,
                  std::vector<std::string>* warnings) {
  GError* error = nullptr;
  GstElement* pipeline = gst_parse_launch(description.c_str(), &error);
  if (pipeline == nullptr) {
    g_clear_error(&error);
    return false;
  }
  GstBus* bus = gst_element_get_bus(pipeline);
  bool ok = gst_element_set_state(pipeline, GST_STATE_PLAYING) != GST_STATE_CHANGE_FAILURE;
  bool finished = false;
  while (ok && !finished) {
    GstMessage* msg = gst_bus_timed_pop_filtered(
        bus, 60 * GST_SECOND,
        static_cast<GstMessageType>(GST_MESSAGE_EOS | GST_MESSAGE_ERROR | GST_MESSAGE_ELEMENT |
                                    GST_MESSAGE_WARNING));
    if (msg == nullptr) {
      ok = false;
      break;
    }
    switch (GST_MESSAGE_TYPE(msg)) {
      case GST_MESSAGE_EOS: finished = true; break;
      case GST_MESSAGE_ERROR: ok = false; break;
      case GST_MESSAGE_WARNING: {
        GError* err = nullptr;
        gst_message_parse_warning(msg, &err, nullptr);
        if (warnings != nullptr) warnings->push_back(err->message);
        g_clear_error(&err);
        break;
      }
      case GST_MESSAGE_ELEMENT: {
        const GstStructure* s = gst_message_get_structure(msg);
        if (events != nullptr && s != nullptr && gst_structure_has_name(s, "vlm-event"))
          events->push_back(gst_structure_copy(s));
        break;
      }
      default: break;
    }
    gst_message_unref(msg);
  }
  gst_element_set_state(pipeline, GST_STATE_NULL);
  gst_object_unref(bus);
  gst_object_unref(pipeline);
  return ok && finished;
}

void free_structures(std::vector<GstStructure*>& structures) {
  for (GstStructure* s : structures) gst_structure_free(s);
  structures.clear();
}

}  // namespace vlm::gst::test_support
