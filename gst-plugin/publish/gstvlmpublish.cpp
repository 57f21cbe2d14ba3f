/* vlmpublish implementation: a GstBaseTransform in passthrough mode whose sink_event turns each
 * "vlm-event" structure into a JSON object (field by field) and publishes it synchronously, so the
 * event is in the log (fdatasync'd) before it travels further downstream. The Publisher is taken
 * from the process-wide registry on start and released on stop.
 *
 * SECTION:element-vlmpublish
 * @title: vlmpublish
 *
 * ## Example launch line
 * |[
 * gst-launch-1.0 rtspsrc location=rtsp://127.0.0.1:8554/cam ! decodebin ! videoconvert ! \
 *     vlmdescribe model=/models/Qwen2.5-VL-3B-Instruct mode=live stream=cam ! \
 *     vlmpublish location=/var/lib/vlm/events.jsonl port=8080 ! fakesink
 * ]|
 */
#include "gstvlmpublish.h"

#include <memory>
#include <string>

#include "gst/vlm/gstvlmeventmeta.h"
#include "publisher.h"
#include "vlm/error.h"

GST_DEBUG_CATEGORY_STATIC (gst_vlm_publish_debug);
#define GST_CAT_DEFAULT gst_vlm_publish_debug

enum {
  PROP_0,
  PROP_LOCATION,
  PROP_SERVE,
  PROP_ADDRESS,
  PROP_PORT,
  PROP_TOKEN,
  PROP_WEBHOOK_URL,
  PROP_RETENTION,
  PROP_BOUND_PORT,
  PROP_PUBLISHED,
};

struct _GstVlmPublish {
  GstBaseTransform parent;
  /* Settings, under the object lock. */
  gchar *location;
  gboolean serve;
  gchar *address;
  guint port;
  gchar *token;
  gchar *webhook_url;
  guint retention;
  /* Running state (streaming thread / state changes). */
  std::shared_ptr<vlm::net::Publisher> *publisher;
  guint64 published;
};

G_DEFINE_TYPE (GstVlmPublish, gst_vlm_publish, GST_TYPE_BASE_TRANSFORM)

static GstStaticPadTemplate sink_template = GST_STATIC_PAD_TEMPLATE ("sink", GST_PAD_SINK,
    GST_PAD_ALWAYS, GST_STATIC_CAPS_ANY);
static GstStaticPadTemplate src_template = GST_STATIC_PAD_TEMPLATE ("src", GST_PAD_SRC,
    GST_PAD_ALWAYS, GST_STATIC_CAPS_ANY);

static gboolean
field_to_json (GQuark field, const GValue * value, gpointer user_data)
{
  nlohmann::ordered_json &j = *static_cast<nlohmann::ordered_json *> (user_data);
  const char *name = g_quark_to_string (field);
  switch (G_VALUE_TYPE (value)) {
    case G_TYPE_STRING:
      j[name] = g_value_get_string (value) ? g_value_get_string (value) : "";
      break;
    case G_TYPE_INT: j[name] = g_value_get_int (value); break;
    case G_TYPE_UINT: j[name] = g_value_get_uint (value); break;
    case G_TYPE_INT64: j[name] = g_value_get_int64 (value); break;
    case G_TYPE_UINT64: j[name] = g_value_get_uint64 (value); break;
    case G_TYPE_DOUBLE: j[name] = g_value_get_double (value); break;
    case G_TYPE_FLOAT: j[name] = g_value_get_float (value); break;
    case G_TYPE_BOOLEAN: j[name] = static_cast<bool> (g_value_get_boolean (value)); break;
    default: {
      gchar *s = gst_value_serialize (value);
      j[name] = s ? s : "";
      g_free (s);
    }
  }
  return TRUE;
}

static gboolean
gst_vlm_publish_start (GstBaseTransform * trans)
{
  GstVlmPublish *self = GST_VLM_PUBLISH (trans);
  vlm::net::PublisherConfig config;
  GST_OBJECT_LOCK (self);
  config.log_path = self->location ? self->location : "";
  config.serve = self->serve;
  config.server.address = self->address ? self->address : "127.0.0.1";
  config.server.port = static_cast<uint16_t> (self->port);
  config.server.token = self->token ? self->token : "";
  config.webhook.url = self->webhook_url ? self->webhook_url : "";
  config.webhook.token = config.server.token;
  config.retention = self->retention;
  GST_OBJECT_UNLOCK (self);
  try {
    auto publisher = vlm::net::shared_publisher (config);
    GST_OBJECT_LOCK (self);
    self->publisher = new std::shared_ptr<vlm::net::Publisher> (std::move (publisher));
    GST_OBJECT_UNLOCK (self);
  } catch (const std::exception & e) {
    GST_ELEMENT_ERROR (self, RESOURCE, OPEN_READ_WRITE,
        ("Cannot start event publishing (log \"%s\", %s:%u).", config.log_path.c_str (),
            config.server.address.c_str (), static_cast<unsigned> (config.server.port)),
        ("%s", e.what ()));
    return FALSE;
  }
  if ((*self->publisher)->server () != nullptr)
    GST_INFO_OBJECT (self, "serving events on http://%s:%u/", config.server.address.c_str (),
        static_cast<unsigned> ((*self->publisher)->server ()->port ()));
  return TRUE;
}

