// The Qwen2 decoder's weights (spec §2.1 names and shapes), taken from a Checkpoint with every
// shape checked against the config and handed to the backend once. A tied checkpoint (3B) uses
// model.embed_tokens.weight as lm_head.
#pragma once

#include <vector>

#include "vlm/backend.h"
#include "vlm/checkpoint.h"
#include "vlm/config.h"

namespace vlm {

struct TextLayerWeights {
  Tensor input_norm;                 // [H]
  Tensor q_w, q_b, k_w, k_b, v_w, v_b;  // [nh·hd, H] / [nh·hd]; [nkv·hd, H] / [nkv·hd]
  Tensor o_w;                        // [H, nh·hd], no bias
  Tensor post_norm;                  // [H]
  Tensor gate_w, up_w, down_w;       // [F, H], [F, H], [H, F], no biases
  // Where the backend concatenates weights (Backend::upload_weights_concat; CUDA): q/k/v rows in
  // one weight and bias, gate/up rows in one weight, and the parts above are views of them, so a
  // single-token step runs one GEMM for each. Empty otherwise (CPU: zero-copy checkpoint views).
  Tensor qkv_w, qkv_b;               // [(nh + 2·nkv)·hd, H] / [(nh + 2·nkv)·hd]
  Tensor gate_up_w;                  // [2F, H]
};

struct TextWeights {
  Tensor embed_tokens;  // [V, H]
  std::vector<TextLayerWeights> layers;
  Tensor final_norm;    // [H]
  Tensor lm_head;       // [V, H]
};

// Throws NotFound naming a missing tensor, InvalidModel naming a tensor of the wrong shape.
TextWeights load_text_weights(const TextConfig& config, const Checkpoint& checkpoint, Backend& backend);

}  // namespace vlm
