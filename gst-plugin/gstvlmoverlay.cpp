/* vlmoverlay implementation: textoverlay (from gst-plugins-base's pango plugin) inside a bin, a
 * buffer probe on its video pad turning GstVlmEventMeta into the "text" property. The child is
 * named "overlay", so its properties are reachable as overlay::font-desc=… from gst-launch.
 *
 * SECTION:element-vlmoverlay
 * @title: vlmoverlay
 *
 * ## Example launch line
 * |[
 * gst-launch-1.0 v4l2src ! videoconvert ! vlmdescribe model=/models/Qwen2.5-VL-3B-Instruct \
 *     mode=live ! videoconvert ! vlmoverlay overlay::font-desc="Sans 18" ! videoconvert ! \
 *     autovideosink
 * ]|
 */
#include "gstvlmoverlay.h"

#include <string>

#include "gst/vlm/gstvlmeventmeta.h"

GST_DEBUG_CATEGORY_STATIC (gst_vlm_overlay_debug);
#define GST_CAT_DEFAULT gst_vlm_overlay_debug

struct _GstVlmOverlay {
  GstBin parent;
  GstElement *overlay;  /* textoverlay, or nullptr when the pango plugin is missing */
};

G_DEFINE_TYPE (GstVlmOverlay, gst_vlm_overlay, GST_TYPE_BIN)

static GstStaticPadTemplate sink_template = GST_STATIC_PAD_TEMPLATE ("sink", GST_PAD_SINK,
    GST_PAD_ALWAYS, GST_STATIC_CAPS ("video/x-raw(ANY)"));
static GstStaticPadTemplate src_template = GST_STATIC_PAD_TEMPLATE ("src", GST_PAD_SRC,
    GST_PAD_ALWAYS, GST_STATIC_CAPS ("video/x-raw(ANY)"));

static std::string
clock_text (gint64 ns)
{
  const gint64 tenths = ns / (GST_SECOND / 10);
  char text[32];
  g_snprintf (text, sizeof text, "%" G_GINT64_FORMAT ":%02" G_GINT64_FORMAT ".%" G_GINT64_FORMAT,
      tenths / 600, (tenths / 10) % 60, tenths % 10);
  return text;
}

gchar *
gst_vlm_overlay_text_for_buffer (GstBuffer * buffer)
{
  std::string text;
  gpointer state = nullptr;
  while (GstMeta * m = gst_buffer_iterate_meta_filtered (buffer, &state, GST_VLM_EVENT_META_API_TYPE)) {
    const GstVlmEventMeta *meta = reinterpret_cast<const GstVlmEventMeta *> (m);
    if (!text.empty ())
      text += "\n";
    if (meta->kind == GST_VLM_EVENT_KIND_EVENT) {
      /* appends, not "[" + std::string: GCC 12 -O3 warns falsely (-Wrestrict) on the latter */
      text += "[";
      text += clock_text (meta->start_ns);
      text += " - ";
      text += clock_text (meta->end_ns);
      text += "] ";
    }
    text += meta->text ? meta->text : "";
  }
  return g_strdup (text.c_str ());
}

static GstPadProbeReturn
on_video_buffer (GstPad * pad, GstPadProbeInfo * info, gpointer user_data)
{
  (void) pad;
  GstVlmOverlay *self = GST_VLM_OVERLAY (user_data);
  GstBuffer *buffer = GST_PAD_PROBE_INFO_BUFFER (info);
  if (buffer == nullptr || gst_buffer_get_vlm_event_meta (buffer) == nullptr)
    return GST_PAD_PROBE_OK;
  gchar *text = gst_vlm_overlay_text_for_buffer (buffer);
  GST_DEBUG_OBJECT (self, "new text: %s", text);
  g_object_set (self->overlay, "text", text, nullptr);
  g_free (text);
  return GST_PAD_PROBE_OK;
}

static GstStateChangeReturn
gst_vlm_overlay_change_state (GstElement * element, GstStateChange transition)
{
  GstVlmOverlay *self = GST_VLM_OVERLAY (element);
  if (transition == GST_STATE_CHANGE_NULL_TO_READY && self->overlay == nullptr) {
    GST_ELEMENT_ERROR (self, CORE, MISSING_PLUGIN,
        ("vlmoverlay needs the textoverlay element (gst-plugins-base, pango plugin)."), (nullptr));
    return GST_STATE_CHANGE_FAILURE;
  }
  return GST_ELEMENT_CLASS (gst_vlm_overlay_parent_class)->change_state (element, transition);
}

static void
gst_vlm_overlay_init (GstVlmOverlay * self)
{
  GstPad *sink = nullptr, *src = nullptr;
  self->overlay = gst_element_factory_make ("textoverlay", "overlay");
  if (self->overlay != nullptr) {
    g_object_set (self->overlay, "wait-text", FALSE, "shaded-background", TRUE,
        "font-desc", "Sans 14", nullptr);
    gst_util_set_object_arg (G_OBJECT (self->overlay), "valignment", "top");
    gst_util_set_object_arg (G_OBJECT (self->overlay), "halignment", "left");
    gst_util_set_object_arg (G_OBJECT (self->overlay), "line-alignment", "left");
    gst_bin_add (GST_BIN (self), self->overlay);
    GstPad *video_sink = gst_element_get_static_pad (self->overlay, "video_sink");
    GstPad *overlay_src = gst_element_get_static_pad (self->overlay, "src");
    gst_pad_add_probe (video_sink, GST_PAD_PROBE_TYPE_BUFFER, on_video_buffer, self, nullptr);
    sink = gst_ghost_pad_new_from_template ("sink", video_sink,
        gst_static_pad_template_get (&sink_template));
    src = gst_ghost_pad_new_from_template ("src", overlay_src,
        gst_static_pad_template_get (&src_template));
    gst_object_unref (video_sink);
    gst_object_unref (overlay_src);
  } else {
    sink = gst_ghost_pad_new_no_target_from_template ("sink", gst_static_pad_template_get (&sink_template));
    src = gst_ghost_pad_new_no_target_from_template ("src", gst_static_pad_template_get (&src_template));
  }
  gst_element_add_pad (GST_ELEMENT (self), sink);
  gst_element_add_pad (GST_ELEMENT (self), src);
}

static void
gst_vlm_overlay_class_init (GstVlmOverlayClass * klass)
{
  GstElementClass *element_class = GST_ELEMENT_CLASS (klass);
  gst_element_class_set_static_metadata (element_class, "VLM result overlay",
      "Filter/Editor/Video",
      "Writes the vlmdescribe results carried by GstVlmEventMeta onto the video (textoverlay "
      "inside; its properties as overlay::NAME). Example: gst-launch-1.0 v4l2src ! videoconvert "
      "! vlmdescribe model=/models/Qwen2.5-VL-3B-Instruct mode=live ! videoconvert ! vlmoverlay "
      "! videoconvert ! autovideosink", "gst-vlm developers");
  gst_element_class_add_static_pad_template (element_class, &sink_template);
  gst_element_class_add_static_pad_template (element_class, &src_template);
  element_class->change_state = GST_DEBUG_FUNCPTR (gst_vlm_overlay_change_state);
  GST_DEBUG_CATEGORY_INIT (gst_vlm_overlay_debug, "vlmoverlay", 0, "vlmoverlay: results on video");
}

gboolean
gst_vlm_overlay_register (GstPlugin * plugin)
{
  return gst_element_register (plugin, "vlmoverlay", GST_RANK_NONE, GST_TYPE_VLM_OVERLAY);
}
