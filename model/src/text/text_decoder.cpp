// TextDecoder: the layer loop of spec §7.6 expressed in Backend ops only, so the CPU and CUDA
// backends run the same graph. Keys are stored after RoPE (spec §7.4); caches are viewed as
// [capacity, n_kv·head_dim] matrices so copy_rows moves whole token rows. Single-token steps on a
// backend with recorded steps take text_decode_step.cpp's path instead (decode()).
#include "text/text_decoder.h"

#include <cmath>
#include <string>

#include "text/text_decoder_impl.h"
#include "vlm/error.h"

namespace vlm {

TextDecoder::TextDecoder(const TextConfig& config, const Checkpoint& checkpoint, Backend& backend,
                         int64_t capacity)
    : impl_(std::make_unique<Impl>(config, checkpoint, backend, capacity)) {}

TextDecoder::~TextDecoder() = default;

int64_t TextDecoder::capacity() const { return impl_->capacity; }
int64_t TextDecoder::n_past() const { return impl_->n_past; }
int64_t TextDecoder::kv_cache_bytes() const {
  int64_t bytes = 0;
  for (const Tensor& t : impl_->k_cache) bytes += static_cast<int64_t>(t.nbytes());
  for (const Tensor& t : impl_->v_cache) bytes += static_cast<int64_t>(t.nbytes());
  return bytes;
}
void TextDecoder::reset() { impl_->n_past = 0; }

TextDecoder::Impl::Impl(const TextConfig& c, const Checkpoint& checkpoint, Backend& b, int64_t cap)
    : config(c), backend(b), weights(load_text_weights(c, checkpoint, b)), capacity(cap) {
  VLM_CHECK(cap > 0, InvalidInput, "text decoder: KV-cache capacity " << cap << " must be positive");
  inv_freq = rope_inverse_frequencies(c.head_dim, c.rope_theta);
  const DType act = backend.activation_dtype();
  for (int i = 0; i < c.num_hidden_layers; ++i) {
    k_cache.push_back(backend.alloc(act, {cap, c.num_key_value_heads, c.head_dim}));
    v_cache.push_back(backend.alloc(act, {cap, c.num_key_value_heads, c.head_dim}));
  }
}

RopeTables TextDecoder::Impl::rope_tables(std::span<const int64_t> pos_t, std::span<const int64_t> pos_h,
                                          std::span<const int64_t> pos_w) const {
  RopeTables tables = mrope_tables(pos_t, pos_h, pos_w, inv_freq, config.mrope_section);
  if (backend.activation_dtype() == DType::BF16) {
    // HF casts cos/sin to the model dtype before rotating (spec §7.5); keep the values identical.
    for (auto* table : {&tables.cos, &tables.sin}) {
      for (float& value : *table) value = bf16_to_f32(f32_to_bf16(value));
    }
  }
  return tables;
}

void TextDecoder::Impl::check_ids(std::span<const int32_t> ids) const {
  for (size_t i = 0; i < ids.size(); ++i) {
    VLM_CHECK(ids[i] >= 0 && ids[i] < config.vocab_size, InvalidInput,
              "token id " << ids[i] << " at position " << i << " is outside the embedding table of "
                          << config.vocab_size << " rows");
  }
}

void TextDecoder::Impl::check_room(int64_t n) const {
  VLM_CHECK(n_past + n <= capacity, InvalidInput,
            "text decoder: " << n_past << " cached + " << n << " new tokens exceed the context of "
                             << capacity << " tokens");
}

Tensor TextDecoder::embed(std::span<const int32_t> ids) {
  const TextConfig& c = impl_->config;
  impl_->check_ids(ids);
  Backend& b = impl_->backend;
  Tensor out = b.alloc(b.activation_dtype(), {static_cast<int64_t>(ids.size()), c.hidden_size});
  if (!ids.empty()) b.embedding(impl_->weights.embed_tokens, ids, out);
  return out;
}

Tensor TextDecoder::forward(Tensor x, std::span<const int64_t> pos_t, std::span<const int64_t> pos_h,
                            std::span<const int64_t> pos_w, bool all_logits) {
  Impl& m = *impl_;
  const TextConfig& c = m.config;
  Backend& b = m.backend;
  const int64_t n = x.rows();
  const int64_t H = c.hidden_size, hd = c.head_dim;
  const int64_t nh = c.num_attention_heads, nkv = c.num_key_value_heads;
  VLM_CHECK(n > 0 && x.cols() == H, Internal,
            "text decoder: input " << x.describe() << " is not [n, " << H << "]");
  VLM_CHECK(static_cast<int64_t>(pos_t.size()) == n && pos_h.size() == pos_t.size() &&
                pos_w.size() == pos_t.size(),
            Internal, "text decoder: " << pos_t.size() << " positions for " << n << " rows");
  m.check_room(n);

  const RopeTables tables = m.rope_tables(pos_t, pos_h, pos_w);
  const Tensor cos = b.from_host_f32(tables.cos.data(), {n, hd}, DType::F32);
  const Tensor sin = b.from_host_f32(tables.sin.data(), {n, hd}, DType::F32);

  // Where the backend joined q|k|v and gate|up (text_weights.h), one GEMM each and the ops that
  // read the joined rows (rope_append, silu_mul_joined) replace three and two GEMMs and the
  // separate rope, cache copies and silu·mul: 9 ops per layer instead of 15, and one wide GEMM
  // instead of narrow k and v ones that leave most of a GPU idle at prefill sizes.
  const TextLayerWeights& first = m.weights.layers.at(0);
  const bool joined_qkv = !first.qkv_w.empty();
  const bool joined_gate_up = !first.gate_up_w.empty();
  const int64_t F = c.intermediate_size;
  const DType act = b.activation_dtype();
  Tensor normed = b.alloc(act, {n, H});
  Tensor qkv = joined_qkv ? b.alloc(act, {n, (nh + 2 * nkv) * hd}) : Tensor();
  Tensor q = b.alloc(act, {n, nh * hd});
  Tensor k = joined_qkv ? Tensor() : b.alloc(act, {n, nkv * hd});
  Tensor v = joined_qkv ? Tensor() : b.alloc(act, {n, nkv * hd});
  Tensor attn = b.alloc(act, {n, nh, hd});
  Tensor proj = b.alloc(act, {n, H});
  Tensor gate = b.alloc(act, {n, F});
  Tensor up = joined_gate_up ? Tensor() : b.alloc(act, {n, F});
  Tensor gate_up = joined_gate_up ? b.alloc(act, {n, 2 * F}) : Tensor();
  const float scale = 1.0f / std::sqrt(static_cast<float>(hd));

  // Each residual add is fused with the norm after it (add_rmsnorm): the MLP's output is added at
  // the next layer's input norm, the last one at the final norm.
  // Without all_logits only the last row reaches the logits, so the last layer stores every row's
  // K and V in the cache but runs attention, o and the MLP for that row alone (the other rows'
  // residuals are left unfinished: nothing reads them).
  const size_t n_layers = m.weights.layers.size();
  for (size_t li = 0; li < n_layers; ++li) {
    const TextLayerWeights& w = m.weights.layers[li];
    if (li == 0) {
      b.rmsnorm(x, w.input_norm, c.rms_norm_eps, normed);
    } else {
      b.add_rmsnorm(proj, x, w.input_norm, c.rms_norm_eps, normed);
    }
    Tensor q3 = q.reshape({n, nh, hd});
    if (joined_qkv) {
      b.matmul(normed, w.qkv_w, w.qkv_b, qkv);
      b.rope_append(qkv, cos, sin, q3, m.k_cache[li], m.v_cache[li], m.n_past);
    } else {
      b.matmul(normed, w.q_w, w.q_b, q);
      b.matmul(normed, w.k_w, w.k_b, k);
      b.matmul(normed, w.v_w, w.v_b, v);
      Tensor k3 = k.reshape({n, nkv, hd});
      b.rope(q3, cos, sin);
      b.rope(k3, cos, sin);
      Tensor k_rows = m.k_cache[li].reshape({m.capacity, nkv * hd});
      Tensor v_rows = m.v_cache[li].reshape({m.capacity, nkv * hd});
      b.copy_rows(k, 0, k_rows, m.n_past, n);
      b.copy_rows(v, 0, v_rows, m.n_past, n);
    }
    const bool last_row_only = !all_logits && li + 1 == n_layers && n > 1;
    const int64_t row0 = last_row_only ? n - 1 : 0, rows = n - row0;
    const auto part = [&](const Tensor& t) { return t.slice_rows(row0, rows); };
    Tensor attn_rows = part(attn), proj_rows = part(proj), x_rows = part(x), normed_rows = part(normed);
    Tensor gate_rows = part(gate);
    b.attention_causal(part(q3), m.k_cache[li], m.v_cache[li], m.n_past + row0, scale, attn_rows);
    b.matmul(attn_rows.reshape({rows, nh * hd}), w.o_w, Tensor(), proj_rows);
    b.add_rmsnorm(proj_rows, x_rows, w.post_norm, c.rms_norm_eps, normed_rows);
    if (joined_gate_up) {
      Tensor gate_up_rows = part(gate_up);
      b.matmul(normed_rows, w.gate_up_w, Tensor(), gate_up_rows);
      b.silu_mul_joined(gate_up_rows, gate_rows);
    } else {
      Tensor up_rows = part(up);
      b.matmul(normed_rows, w.gate_w, Tensor(), gate_rows);
      b.matmul(normed_rows, w.up_w, Tensor(), up_rows);
      b.silu_mul(gate_rows, up_rows, gate_rows);
    }
    b.matmul(gate_rows, w.down_w, Tensor(), proj_rows);
  }
  m.n_past += n;

  Tensor last = all_logits ? x : x.slice_rows(n - 1, 1);
  const Tensor last_proj = all_logits ? proj : proj.slice_rows(n - 1, 1);
  Tensor final_normed = b.alloc(act, {last.rows(), H});
  b.add_rmsnorm(last_proj, last, m.weights.final_norm, c.rms_norm_eps, final_normed);
  Tensor logits = b.alloc(act, {last.rows(), static_cast<int64_t>(c.vocab_size)});
  b.matmul(final_normed, m.weights.lm_head, Tensor(), logits);
  return logits;
}

}  // namespace vlm
