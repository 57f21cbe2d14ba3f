/* GstVlmEventMeta from plain C, as an application linking libgstvlmmeta-1.0 sees it: the public
 * header compiles as C, the meta survives gst_buffer_copy and a deep copy, and the structure view
 * has every schema field. Exit status 0 = pass (a tiny program, no GoogleTest: this is C). */
#include <gst/gst.h>
#include <stdio.h>
#include <string.h>

#include "gst/vlm/gstvlmeventmeta.h"

#define CHECK(cond)                                                   \
  do {                                                                \
    if (!(cond)) {                                                    \
      fprintf (stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #cond); \
      return 1;                                                       \
    }                                                                 \
  } while (0)

int
main (int argc, char **argv)
{
  GstBuffer *buffer, *copy, *deep;
  GstVlmEventMeta *meta;
  GstStructure *s;
  gint64 start_ns = 0;
  guint frames = 0;
  const char *fields[] = { "stream", "kind", "id", "text", "start", "end", "start_ns", "end_ns",
    "window_start", "window_end", "frames"
  };
  size_t i;

  gst_init (&argc, &argv);
  buffer = gst_buffer_new_allocate (NULL, 16, NULL);
  CHECK (gst_buffer_add_vlm_event_meta (buffer, "cam", GST_VLM_EVENT_KIND_EVENT, "cam-e4",
          "door opens", 1500000000, 2000000000, 0, 4000000000, 8) != NULL);
  copy = gst_buffer_copy (buffer);
  deep = gst_buffer_copy_deep (buffer);
  meta = gst_buffer_get_vlm_event_meta (copy);
  CHECK (meta != NULL);
  CHECK (strcmp (meta->text, "door opens") == 0);
  CHECK (meta->kind == GST_VLM_EVENT_KIND_EVENT);
  CHECK (gst_buffer_get_vlm_event_meta (deep) != NULL);
  s = gst_vlm_event_meta_to_structure (meta);
  CHECK (gst_structure_has_name (s, "vlm-event"));
  for (i = 0; i < sizeof fields / sizeof fields[0]; ++i)
    CHECK (gst_structure_has_field (s, fields[i]));
  CHECK (gst_structure_get_int64 (s, "start_ns", &start_ns) && start_ns == 1500000000);
  CHECK (gst_structure_get_uint (s, "frames", &frames) && frames == 8);
  CHECK (strcmp (gst_structure_get_string (s, "kind"), "event") == 0);
  gst_structure_free (s);
  gst_buffer_unref (deep);
  gst_buffer_unref (copy);
  gst_buffer_unref (buffer);
  printf ("GstVlmEventMeta C API: ok\n");
  return 0;
}