static gboolean
gst_vlm_publish_stop (GstBaseTransform * trans)
{
  GstVlmPublish *self = GST_VLM_PUBLISH (trans);
  GST_OBJECT_LOCK (self);
  std::shared_ptr<vlm::net::Publisher> *publisher = self->publisher;
  self->publisher = nullptr;
  GST_OBJECT_UNLOCK (self);
  if (publisher != nullptr) {
    (*publisher)->flush (std::chrono::milliseconds (2000));
    delete publisher;
  }
  return TRUE;
}

static gboolean
gst_vlm_publish_sink_event (GstBaseTransform * trans, GstEvent * event)
{
  GstVlmPublish *self = GST_VLM_PUBLISH (trans);
  if (GST_EVENT_TYPE (event) == GST_EVENT_CUSTOM_DOWNSTREAM &&
      gst_event_has_name (event, GST_VLM_EVENT_STRUCTURE_NAME) && self->publisher != nullptr) {
    nlohmann::ordered_json j = nlohmann::ordered_json::object ();
    gst_structure_foreach (gst_event_get_structure (event), field_to_json, &j);
    try {
      (*self->publisher)->publish_ordered ({j});
      GST_OBJECT_LOCK (self);
      self->published++;
      GST_OBJECT_UNLOCK (self);
    } catch (const std::exception & e) {
      GST_ELEMENT_ERROR (self, RESOURCE, WRITE, ("Cannot log a vlm event."), ("%s", e.what ()));
      gst_event_unref (event);
      return FALSE;
    }
  }
  return GST_BASE_TRANSFORM_CLASS (gst_vlm_publish_parent_class)->sink_event (trans, event);
}

static void
replace_string (gchar ** field, const GValue * value)
{
  g_free (*field);
  *field = g_value_dup_string (value);
}

static void
gst_vlm_publish_set_property (GObject * object, guint prop_id, const GValue * value,
    GParamSpec * pspec)
{
  GstVlmPublish *self = GST_VLM_PUBLISH (object);
  GST_OBJECT_LOCK (self);
  switch (prop_id) {
    case PROP_LOCATION: replace_string (&self->location, value); break;
    case PROP_SERVE: self->serve = g_value_get_boolean (value); break;
    case PROP_ADDRESS: replace_string (&self->address, value); break;
    case PROP_PORT: self->port = g_value_get_uint (value); break;
    case PROP_TOKEN: replace_string (&self->token, value); break;
    case PROP_WEBHOOK_URL: replace_string (&self->webhook_url, value); break;
    case PROP_RETENTION: self->retention = g_value_get_uint (value); break;
    default: G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
  }
  GST_OBJECT_UNLOCK (self);
}

static void
gst_vlm_publish_get_property (GObject * object, guint prop_id, GValue * value, GParamSpec * pspec)
{
  GstVlmPublish *self = GST_VLM_PUBLISH (object);
  GST_OBJECT_LOCK (self);
  switch (prop_id) {
    case PROP_LOCATION: g_value_set_string (value, self->location); break;
    case PROP_SERVE: g_value_set_boolean (value, self->serve); break;
    case PROP_ADDRESS: g_value_set_string (value, self->address); break;
    case PROP_PORT: g_value_set_uint (value, self->port); break;
    case PROP_TOKEN: g_value_set_string (value, self->token); break;
    case PROP_WEBHOOK_URL: g_value_set_string (value, self->webhook_url); break;
    case PROP_RETENTION: g_value_set_uint (value, self->retention); break;
    case PROP_BOUND_PORT:
      g_value_set_uint (value, self->publisher && (*self->publisher)->server ()
          ? (*self->publisher)->server ()->port () : 0);
      break;
    case PROP_PUBLISHED: g_value_set_uint64 (value, self->published); break;
    default: G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
  }
  GST_OBJECT_UNLOCK (self);
}

