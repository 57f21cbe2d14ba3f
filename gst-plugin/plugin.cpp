/* The "vlm" plugin (libgstvlm.so): registers vlmdescribe and vlmoverlay, and routes libvlm's log to
 * GStreamer's debug log (library_log.h). The element's code lives in the static library
 * gstvlm_element so tests can register the same code statically. */
#include <gst/gst.h>

#include "gstvlmdescribe.h"
#include "gstvlmoverlay.h"
#include "library_log.h"
#ifdef VLM_HAVE_PUBLISH
#include "gstvlmpublish.h"  /* publish/: built when Boost is found */
#endif

static gboolean
plugin_init (GstPlugin * plugin)
{
  gst_vlm_route_library_log ();
  gboolean ok = gst_vlm_describe_register (plugin) && gst_vlm_overlay_register (plugin);
#ifdef VLM_HAVE_PUBLISH
  ok = ok && gst_vlm_publish_register (plugin);
#endif
  return ok;
}

GST_PLUGIN_DEFINE (GST_VERSION_MAJOR, GST_VERSION_MINOR, vlm,
    "Video description with vision-language models (Qwen2.5-VL)", plugin_init, VLM_PLUGIN_VERSION,
    "MIT/X11", "gst-vlm", "Unknown package origin")
