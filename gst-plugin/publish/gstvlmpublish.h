/* vlmpublish: a pass-through element that delivers the "vlm-event" custom downstream events of
 * vlmdescribe (one per window result or event) to the durable event log, the HTTP/SSE/WebSocket
 * server and the webhook of vlm-events-server (examples/server). Buffers pass untouched; only the
 * custom events are read (the GstVlmEventMeta on buffers carries the same records, so reading both
 * would publish each twice). Elements with the same log location in one process share one log,
 * id sequence and server (vlm-monitor runs one per camera). */
#pragma once

#include <gst/base/gstbasetransform.h>
#include <gst/gst.h>

G_BEGIN_DECLS

#define GST_TYPE_VLM_PUBLISH (gst_vlm_publish_get_type ())
G_DECLARE_FINAL_TYPE (GstVlmPublish, gst_vlm_publish, GST, VLM_PUBLISH, GstBaseTransform)

/* Registers the element in @plugin (nullptr: statically). */
gboolean gst_vlm_publish_register (GstPlugin * plugin);

G_END_DECLS
