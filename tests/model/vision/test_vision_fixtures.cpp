// Parity of the vision encoder with the reference implementation (transformers 4.51.3, fp32,
// eager attention) on the tiny checkpoints of tests/fixtures/models/: for every reference run with
// images or videos, the window index and window/frame segments must equal HF's exactly, and the
// encoder output must be within 1e-4 of HF's relative to the largest magnitude. The bf16 checkpoint's
// reference is HF in fp32 on the same (exactly upcast) weights; its error is printed and held to
// 1e-4 with f32 activations (the same arithmetic) or 2e-2 with bf16 activations.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <tuple>
#include <string>
#include <vector>

#include "vlm/backend.h"
#include "vlm/checkpoint.h"
#include "vlm/config.h"
#include "vlm/vision_encoder.h"

namespace vlm {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

fs::path models_dir() {
  const char* root = std::getenv("VLM_FIXTURES");
  return fs::path(root != nullptr ? root : "tests/fixtures") / "models";
}

json read_json(const fs::path& path) {
  std::ifstream in(path);
  if (!in) throw std::runtime_error("cannot read " + path.string());
  return json::parse(in);
}

template <typename T>
std::vector<T> read_array(const json& entry, const char* dtype) {
  if (entry.at("dtype").get<std::string>() != dtype) {
    throw std::runtime_error("array " + entry.at("file").get<std::string>() + " is not " + dtype);
  }
  const fs::path path = models_dir() / entry.at("file").get<std::string>();
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::runtime_error("cannot read " + path.string());
  size_t count = 1;
  for (const auto& d : entry.at("shape")) count *= d.get<size_t>();
  std::vector<T> values(count);
  in.read(reinterpret_cast<char*>(values.data()), static_cast<std::streamsize>(count * sizeof(T)));
  if (!in) throw std::runtime_error("short file " + path.string());
  return values;
}

// One vision call of a reference run: the images or the videos of a prompt.
struct VisionCall {
  std::string label;  // "tiny-a/image_one/images"
  std::string checkpoint;
  std::string storage_dtype;
  std::vector<float> pixels;
  std::vector<GridThw> grids;
  std::vector<int64_t> window_index, cu_window_seqlens, cu_seqlens;
  std::vector<float> reference;  // HF fp32 output [Σ units, out]
  std::vector<int64_t> reference_shape;
  double hf_bf16_error = -1;  // HF's own bf16 run vs its fp32 run, when recorded
};

std::vector<VisionCall> load_vision_calls() {
  const json index = read_json(models_dir() / "index.json");
  std::map<std::string, std::string> storage;
  for (const json& c : index.at("checkpoints")) {
    storage[c.at("name").get<std::string>()] = c.at("storage_dtype").get<std::string>();
  }
  std::vector<VisionCall> calls;
  for (const json& run : index.at("runs")) {
    const json manifest = read_json(models_dir() / run.at("manifest").get<std::string>());
    const json case_manifest = read_json(models_dir() / manifest.at("case_manifest").get<std::string>());
    const json& arrays = manifest.at("arrays");
    const json& inputs = case_manifest.at("arrays");
    for (const auto& [prefix, pixel_key, grid_key] :
         {std::tuple<std::string, std::string, std::string>{"images", "pixel_values", "image_grid_thw"},
          {"videos", "pixel_values_videos", "video_grid_thw"}}) {
      if (!arrays.contains(prefix + "_vision_out")) continue;
      VisionCall call;
      call.checkpoint = manifest.at("checkpoint").get<std::string>();
      call.label = call.checkpoint + "/" + manifest.at("case").get<std::string>() + "/" + prefix;
      call.storage_dtype = storage.at(call.checkpoint);
      call.pixels = read_array<float>(inputs.at(pixel_key), "float32");
      const std::vector<int64_t> thw = read_array<int64_t>(inputs.at(grid_key), "int64");
      for (size_t i = 0; i + 3 <= thw.size(); i += 3) {
        call.grids.push_back({thw[i], thw[i + 1], thw[i + 2]});
      }
      call.window_index = read_array<int64_t>(arrays.at(prefix + "_window_index"), "int64");
      call.cu_window_seqlens = read_array<int64_t>(arrays.at(prefix + "_cu_window_seqlens"), "int64");
      call.cu_seqlens = read_array<int64_t>(arrays.at(prefix + "_cu_seqlens"), "int64");
      call.reference = read_array<float>(arrays.at(prefix + "_vision_out"), "float32");
      call.reference_shape = arrays.at(prefix + "_vision_out").at("shape").get<std::vector<int64_t>>();
      if (manifest.contains("hf_bf16_run")) {
        const json& bf16 = manifest.at("hf_bf16_run");
        const std::string key = prefix + "_vision_out_rel_err_vs_fp32";
        if (bf16.contains(key)) call.hf_bf16_error = bf16.at(key).get<double>();
      }
      calls.push_back(std::move(call));
    }
  }
  return calls;
}

std::vector<int32_t> to_int32(const std::vector<int64_t>& v) {
  return std::vector<int32_t>(v.begin(), v.end());
}

TEST(VisionFixtures, FixturesCoverImagesVideosAndBothStorageDtypes) {
  const std::vector<VisionCall> calls = load_vision_calls();
  bool image = false, video = false, several = false, bf16 = false, f32 = false;
  for (const VisionCall& c : calls) {
    image = image || c.label.ends_with("/images");
    video = video || c.label.ends_with("/videos");
    several = several || c.grids.size() > 1;
    bf16 = bf16 || c.storage_dtype == "bfloat16";
    f32 = f32 || c.storage_dtype == "float32";
  }
  EXPECT_TRUE(image && video && several && bf16 && f32)
      << "fixture set lacks images/videos/multi-item calls/bf16/f32 checkpoints";
}

TEST(VisionFixtures, WindowIndexAndSegmentsEqualReference) {
  for (const VisionCall& call : load_vision_calls()) {
    SCOPED_TRACE(call.label);
    const ModelConfig config = load_model_config(models_dir() / call.checkpoint / "config.json");
    const WindowIndex w = compute_window_index(call.grids, config.vision.window_merged(),
                                               config.vision.spatial_merge_size);
    EXPECT_EQ(w.window_index, to_int32(call.window_index));
    EXPECT_EQ(w.cu_window_seqlens, to_int32(call.cu_window_seqlens));
    EXPECT_EQ(full_attention_cu_seqlens(call.grids), to_int32(call.cu_seqlens));
  }
}

TEST(VisionFixtures, EncoderOutputMatchesReference) {
  std::unique_ptr<Backend> backend = make_cpu_backend(2);
  std::map<std::string, std::unique_ptr<VisionEncoder>> encoders;
  std::map<std::string, Checkpoint> checkpoints;
  size_t compared = 0;
  for (const VisionCall& call : load_vision_calls()) {
    SCOPED_TRACE(call.label);
    if (!encoders.count(call.checkpoint)) {
      const fs::path dir = models_dir() / call.checkpoint;
      const ModelConfig config = load_model_config(dir / "config.json");
      checkpoints.emplace(call.checkpoint, Checkpoint::open(dir));
      encoders[call.checkpoint] =
          std::make_unique<VisionEncoder>(config, checkpoints.at(call.checkpoint), *backend);
    }
    const Tensor out = encoders.at(call.checkpoint)->encode(call.pixels, call.grids);
    ASSERT_EQ(out.shape(), call.reference_shape);
    const std::vector<float> got = backend->to_host_f32(out);
    double peak = 0, err = 0;
    for (size_t i = 0; i < got.size(); ++i) {
      peak = std::max(peak, std::abs(static_cast<double>(call.reference[i])));
      err = std::max(err, std::abs(static_cast<double>(got[i]) - call.reference[i]));
    }
    const double relative = err / peak;
    const bool bf16 = call.storage_dtype == "bfloat16";
    const bool f32_activations = backend->activation_dtype() == DType::F32;
    const double tolerance = (!bf16 || f32_activations) ? 1e-4 : 2e-2;
    const std::string note =
        call.hf_bf16_error >= 0 ? " [HF's own bf16 run: " + std::to_string(call.hf_bf16_error) + "]" : "";
    std::printf("[vision] %-34s %-8s weights, %s activations: max error / peak = %.3g (tolerance %.0e)%s\n",
                call.label.c_str(), call.storage_dtype.c_str(), dtype_name(backend->activation_dtype()),
                relative, tolerance, note.c_str());
    EXPECT_LT(relative, tolerance);
    ++compared;
  }
  EXPECT_GT(compared, 0u);
}

}  // namespace
}  // namespace vlm
