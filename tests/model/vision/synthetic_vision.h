// Test helpers: a small random Qwen2.5-VL vision checkpoint written with SafetensorsWriter, and an
// independent naive forward pass (double precision, plain loops) used as a second reference next
// to the HF fixtures. The naive pass never permutes rows: it realises window and frame attention as
// a mask over the original patch order, computed from each patch's coordinates (llama.cpp's
// formulation), so it shares no index code with the encoder under test.
#pragma once

#include <cstdint>
#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include "vlm/config.h"
#include "vlm/dtype.h"
#include "vlm/preprocess.h"

namespace vlm::test {

struct HostTensor {
  std::vector<int64_t> shape;
  std::vector<float> values;  // already rounded to the stored dtype
};

using HostWeights = std::map<std::string, HostTensor>;

// A tiny vision config (patch 2, merge 2, window of 2 merged units, 3 blocks, block 1 full).
ModelConfig tiny_vision_config();

// Random weights with the exact shapes of spec §2.1 for `config`, rounded to `dtype`.
HostWeights random_vision_weights(const VisionConfig& config, DType dtype, uint32_t seed);

// Writes `weights` as `dtype` to dir/model.safetensors, names prefixed with `prefix` ("visual."
// or "model.visual."); entries named in `skip` are left out.
void write_checkpoint(const std::filesystem::path& dir, const HostWeights& weights, DType dtype,
                      const std::string& prefix = "visual.",
                      const std::vector<std::string>& skip = {});

// A fresh, empty folder under the system temp dir, named after the running test.
std::filesystem::path fresh_temp_dir(const std::string& tag);

// Random pixel rows for `grids` ([Σ patches, patch_dim]).
std::vector<float> random_pixels(const std::vector<GridThw>& grids, int64_t patch_dim, uint32_t seed);

// Naive double-precision forward of the Qwen2.5-VL encoder; output [Σ units, out] in token order.
std::vector<double> naive_vision_forward(const VisionConfig& config, const HostWeights& weights,
                                         const std::vector<float>& pixels,
                                         const std::vector<GridThw>& grids);

}  // namespace vlm::test
