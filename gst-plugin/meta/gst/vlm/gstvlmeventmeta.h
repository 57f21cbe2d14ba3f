/* GstVlmEventMeta: one vlmdescribe result (a window description or a localised event) attached
 * to a video buffer. It lives in its own small shared library (libgstvlmmeta-1.0, pkg-config
 * gstvlmmeta-1.0) because applications cannot link against a plugin module; the fields carry the
 * event schema of ARCHITECTURE.md §5 so the meta, the bus message, the custom event and the JSON
 * Lines file all say the same thing. The meta has no tags, so it survives copies and transforms
 * such as videoconvert and videoscale (it describes time, not pixels). */
#ifndef GST_VLM_EVENT_META_H
#define GST_VLM_EVENT_META_H

#include <gst/gst.h>

G_BEGIN_DECLS

/**
 * GstVlmEventKind:
 * @GST_VLM_EVENT_KIND_WINDOW: the model's answer for one window of frames
 * @GST_VLM_EVENT_KIND_EVENT: one timestamped event parsed from a window's answer
 */
typedef enum {
  GST_VLM_EVENT_KIND_WINDOW = 0,
  GST_VLM_EVENT_KIND_EVENT = 1,
} GstVlmEventKind;

typedef struct _GstVlmEventMeta GstVlmEventMeta;

/**
 * GstVlmEventMeta:
 * @meta: parent #GstMeta
 * @stream_id: the element's stream-id property (never %NULL, may be "")
 * @kind: window or event
 * @id: stable identifier ("<stream>-w<N>" for windows, "<stream>-e<N>" for events)
 * @text: the description or event text (UTF-8)
 * @start_ns: start, stream time in nanoseconds
 * @end_ns: end, stream time in nanoseconds
 * @window_start_ns: start of the window that produced this result (stream time, ns)
 * @window_end_ns: end of that window (stream time, ns)
 * @frames: number of frames the window held
 * @score: task=query: probability in [0, 1] that the window shows the query; -1 otherwise
 */
struct _GstVlmEventMeta {
  GstMeta meta;
  gchar *stream_id;
  GstVlmEventKind kind;
  gchar *id;
  gchar *text;
  gint64 start_ns;
  gint64 end_ns;
  gint64 window_start_ns;
  gint64 window_end_ns;
  guint frames;
  gdouble score;
};

GType gst_vlm_event_meta_api_get_type (void);
#define GST_VLM_EVENT_META_API_TYPE (gst_vlm_event_meta_api_get_type ())

const GstMetaInfo *gst_vlm_event_meta_get_info (void);
#define GST_VLM_EVENT_META_INFO (gst_vlm_event_meta_get_info ())

/* Adds a meta copying the strings (score starts at -1: set it after); @buffer must be writable. */
GstVlmEventMeta *gst_buffer_add_vlm_event_meta (GstBuffer * buffer, const gchar * stream_id,
    GstVlmEventKind kind, const gchar * id, const gchar * text, gint64 start_ns, gint64 end_ns,
    gint64 window_start_ns, gint64 window_end_ns, guint frames);

/* First meta of this API on @buffer (iterate with gst_buffer_iterate_meta_filtered for all). */
#define gst_buffer_get_vlm_event_meta(b) \
  ((GstVlmEventMeta *) gst_buffer_get_meta ((b), GST_VLM_EVENT_META_API_TYPE))

/* The same data as a "vlm-event" structure: the fields of the bus message and the custom event
 * (stream, kind, id, text, start, end, start_ns, end_ns, window_start, window_end, frames, and
 * score when it is set). */
GstStructure *gst_vlm_event_meta_to_structure (const GstVlmEventMeta * meta);

/* Name of the structure used by the bus message and the custom downstream event. */
#define GST_VLM_EVENT_STRUCTURE_NAME "vlm-event"

const gchar *gst_vlm_event_kind_to_string (GstVlmEventKind kind);

G_END_DECLS

#endif /* GST_VLM_EVENT_META_H */
