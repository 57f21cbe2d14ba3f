/* GstVlmEventMeta implementation: registration of the API type (no tags, so every transform
 * keeps it), init/free of the owned strings, a transform function that copies the meta for any
 * transform (copies, videoconvert, scaling: the meta describes time, not pixels) and the
 * conversion to the shared "vlm-event" structure. */
#include "gst/vlm/gstvlmeventmeta.h"

static gboolean
gst_vlm_event_meta_init (GstMeta * meta, gpointer params, GstBuffer * buffer)
{
  GstVlmEventMeta *m = (GstVlmEventMeta *) meta;
  (void) params;
  (void) buffer;
  m->stream_id = NULL;
  m->kind = GST_VLM_EVENT_KIND_WINDOW;
  m->id = NULL;
  m->text = NULL;
  m->start_ns = m->end_ns = 0;
  m->window_start_ns = m->window_end_ns = 0;
  m->frames = 0;
  m->score = -1.0;
  return TRUE;
}

static void
gst_vlm_event_meta_free (GstMeta * meta, GstBuffer * buffer)
{
  GstVlmEventMeta *m = (GstVlmEventMeta *) meta;
  (void) buffer;
  g_free (m->stream_id);
  g_free (m->id);
  g_free (m->text);
}

static gboolean
gst_vlm_event_meta_transform (GstBuffer * dest, GstMeta * meta, GstBuffer * buffer,
    GQuark type, gpointer data)
{
  const GstVlmEventMeta *m = (const GstVlmEventMeta *) meta;
  GstVlmEventMeta *copy;
  (void) buffer;
  (void) type;
  (void) data;
  /* Time metadata stays valid whatever happened to the pixels or the memory. */
  copy = gst_buffer_add_vlm_event_meta (dest, m->stream_id, m->kind, m->id, m->text,
      m->start_ns, m->end_ns, m->window_start_ns, m->window_end_ns, m->frames);
  if (copy == NULL)
    return FALSE;
  copy->score = m->score;
  return TRUE;
}

GType
gst_vlm_event_meta_api_get_type (void)
{
  static GType type = 0;
  static const gchar *tags[] = { NULL };
  if (g_once_init_enter (&type)) {
    GType t = gst_meta_api_type_register ("GstVlmEventMetaAPI", tags);
    g_once_init_leave (&type, t);
  }
  return type;
}

const GstMetaInfo *
gst_vlm_event_meta_get_info (void)
{
  static const GstMetaInfo *info = NULL;
  if (g_once_init_enter ((GstMetaInfo **) & info)) {
    const GstMetaInfo *mi = gst_meta_register (GST_VLM_EVENT_META_API_TYPE, "GstVlmEventMeta",
        sizeof (GstVlmEventMeta), gst_vlm_event_meta_init, gst_vlm_event_meta_free,
        gst_vlm_event_meta_transform);
    g_once_init_leave ((GstMetaInfo **) & info, (GstMetaInfo *) mi);
  }
  return info;
}

GstVlmEventMeta *
gst_buffer_add_vlm_event_meta (GstBuffer * buffer, const gchar * stream_id, GstVlmEventKind kind,
    const gchar * id, const gchar * text, gint64 start_ns, gint64 end_ns,
    gint64 window_start_ns, gint64 window_end_ns, guint frames)
{
  GstVlmEventMeta *m;
  g_return_val_if_fail (GST_IS_BUFFER (buffer), NULL);
  g_return_val_if_fail (gst_buffer_is_writable (buffer), NULL);
  m = (GstVlmEventMeta *) gst_buffer_add_meta (buffer, GST_VLM_EVENT_META_INFO, NULL);
  if (m == NULL)
    return NULL;
  m->stream_id = g_strdup (stream_id ? stream_id : "");
  m->kind = kind;
  m->id = g_strdup (id ? id : "");
  m->text = g_strdup (text ? text : "");
  m->start_ns = start_ns;
  m->end_ns = end_ns;
  m->window_start_ns = window_start_ns;
  m->window_end_ns = window_end_ns;
  m->frames = frames;
  return m;
}

const gchar *
gst_vlm_event_kind_to_string (GstVlmEventKind kind)
{
  return kind == GST_VLM_EVENT_KIND_EVENT ? "event" : "window";
}

GstStructure *
gst_vlm_event_meta_to_structure (const GstVlmEventMeta * meta)
{
  GstStructure *s;
  g_return_val_if_fail (meta != NULL, NULL);
  s = gst_structure_new (GST_VLM_EVENT_STRUCTURE_NAME,
      "stream", G_TYPE_STRING, meta->stream_id,
      "kind", G_TYPE_STRING, gst_vlm_event_kind_to_string (meta->kind),
      "id", G_TYPE_STRING, meta->id,
      "text", G_TYPE_STRING, meta->text,
      "start", G_TYPE_DOUBLE, (gdouble) meta->start_ns / GST_SECOND,
      "end", G_TYPE_DOUBLE, (gdouble) meta->end_ns / GST_SECOND,
      "start_ns", G_TYPE_INT64, meta->start_ns,
      "end_ns", G_TYPE_INT64, meta->end_ns,
      "window_start", G_TYPE_DOUBLE, (gdouble) meta->window_start_ns / GST_SECOND,
      "window_end", G_TYPE_DOUBLE, (gdouble) meta->window_end_ns / GST_SECOND,
      "frames", G_TYPE_UINT, meta->frames, NULL);
  if (meta->score >= 0.0)
    gst_structure_set (s, "score", G_TYPE_DOUBLE, meta->score, NULL);
  return s;
}
