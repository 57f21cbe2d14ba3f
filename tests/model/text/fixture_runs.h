// Reads the reference fixtures of tests/fixtures/models (index.json → per-run manifests and raw
// little-endian arrays) for the decoder and engine tests. Header-only: shared by two test programs.
#pragma once

#include <gtest/gtest.h>

#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "vlm/engine.h"

namespace vlm::testing {

namespace fs = std::filesystem;

inline fs::path models_root() {
  const char* env = std::getenv("VLM_FIXTURES");
  return env ? fs::path(env) / "models" : fs::path();
}

inline nlohmann::json read_json(const fs::path& path) {
  std::ifstream in(path);
  if (!in) throw std::runtime_error("cannot open " + path.string());
  return nlohmann::json::parse(in);
}

struct FixtureRun {
  std::string checkpoint, case_name;
  fs::path checkpoint_dir;
  nlohmann::json run;       // refs/<checkpoint>/<case>/manifest.json
  nlohmann::json the_case;  // cases/<case>/case.json
  bool has(const std::string& array) const {
    return run["arrays"].contains(array) || the_case["arrays"].contains(array);
  }
  std::string label() const { return checkpoint + "/" + case_name; }
};

inline std::vector<FixtureRun> list_runs() {
  std::vector<FixtureRun> runs;
  const fs::path root = models_root();
  if (root.empty() || !fs::exists(root / "index.json")) return runs;
  const nlohmann::json index = read_json(root / "index.json");
  for (const auto& entry : index["runs"]) {
    FixtureRun r;
    r.checkpoint = entry["checkpoint"];
    r.case_name = entry["case"];
    r.checkpoint_dir = root / r.checkpoint;
    r.run = read_json(root / entry["manifest"].get<std::string>());
    r.the_case = read_json(root / r.run["case_manifest"].get<std::string>());
    runs.push_back(std::move(r));
  }
  return runs;
}

// An array of the run (or of its case) converted to T; int64 and float32 files are supported.
template <typename T>
std::vector<T> read_array(const FixtureRun& r, const std::string& name) {
  const nlohmann::json& spec =
      r.run["arrays"].contains(name) ? r.run["arrays"][name] : r.the_case["arrays"].at(name);
  size_t count = 1;
  for (const auto& d : spec["shape"]) count *= d.get<size_t>();
  const std::string dtype = spec["dtype"];
  std::ifstream in(models_root() / spec["file"].get<std::string>(), std::ios::binary);
  if (!in) throw std::runtime_error("cannot open array " + name + " of " + r.label());
  std::vector<T> out(count);
  if (dtype == "int64") {
    std::vector<int64_t> raw(count);
    in.read(reinterpret_cast<char*>(raw.data()), static_cast<std::streamsize>(count * 8));
    for (size_t i = 0; i < count; ++i) out[i] = static_cast<T>(raw[i]);
  } else if (dtype == "float32") {
    std::vector<float> raw(count);
    in.read(reinterpret_cast<char*>(raw.data()), static_cast<std::streamsize>(count * 4));
    for (size_t i = 0; i < count; ++i) out[i] = static_cast<T>(raw[i]);
  } else {
    throw std::runtime_error("unsupported dtype " + dtype + " of " + name);
  }
  if (!in) throw std::runtime_error("short array file for " + name + " of " + r.label());
  return out;
}

inline std::vector<GridThw> read_grids(const FixtureRun& r, const std::string& name) {
  std::vector<GridThw> grids;
  if (!r.has(name)) return grids;
  const auto flat = read_array<int64_t>(r, name);
  for (size_t i = 0; i + 2 < flat.size(); i += 3) grids.push_back({flat[i], flat[i + 1], flat[i + 2]});
  return grids;
}

// The case's images and videos as engine VisionItems, in prompt order.
inline std::vector<VisionItem> vision_items(const FixtureRun& r) {
  const auto image_grids = read_grids(r, "image_grid_thw");
  const auto video_grids = read_grids(r, "video_grid_thw");
  std::vector<float> image_pixels, video_pixels, seconds;
  if (!image_grids.empty()) image_pixels = read_array<float>(r, "pixel_values");
  if (!video_grids.empty()) video_pixels = read_array<float>(r, "pixel_values_videos");
  if (r.has("second_per_grid_ts")) seconds = read_array<float>(r, "second_per_grid_ts");
  std::vector<VisionItem> items;
  size_t next_image = 0, next_video = 0, image_row = 0, video_row = 0;
  const size_t row = 1176;
  for (const auto& message : r.the_case["messages"]) {
    if (!message["content"].is_array()) continue;
    for (const auto& part : message["content"]) {
      const std::string type = part["type"];
      if (type != "image" && type != "video") continue;
      VisionItem item;
      item.is_video = type == "video";
      const GridThw grid = item.is_video ? video_grids.at(next_video) : image_grids.at(next_image);
      const auto& pixels = item.is_video ? video_pixels : image_pixels;
      size_t& at = item.is_video ? video_row : image_row;
      const size_t n = static_cast<size_t>(grid.patches());
      item.input.grid = grid;
      item.input.pixel_values.assign(pixels.begin() + static_cast<std::ptrdiff_t>(at * row),
                                     pixels.begin() + static_cast<std::ptrdiff_t>((at + n) * row));
      at += n;
      if (item.is_video) {
        item.input.second_per_grid_t = next_video < seconds.size() ? seconds[next_video] : 1.0f;
        ++next_video;
      } else {
        ++next_image;
      }
      items.push_back(std::move(item));
    }
  }
  return items;
}

// max |a − b| / max |b|: the parity measure of the issue (relative to the largest magnitude).
inline double relative_to_max(const std::vector<float>& a, const std::vector<float>& b) {
  double max_ref = 0.0, max_diff = 0.0;
  for (size_t i = 0; i < b.size(); ++i) {
    max_ref = std::max(max_ref, std::abs(static_cast<double>(b[i])));
    max_diff = std::max(max_diff, std::abs(static_cast<double>(a[i]) - b[i]));
  }
  return max_ref > 0 ? max_diff / max_ref : max_diff;
}

}  // namespace vlm::testing
