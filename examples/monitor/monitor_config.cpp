// Config parsing for vlm-monitor: strict types, positive durations/rates, unique camera names,
// unknown top-level keys rejected (typos would otherwise be silently ignored).
#include "monitor_config.h"

#include <fstream>
#include <set>
#include <sstream>

#include "vlm/error.h"

namespace vlm::monitor {
namespace {

using nlohmann::json;

const json* member(const json& obj, const char* key, const std::string& where, json::value_t type) {
  auto it = obj.find(key);
  if (it == obj.end() || it->is_null()) return nullptr;
  const bool ok = type == json::value_t::number_float ? it->is_number() : it->type() == type ||
      (type == json::value_t::number_unsigned && it->is_number_unsigned());
  VLM_CHECK(ok, InvalidInput, "monitor config: " << where << key << " has the wrong type ("
                                                 << it->type_name() << ")");
  return &*it;
}

std::string string_or(const json& obj, const char* key, const std::string& where, std::string def) {
  const json* v = member(obj, key, where, json::value_t::string);
  return v ? v->get<std::string>() : def;
}

double positive_or(const json& obj, const char* key, const std::string& where, double def) {
  const json* v = member(obj, key, where, json::value_t::number_float);
  if (!v) return def;
  const double d = v->get<double>();
  VLM_CHECK(d > 0 && d < 1e9, InvalidInput, "monitor config: " << where << key << " must be > 0");
  return d;
}

std::chrono::milliseconds ms_or(const json& obj, const char* key, const std::string& where,
                                std::chrono::milliseconds def) {
  const double d = positive_or(obj, key, where, static_cast<double>(def.count()));
  return std::chrono::milliseconds(static_cast<int64_t>(d));
}

void check_keys(const json& obj, const std::set<std::string>& allowed, const std::string& where) {
  for (auto it = obj.begin(); it != obj.end(); ++it)
    VLM_CHECK(allowed.count(it.key()), InvalidInput,
              "monitor config: unknown key " << where << it.key());
}

CameraConfig camera_from(const json& c, const CameraConfig& defaults, const std::string& where) {
  VLM_CHECK(c.is_object(), InvalidInput, "monitor config: " << where << " must be an object");
  check_keys(c, {"name", "url", "prompt", "task", "sample_fps", "window", "stride", "describe"}, where);
  CameraConfig cam = defaults;
  cam.name = string_or(c, "name", where, defaults.name);
  cam.url = string_or(c, "url", where, defaults.url);
  cam.prompt = string_or(c, "prompt", where, defaults.prompt);
  cam.task = string_or(c, "task", where, defaults.task);
  cam.sample_fps = positive_or(c, "sample_fps", where, defaults.sample_fps);
  cam.window = positive_or(c, "window", where, defaults.window);
  cam.stride = positive_or(c, "stride", where, defaults.stride);
  if (const json* d = member(c, "describe", where, json::value_t::object))
    for (auto it = d->begin(); it != d->end(); ++it)
      cam.describe[it.key()] = it->is_string() ? it->get<std::string>() : it->dump();
  return cam;
}

}  // namespace

MonitorConfig parse_monitor_config(const std::string& text) {
  const json j = json::parse(text, nullptr, false);
  VLM_CHECK(!j.is_discarded(), InvalidInput, "monitor config: not valid JSON");
  VLM_CHECK(j.is_object(), InvalidInput, "monitor config: the top level must be an object");
  check_keys(j, {"model", "device", "log", "retention", "server", "webhook", "backoff",
                 "stall_timeout_ms", "drain_timeout_ms", "defaults", "cameras"}, "");
  MonitorConfig m;
  m.model = string_or(j, "model", "", "");
  VLM_CHECK(!m.model.empty(), InvalidInput, "monitor config: model (a checkpoint folder) is required");
  m.device = string_or(j, "device", "", "cpu");
  m.publisher.log_path = string_or(j, "log", "", "");
  VLM_CHECK(!m.publisher.log_path.empty(), InvalidInput, "monitor config: log (the event log path) is required");
  m.publisher.retention = static_cast<size_t>(positive_or(j, "retention", "", 100000));
  if (const json* s = member(j, "server", "", json::value_t::object)) {
    check_keys(*s, {"enabled", "address", "port", "token", "max_connections", "idle_timeout_ms"}, "server.");
    if (const json* e = member(*s, "enabled", "server.", json::value_t::boolean)) m.publisher.serve = e->get<bool>();
    m.publisher.server.address = string_or(*s, "address", "server.", "127.0.0.1");
    if (const json* p = member(*s, "port", "server.", json::value_t::number_unsigned)) {
      VLM_CHECK(p->get<uint64_t>() <= 65535, InvalidInput, "monitor config: server.port must be <= 65535");
      m.publisher.server.port = static_cast<uint16_t>(p->get<uint64_t>());
    }
    m.publisher.server.token = string_or(*s, "token", "server.", "");
    m.publisher.server.max_connections = static_cast<size_t>(
        positive_or(*s, "max_connections", "server.", static_cast<double>(m.publisher.server.max_connections)));
    m.publisher.server.idle_timeout = ms_or(*s, "idle_timeout_ms", "server.", m.publisher.server.idle_timeout);
  }
  if (const json* w = member(j, "webhook", "", json::value_t::object)) {
    check_keys(*w, {"url", "token"}, "webhook.");
    m.publisher.webhook.url = string_or(*w, "url", "webhook.", "");
    m.publisher.webhook.token = string_or(*w, "token", "webhook.", "");
    if (!m.publisher.webhook.url.empty()) net::parse_http_url(m.publisher.webhook.url);
  }
  if (const json* b = member(j, "backoff", "", json::value_t::object)) {
    check_keys(*b, {"initial_ms", "max_ms"}, "backoff.");
    m.backoff_initial = ms_or(*b, "initial_ms", "backoff.", m.backoff_initial);
    m.backoff_max = ms_or(*b, "max_ms", "backoff.", m.backoff_max);
    VLM_CHECK(m.backoff_max >= m.backoff_initial, InvalidInput,
              "monitor config: backoff.max_ms must be >= backoff.initial_ms");
  }
  m.stall_timeout = ms_or(j, "stall_timeout_ms", "", m.stall_timeout);
  m.drain_timeout = ms_or(j, "drain_timeout_ms", "", m.drain_timeout);
  CameraConfig defaults;
  if (const json* d = member(j, "defaults", "", json::value_t::object))
    defaults = camera_from(*d, defaults, "defaults.");
  const json* cams = member(j, "cameras", "", json::value_t::array);
  VLM_CHECK(cams && !cams->empty(), InvalidInput, "monitor config: cameras must be a non-empty array");
  std::set<std::string> names;
  for (size_t i = 0; i < cams->size(); ++i) {
    const std::string where = "cameras[" + std::to_string(i) + "].";
    CameraConfig cam = camera_from((*cams)[i], defaults, where);
    VLM_CHECK(!cam.name.empty(), InvalidInput, "monitor config: " << where << "name is required");
    VLM_CHECK(cam.name.find_first_of(" !\"'\\") == std::string::npos, InvalidInput,
              "monitor config: " << where << "name may not contain spaces, quotes or '!'");
    VLM_CHECK(!cam.url.empty(), InvalidInput, "monitor config: " << where << "url is required");
    VLM_CHECK(names.insert(cam.name).second, InvalidInput,
              "monitor config: " << where << "name '" << cam.name << "' is used twice");
    m.cameras.push_back(std::move(cam));
  }
  return m;
}

MonitorConfig load_monitor_config(const std::string& path) {
  std::ifstream in(path);
  VLM_CHECK(in, NotFound, "monitor config " << path << ": cannot open");
  std::stringstream ss;
  ss << in.rdbuf();
  try {
    return parse_monitor_config(ss.str());
  } catch (const vlm::Error& e) {
    VLM_THROW(InvalidInput, path << ": " << e.message());
  }
}

}  // namespace vlm::monitor
