// Loads the decoder weights by their canonical names (spec §2.1). The config is validated first
// (head_dim consistent, GQA divisible) so a shape error points at the tensor, not the arithmetic.
// q/k/v and gate/up are uploaded as one weight each where the backend concatenates (text_weights.h).
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
  // Uploads named [rows_i, cols] weights or [rows_i] biases as one tensor (Backend::upload_joined),
  // or returns an empty tensor where the backend keeps them apart.
  auto get_concat = [&](const std::vector<std::string>& names, const std::vector<int64_t>& rows,
                        int64_t cols, bool is_bias) {
    std::vector<Tensor> hosts;
    for (size_t i = 0; i < names.size(); ++i) {
      hosts.push_back(checkpoint.tensor(names[i], is_bias ? std::vector<int64_t>{rows[i]}
                                                          : std::vector<int64_t>{rows[i], cols}));
    }
    return backend.upload_joined(hosts);
  };

  TextWeights w;
  w.embed_tokens = get("model.embed_tokens.weight", {V, H});
  w.layers.resize(static_cast<size_t>(c.num_hidden_layers));
  for (int i = 0; i < c.num_hidden_layers; ++i) {
    const std::string p = "model.layers." + std::to_string(i) + ".";
    TextLayerWeights& l = w.layers[static_cast<size_t>(i)];
    l.input_norm = get(p + "input_layernorm.weight", {H});
    const std::string a = p + "self_attn.";
    const std::vector<int64_t> qkv_rows = {q_rows, kv_rows, kv_rows};
    l.qkv_w = get_concat({a + "q_proj.weight", a + "k_proj.weight", a + "v_proj.weight"}, qkv_rows, H, false);
    if (!l.qkv_w.empty()) {
      l.qkv_b = get_concat({a + "q_proj.bias", a + "k_proj.bias", a + "v_proj.bias"}, qkv_rows, 1, true);
      l.q_w = l.qkv_w.slice_rows(0, q_rows);
      l.k_w = l.qkv_w.slice_rows(q_rows, kv_rows);
      l.v_w = l.qkv_w.slice_rows(q_rows + kv_rows, kv_rows);
      VLM_CHECK(!l.qkv_b.empty(), Internal, "text weights: the backend joined q/k/v weights but not their biases");
      l.q_b = l.qkv_b.slice_rows(0, q_rows);
      l.k_b = l.qkv_b.slice_rows(q_rows, kv_rows);
      l.v_b = l.qkv_b.slice_rows(q_rows + kv_rows, kv_rows);
    } else {
      l.q_w = get(a + "q_proj.weight", {q_rows, H});
      l.q_b = get(a + "q_proj.bias", {q_rows});
      l.k_w = get(a + "k_proj.weight", {kv_rows, H});
      l.k_b = get(a + "k_proj.bias", {kv_rows});
      l.v_w = get(a + "v_proj.weight", {kv_rows, H});
      l.v_b = get(a + "v_proj.bias", {kv_rows});
    }
    l.o_w = get(a + "o_proj.weight", {H, q_rows});
    l.post_norm = get(p + "post_attention_layernorm.weight", {H});
    l.gate_up_w = get_concat({p + "mlp.gate_proj.weight", p + "mlp.up_proj.weight"}, {F, F}, H, false);
    if (!l.gate_up_w.empty()) {
      l.gate_w = l.gate_up_w.slice_rows(0, F);
      l.up_w = l.gate_up_w.slice_rows(F, F);
    } else {
      l.gate_w = get(p + "mlp.gate_proj.weight", {F, H});
      l.up_w = get(p + "mlp.up_proj.weight", {F, H});
    }
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
