// The vision encoder's weights (spec §2.1): every tensor looked up by its canonical name, checked
// against the exact shape the config implies, and handed to the backend once (upload_weight).
// Internal to libvlm (the encoder and its tests).
#pragma once

#include <string>
#include <vector>

#include "vlm/backend.h"
#include "vlm/checkpoint.h"
#include "vlm/config.h"

namespace vlm {

struct VisionBlockWeights {
  Tensor norm1, norm2;               // [C]
  Tensor qkv_weight, qkv_bias;       // [3C, C], [3C]
  Tensor proj_weight, proj_bias;     // [C, C], [C]
  Tensor gate_weight, gate_bias;     // [W, C], [W]   W = VisionWeights::mlp_width
  Tensor up_weight, up_bias;         // [W, C], [W]
  Tensor down_weight, down_bias;     // [C, W], [C]
  // gate|up as one weight [2W, C] and bias [2W] where the backend joins weights
  // (upload_weights_concat: CUDA), gate_* and up_* then being views of them; empty elsewhere.
  Tensor gate_up_weight, gate_up_bias;
};

struct VisionWeights {
  Tensor patch_embed;                // [C, in_ch·t·p·p]: the Conv3d kernel seen as a matrix
  std::vector<VisionBlockWeights> blocks;
  // The MLP's width as uploaded: intermediate_size, or that rounded up to the requested multiple
  // with zero rows (gate/up and their biases) and zero columns (down) beyond intermediate_size.
  int64_t mlp_width = 0;
  Tensor merger_norm;                // ln_q [C]
  Tensor merger_fc1_weight, merger_fc1_bias;  // [C·m², C·m²], [C·m²]
  Tensor merger_fc2_weight, merger_fc2_bias;  // [out, C·m²], [out]
};

// Columns of one patch row: in_channels · temporal_patch_size · patch_size².
int64_t vision_patch_dim(const VisionConfig& config);

// Checks the vision config for values the encoder cannot run with (names the field).
void validate_vision_config(const VisionConfig& config);

// Loads and validates every Qwen2.5-VL vision tensor (gate|up joined where the backend joins
// weights). A missing tensor throws NotFound and a wrong
// shape or dtype throws InvalidModel, both naming the tensor; nothing is uploaded before all passed.
// The MLP is padded to a multiple of `mlp_width_multiple` (>= 1; InvalidInput otherwise).
VisionWeights load_vision_weights(const VisionConfig& config, const Checkpoint& checkpoint,
                                  Backend& backend, int64_t mlp_width_multiple = 1);

}  // namespace vlm
