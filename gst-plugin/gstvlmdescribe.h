/* vlmdescribe: describes raw video with a vision-language model (Qwen2.5-VL) while passing the
 * video through unchanged. An in-place GstBaseTransform: frames are sampled by running time into
 * overlapping windows, answered by a worker thread off the streaming thread, and results come out
 * as GstVlmEventMeta, "vlm-event" bus messages, "vlm-event" custom downstream events and an
 * optional JSON Lines file. The C++ state lives behind an opaque pointer so this header stays a
 * plain GObject header. */
#pragma once

#include <gst/base/gstbasetransform.h>
#include <gst/gst.h>
#include <gst/video/video.h>

G_BEGIN_DECLS

#define GST_TYPE_VLM_DESCRIBE (gst_vlm_describe_get_type ())
G_DECLARE_FINAL_TYPE (GstVlmDescribe, gst_vlm_describe, GST, VLM_DESCRIBE, GstBaseTransform)

#define GST_TYPE_VLM_DESCRIBE_TASK (gst_vlm_describe_task_get_type ())
GType gst_vlm_describe_task_get_type (void);
#define GST_TYPE_VLM_DESCRIBE_MODE (gst_vlm_describe_mode_get_type ())
GType gst_vlm_describe_mode_get_type (void);

typedef enum {
  GST_VLM_DESCRIBE_TASK_DESCRIBE = 0,
  GST_VLM_DESCRIBE_TASK_EVENTS = 1,
  GST_VLM_DESCRIBE_TASK_QUERY = 2,
} GstVlmDescribeTask;

typedef enum {
  GST_VLM_DESCRIBE_MODE_AUTO = 0,
  GST_VLM_DESCRIBE_MODE_LIVE = 1,
  GST_VLM_DESCRIBE_MODE_FILE = 2,
} GstVlmDescribeMode;

/* Registers the element in @plugin (nullptr: statically, as tests do). */
gboolean gst_vlm_describe_register (GstPlugin * plugin);

G_END_DECLS
