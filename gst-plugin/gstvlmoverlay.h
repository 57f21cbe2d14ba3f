/* vlmoverlay: burns vlmdescribe results into the video. A bin around textoverlay whose text is
 * set from the GstVlmEventMeta found on each buffer, so a gst-launch line can show descriptions
 * live (webcam) or write them into a file without any application code. The text changes when a
 * result arrives (the buffer carrying the meta) and stays until the next one. */
#pragma once

#include <gst/gst.h>

G_BEGIN_DECLS

#define GST_TYPE_VLM_OVERLAY (gst_vlm_overlay_get_type ())
G_DECLARE_FINAL_TYPE (GstVlmOverlay, gst_vlm_overlay, GST, VLM_OVERLAY, GstBin)

/* Registers the element in @plugin (nullptr: statically). */
gboolean gst_vlm_overlay_register (GstPlugin * plugin);

/* The text vlmoverlay shows for the metas on @buffer, or an empty string when it has none. */
gchar *gst_vlm_overlay_text_for_buffer (GstBuffer * buffer);

G_END_DECLS
