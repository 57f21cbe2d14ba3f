// Loads the decoder weights by their canonical names (spec §2.1). The config is validated first
// (head_dim consistent, GQA divisible) so a shape error points at the tensor, not the arithmetic.
#include "text/text_weights.h"

#include <string>

#include "vlm/error.h"

namespace vlm {

TextWeights load_text_weights(const TextConfig& c, const Checkpoint& checkpoint, Backend& backend) {
  VLM_CHECK(c.num_attention_heads > 0 && c.num_key_value_heads > 0 &&
                c.num_attention_heads % c.num_key_value_heads == 0,
            InvalidModel,
            "config.json: num_attention_heads " << c.num_attention_heads
                                                << " is not a multiple of num_key_value_heads "
                                                << c.num_key_value_heads);
  VLM_CHECK(c.hidden_size > 0 && c.intermediate_size > 0 && c.vocab_size > 0 && c.head_dim > 0 &&
                c.num_hidden_layers > 0,
            InvalidModel, "config.json: text dimensions must be positive");
  const int64_t H = c.hidden_size, F = c.intermediate_size, V = c.vocab_size;
  const int64_t q_rows = int64_t{c.num_attention_heads} * c.head_dim;
  const int64_t kv_rows = int64_t{c.num_key_value_heads} * c.head_dim;
  auto get = [&](const std::string& name, std::vector<int64_t> shape) {
    return backend.upload_weight(checkpoint.tensor(name, shape));
  };

  TextWeights w;
  w.embed_tokens = get("model.embed_tokens.weight", {V, H});
  w.layers.resize(static_cast<size_t>(c.num_hidden_layers));
  for (int i = 0; i < c.num_hidden_layers; ++i) {
    const std::string p = "model.layers." + std::to_string(i) + ".";
    TextLayerWeights& l = w.layers[static_cast<size_t>(i)];
    l.input_norm = get(p + "input_layernorm.weight", {H});
    l.q_w = get(p + "self_attn.q_proj.weight", {q_rows, H});
    l.q_b = get(p + "self_attn.q_proj.bias", {q_rows});
    l.k_w = get(p + "self_attn.k_proj.weight", {kv_rows, H});
    l.k_b = get(p + "self_attn.k_proj.bias", {kv_rows});
    l.v_w = get(p + "self_attn.v_proj.weight", {kv_rows, H});
    l.v_b = get(p + "self_attn.v_proj.bias", {kv_rows});
    l.o_w = get(p + "self_attn.o_proj.weight", {H, q_rows});
    l.post_norm = get(p + "post_attention_layernorm.weight", {H});
    l.gate_w = get(p + "mlp.gate_proj.weight", {F, H});
    l.up_w = get(p + "mlp.up_proj.weight", {F, H});
    l.down_w = get(p + "mlp.down_proj.weight", {H, F});
  }
  w.final_norm = get("model.norm.weight", {H});
  if (c.tie_word_embeddings) {
    w.lm_head = w.embed_tokens;
  } else {
    VLM_CHECK(checkpoint.contains("lm_head.weight"), NotFound,
              "lm_head.weight is missing from " << checkpoint.dir().string()
                                                << " and config.json says tie_word_embeddings=false");
    w.lm_head = get("lm_head.weight", {V, H});
  }
  return w;
}

}  // namespace vlm
