// HTML report and thumbnails for `vlm localize` (see localize_report.h). Positions on the timeline
// are percentages of the duration, so the page scales with the window; the clickable boxes use
// plain anchors and the :target style, so the file works offline and without JavaScript.
#include "localize_report.h"

#include <stb/stb_image_write.h>

#include <algorithm>
#include <cstdio>

#include "localize_progress.h"
#include "video_decode.h"
#include "vlm/preprocess.h"

namespace vlm_cli {
namespace {

void append_bytes(void* context, void* data, int size) {
  static_cast<std::string*>(context)->append(static_cast<const char*>(data), static_cast<size_t>(size));
}

std::string percent(double value, double total) {
  char buffer[32];
  std::snprintf(buffer, sizeof buffer, "%.4f%%", total > 0 ? std::clamp(value / total, 0.0, 1.0) * 100 : 0.0);
  return buffer;
}

std::string fixed(double value, int digits) {
  char buffer[48];
  std::snprintf(buffer, sizeof buffer, "%.*f", digits, value);
  return buffer;
}

constexpr const char* kStyle = R"(
body{font:14px/1.4 system-ui,sans-serif;margin:24px;color:#222}
h1{font-size:20px} h2{font-size:16px;margin:24px 0 6px}
.timeline{position:relative;height:34px;background:#f1f1f1;border:1px solid #ccc;border-radius:3px}
.heat{position:absolute;top:0;height:10px;background:#e8a33d}
.span{position:absolute;top:12px;height:20px;background:#2f6fd6;border-radius:2px;min-width:3px}
.span:hover{background:#163f8a}
.axis{display:flex;justify-content:space-between;font-size:11px;color:#666}
table{border-collapse:collapse;margin-top:8px} td,th{border:1px solid #ddd;padding:4px 8px;text-align:left;vertical-align:top}
tr:target{background:#fff4c2;outline:2px solid #e8a33d}
img{display:block;max-width:192px}
.warn{background:#ffe3e3;border:1px solid #d66;padding:8px}
)";

// The HTML id of query q's span s ("q0s1"). Built by appends: GCC 12 at -O3 warns falsely
// (-Wrestrict, in char_traits) on "literal" + std::string temporaries here.
std::string span_anchor(size_t q, size_t s) {
  std::string id = "q";
  id += std::to_string(q);
  id += 's';
  id += std::to_string(s);
  return id;
}

}  // namespace

std::string encode_png(const vlm::ImageRgb8& image) {
  std::string bytes;
  stbi_write_png_to_func(append_bytes, &bytes, image.width, image.height, 3, image.pixels.data(),
                         image.width * 3);
  return bytes;
}

std::string base64_encode(const std::string& bytes) {
  static const char kAlphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  out.reserve((bytes.size() + 2) / 3 * 4);
  for (size_t i = 0; i < bytes.size(); i += 3) {
    uint32_t n = static_cast<uint8_t>(bytes[i]) << 16;
    if (i + 1 < bytes.size()) n |= static_cast<uint8_t>(bytes[i + 1]) << 8;
    if (i + 2 < bytes.size()) n |= static_cast<uint8_t>(bytes[i + 2]);
    out += kAlphabet[(n >> 18) & 63];
    out += kAlphabet[(n >> 12) & 63];
    out += i + 1 < bytes.size() ? kAlphabet[(n >> 6) & 63] : '=';
    out += i + 2 < bytes.size() ? kAlphabet[n & 63] : '=';
  }
  return out;
}

std::string html_escape(const std::string& text) {
  std::string out;
  for (char c : text) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      case '\'': out += "&#39;"; break;
      default:  // control characters (model noise) are not allowed in HTML text
        out += static_cast<unsigned char>(c) < 0x20 && c != '\n' && c != '\t' ? ' ' : c;
    }
  }
  return out;
}

std::map<double, std::string> span_thumbnails(const std::filesystem::path& video,
                                              std::vector<double> times, double fps, int width) {
  std::sort(times.begin(), times.end());
  times.erase(std::unique(times.begin(), times.end()), times.end());
  std::map<double, std::string> thumbnails;
  if (times.empty()) return thumbnails;
  size_t next = 0;
  try {
    decode_video_sampled(video, fps, [&](SampledFrame&& frame) {
      double seconds = static_cast<double>(frame.pts_ns) / 1e9;
      // The first sampled frame at or after the time (half a sample early counts: grid rounding).
      if (seconds + 0.5 / fps < times[next]) return true;
      int w = std::min(width, frame.image.width);
      int h = std::max(1, static_cast<int>(static_cast<int64_t>(frame.image.height) * w / frame.image.width));
      std::string uri = "data:image/png;base64," +
                        base64_encode(encode_png(vlm::resize_bicubic(frame.image, w, h)));
      while (next < times.size() && seconds + 0.5 / fps >= times[next]) thumbnails[times[next++]] = uri;
      return next < times.size();
    });
  } catch (const std::exception&) {
    // Damaged file: spans before the damage keep their thumbnails, the others go without.
  }
  return thumbnails;
}

std::string localize_report_html(const vlm::LocalizeResult& result, const std::string& video,
                                 const std::map<double, std::string>& thumbnails) {
  const double total = result.duration_seconds;
  std::string name = std::filesystem::path(video).filename().string();
  std::string html = "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\n<title>vlm localize: " +
                     html_escape(name) + "</title>\n<style>" + kStyle + "</style></head><body>\n";
  html += "<h1>Events in " + html_escape(name) + "</h1>\n<p>Duration " + format_clock(total) + " (" +
          fixed(total, 1) + " s), " + std::to_string(result.queries.size()) + " queries, " +
          std::to_string(result.windows.size()) + " coarse windows.</p>\n";
  if (!result.complete) {
    html += "<p class=\"warn\">Decoding stopped at " + fixed(result.decoded_until_seconds, 1) +
            " s: " + html_escape(result.decode_error) + ". Spans after that point are missing.</p>\n";
  }
  for (size_t q = 0; q < result.queries.size(); ++q) {
    const vlm::QueryResult& query = result.queries[q];
    html += "<section><h2>" + html_escape(query.query) + "</h2>\n<div class=\"timeline\">";
    for (const vlm::WindowScore& w : result.windows) {
      if (q >= w.scores.size() || w.scores[q] < 0.05) continue;
      html += "<div class=\"heat\" style=\"left:" + percent(w.start, total) + ";width:" +
              percent(std::min(w.end, total) - w.start, total) + ";opacity:" + fixed(w.scores[q] * 0.6, 3) +
              "\"></div>";
    }
    for (size_t s = 0; s < query.spans.size(); ++s) {
      const vlm::LocalizedSpan& span = query.spans[s];
      const std::string id = span_anchor(q, s);
      html += "<a class=\"span\" href=\"#" + id + "\" title=\"" + fixed(span.start, 2) + "–" +
              fixed(span.end, 2) + " s, score " + fixed(span.score, 3) + "\" style=\"left:" +
              percent(span.start, total) + ";width:" + percent(span.end - span.start, total) + "\"></a>";
    }
    html += "</div>\n<div class=\"axis\"><span>0:00</span><span>" + format_clock(total / 2) +
            "</span><span>" + format_clock(total) + "</span></div>\n";
    html += "<table><tr><th>#</th><th>start</th><th>end</th><th>score</th><th>first frame</th><th>text</th></tr>\n";
    for (size_t s = 0; s < query.spans.size(); ++s) {
      const vlm::LocalizedSpan& span = query.spans[s];
      const std::string id = span_anchor(q, s);
      auto thumb = thumbnails.find(span.start);
      html += "<tr id=\"" + id + "\"><td>" + std::to_string(s + 1) + "</td><td>" + format_clock(span.start) +
              " (" + fixed(span.start, 2) + " s)</td><td>" + format_clock(span.end) + " (" +
              fixed(span.end, 2) + " s)</td><td>" + fixed(span.score, 3) + "</td><td>" +
              (thumb != thumbnails.end() ? "<img alt=\"frame at " + fixed(span.start, 2) + " s\" src=\"" +
                                               thumb->second + "\">"
                                         : std::string("—")) +
              "</td><td>" + html_escape(span.text) + "</td></tr>\n";
    }
    html += "</table></section>\n";
  }
  html += "</body></html>\n";
  return html;
}

}  // namespace vlm_cli
