// Prometheus text exposition (format 0.0.4) of the /stats JSON: numbers become gauges named
// vlm_<key>; an object of objects (per-camera statistics) becomes series labelled key="<name>".
#include <cctype>
#include <sstream>

#include "http_server.h"

namespace vlm::net {
namespace {

std::string metric_name(const std::string& a, const std::string& b = {}) {
  std::string name = "vlm_" + a + (b.empty() ? "" : "_" + b);
  for (char& c : name)
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '_') c = '_';
  return name;
}

std::string label_value(const std::string& v) {
  std::string out;
  for (char c : v) {
    if (c == '\\' || c == '"') out += '\\';
    if (c == '\n') {
      out += "\\n";
      continue;
    }
    out += c;
  }
  return out;
}

void number(std::ostringstream& os, const nlohmann::json& v) {
  if (v.is_boolean())
    os << (v.get<bool>() ? 1 : 0);
  else
    os << v.dump();
}

}  // namespace

std::string prometheus_text(const nlohmann::json& stats) {
  std::ostringstream os;
  if (!stats.is_object()) return {};
  for (auto it = stats.begin(); it != stats.end(); ++it) {
    const nlohmann::json& v = it.value();
    if (v.is_number() || v.is_boolean()) {
      os << metric_name(it.key()) << ' ';
      number(os, v);
      os << '\n';
    } else if (v.is_object()) {
      for (auto in = v.begin(); in != v.end(); ++in) {
        if (in.value().is_number() || in.value().is_boolean()) {
          os << metric_name(it.key(), in.key()) << ' ';
          number(os, in.value());
          os << '\n';
        } else if (in.value().is_object()) {
          for (auto f = in.value().begin(); f != in.value().end(); ++f) {
            if (!f.value().is_number() && !f.value().is_boolean()) continue;
            os << metric_name(it.key(), f.key()) << "{key=\"" << label_value(in.key()) << "\"} ";
            number(os, f.value());
            os << '\n';
          }
        }
      }
    }
  }
  return os.str();
}

}  // namespace vlm::net
