/* The "vlm" plugin (libgstvlm.so): registers vlmdescribe and vlmoverlay. The element's code lives in the static
 * library gstvlm_element so tests can register the same code statically. */
#include <gst/gst.h>

#include "gstvlmdescribe.h"
#include "gstvlmoverlay.h"

static gboolean
plugin_init (GstPlugin * plugin)
{
  return gst_vlm_describe_register (plugin) && gst_vlm_overlay_register (plugin);
}

GST_PLUGIN_DEFINE (GST_VERSION_MAJOR, GST_VERSION_MINOR, vlm,
    "Video description with vision-language models (Qwen2.5-VL)", plugin_init, VLM_PLUGIN_VERSION,
    "MIT/X11", "gst-vlm", "Unknown package origin")
