/* libvlm's log into GStreamer's debug log (library_log.h). Every libvlm level is passed on and
 * GStreamer's thresholds decide what is printed: GST_DEBUG=vlm:5 shows libvlm's debug lines. */
#include "library_log.h"

#include <gst/gst.h>

#include <string_view>

#include "vlm/log.h"

GST_DEBUG_CATEGORY_STATIC (gst_vlm_library_debug);

namespace {

GstDebugLevel gst_level (vlm::LogLevel level)
{
  switch (level) {
    case vlm::LogLevel::Debug: return GST_LEVEL_DEBUG;
    case vlm::LogLevel::Info: return GST_LEVEL_INFO;
    case vlm::LogLevel::Warning: return GST_LEVEL_WARNING;
    case vlm::LogLevel::Error: return GST_LEVEL_ERROR;
  }
  return GST_LEVEL_INFO;
}

}  // namespace

void
gst_vlm_route_library_log (void)
{
  GST_DEBUG_CATEGORY_INIT (gst_vlm_library_debug, "vlm", 0, "libvlm: model loading and inference");
  vlm::set_log_level (vlm::LogLevel::Debug);
  vlm::set_log_callback ([] (vlm::LogLevel level, std::string_view message) {
    GST_CAT_LEVEL_LOG (gst_vlm_library_debug, gst_level (level), nullptr, "%.*s",
        static_cast<int> (message.size ()), message.data ());
  });
}
