// The HTML report of `vlm localize`: one self-contained file (inline CSS, PNG thumbnails as data
// URIs, no script) with a timeline per query over the whole duration — the coarse window scores
// as a heat strip and the spans as boxes — where each span links to its row in the table, which
// shows the span's first frame.
#pragma once

#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include "vlm/image.h"
#include "vlm/localize.h"

namespace vlm_cli {

// PNG bytes of an image, encoded in memory.
std::string encode_png(const vlm::ImageRgb8& image);
std::string base64_encode(const std::string& bytes);
std::string html_escape(const std::string& text);

// First frames at the given times (seconds), scaled to `width` pixels wide, as PNG data URIs.
// Decodes the file once more at `fps`; times past a decoding failure get no thumbnail.
std::map<double, std::string> span_thumbnails(const std::filesystem::path& video,
                                              std::vector<double> times, double fps, int width);

std::string localize_report_html(const vlm::LocalizeResult& result, const std::string& video,
                                 const std::map<double, std::string>& thumbnails);

}  // namespace vlm_cli