static void
gst_vlm_publish_finalize (GObject * object)
{
  GstVlmPublish *self = GST_VLM_PUBLISH (object);
  delete self->publisher;
  g_free (self->location);
  g_free (self->address);
  g_free (self->token);
  g_free (self->webhook_url);
  G_OBJECT_CLASS (gst_vlm_publish_parent_class)->finalize (object);
}

static void
gst_vlm_publish_init (GstVlmPublish * self)
{
  self->location = nullptr;
  self->serve = TRUE;
  self->address = g_strdup ("127.0.0.1");
  self->port = 8080;
  self->token = nullptr;
  self->webhook_url = nullptr;
  self->retention = 100000;
  self->publisher = nullptr;
  self->published = 0;
  gst_base_transform_set_passthrough (GST_BASE_TRANSFORM (self), TRUE);
  gst_base_transform_set_in_place (GST_BASE_TRANSFORM (self), TRUE);
}

static void
gst_vlm_publish_class_init (GstVlmPublishClass * klass)
{
  GObjectClass *gobject_class = G_OBJECT_CLASS (klass);
  GstElementClass *element_class = GST_ELEMENT_CLASS (klass);
  GstBaseTransformClass *trans_class = GST_BASE_TRANSFORM_CLASS (klass);
  gobject_class->set_property = gst_vlm_publish_set_property;
  gobject_class->get_property = gst_vlm_publish_get_property;
  gobject_class->finalize = gst_vlm_publish_finalize;
  const GParamFlags rw = static_cast<GParamFlags> (G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS |
      GST_PARAM_MUTABLE_READY);
  const GParamFlags ro = static_cast<GParamFlags> (G_PARAM_READABLE | G_PARAM_STATIC_STRINGS);
  g_object_class_install_property (gobject_class, PROP_LOCATION,
      g_param_spec_string ("location", "Log location",
          "JSON Lines event log (appended, fdatasync'd per event; NULL: memory only)", nullptr, rw));
  g_object_class_install_property (gobject_class, PROP_SERVE,
      g_param_spec_boolean ("serve", "Serve", "Run the HTTP/SSE/WebSocket server", TRUE, rw));
  g_object_class_install_property (gobject_class, PROP_ADDRESS,
      g_param_spec_string ("address", "Address",
          "Address to bind (a non-loopback address needs a token)", "127.0.0.1", rw));
  g_object_class_install_property (gobject_class, PROP_PORT,
      g_param_spec_uint ("port", "Port", "TCP port (0: any free port, see bound-port)", 0, 65535,
          8080, rw));
  g_object_class_install_property (gobject_class, PROP_TOKEN,
      g_param_spec_string ("token", "Token",
          "Bearer token required from clients (and sent to the webhook)", nullptr, rw));
  g_object_class_install_property (gobject_class, PROP_WEBHOOK_URL,
      g_param_spec_string ("webhook-url", "Webhook URL",
          "http:// URL receiving one POST per event (retried with capped backoff)", nullptr, rw));
  g_object_class_install_property (gobject_class, PROP_RETENTION,
      g_param_spec_uint ("retention", "Retention",
          "Events kept in memory for resume (older ids get a gap marker)", 1, G_MAXUINT, 100000,
          rw));
  g_object_class_install_property (gobject_class, PROP_BOUND_PORT,
      g_param_spec_uint ("bound-port", "Bound port", "The port the server listens on (0: none)",
          0, 65535, 0, ro));
  g_object_class_install_property (gobject_class, PROP_PUBLISHED,
      g_param_spec_uint64 ("published", "Published", "Events this element published", 0,
          G_MAXUINT64, 0, ro));
  gst_element_class_add_static_pad_template (element_class, &sink_template);
  gst_element_class_add_static_pad_template (element_class, &src_template);
  gst_element_class_set_static_metadata (element_class, "VLM event publisher",
      "Filter/Network", "Logs vlmdescribe events durably and serves them over HTTP "
      "(SSE, WebSocket, JSON Lines, stats, dashboard) and webhooks", "gst-vlm");
  trans_class->start = GST_DEBUG_FUNCPTR (gst_vlm_publish_start);
  trans_class->stop = GST_DEBUG_FUNCPTR (gst_vlm_publish_stop);
  trans_class->sink_event = GST_DEBUG_FUNCPTR (gst_vlm_publish_sink_event);
  GST_DEBUG_CATEGORY_INIT (gst_vlm_publish_debug, "vlmpublish", 0, "vlm event publisher");
}

gboolean
gst_vlm_publish_register (GstPlugin * plugin)
{
  return gst_element_register (plugin, "vlmpublish", GST_RANK_NONE, GST_TYPE_VLM_PUBLISH);
}
