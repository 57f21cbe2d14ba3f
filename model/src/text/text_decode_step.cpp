// TextDecoder::decode: one generated token as a recorded step (Backend::record, a CUDA graph on
// the GPU). A decode step is the same few ops per layer every token (norm+q/k/v, rope+append+
// attention, o+residual, norm+gate/up, silu·mul+down+residual: the fused ops of vlm/backend.h);
// launched one by one from the host, their launch costs exceed their run time at batch 1, so the
// step is recorded once into persistent tensors and replayed.
// What changes per token lives in small device tensors written before each replay (the id, the
// cache position, the rope row), and the ops that use them read them when they run
// (embedding_at, rope_attention_at). Where the backend joined q/k/v and gate/up
// (text_weights.h) each is one GEMM; otherwise their outputs are views of one buffer, so rope
// and the KV-cache append are one call either way. The eager path (forward) is the reference: on the CPU
// both give identical bits (tests/model/text/test_text_decoder.cpp). Where a recording fails
// (Device/Unsupported), a warning is logged and this decoder decodes op by op.
#include <cmath>
#include <cstdlib>
#include <string>

#include "text/text_decoder_impl.h"
#include "vlm/error.h"
#include "vlm/log.h"

namespace vlm {

struct DecodeStep {
  Tensor ids, n_past;     // I32 [1]: the token id, its cache position
  Tensor cos, sin;        // F32 [1, head_dim]
  Tensor x, normed, qkv, attn, gate_up, logits;  // x: the residual stream
  std::unique_ptr<RecordedSteps> recording;
};

void DecodeStepDeleter::operator()(DecodeStep* step) const { delete step; }

namespace {

bool recorded_steps_wanted(const Backend& backend) {
  if (!backend.supports_recorded_steps()) return false;
  const char* env = std::getenv("VLM_RECORDED_STEPS");
  return env == nullptr || std::string(env) != "0";
}

}  // namespace

// The ops of one token at the position held by step.n_past, from step.ids to step.logits.
void TextDecoder::Impl::run_step_ops(DecodeStep& s) {
  Impl& m = *this;
  const TextConfig& c = m.config;
  Backend& b = m.backend;
  const int64_t hd = c.head_dim, F = c.intermediate_size;
  const int64_t nh = c.num_attention_heads, nkv = c.num_key_value_heads;
  const float scale = 1.0f / std::sqrt(static_cast<float>(hd));
  // Views of the one-row buffers: [q | k | v] heads and [gate | up].
  const Tensor heads = s.qkv.reshape({nh + 2 * nkv, hd});
  Tensor q = heads.slice_rows(0, nh).reshape({1, nh * hd});
  Tensor k = heads.slice_rows(nh, nkv).reshape({1, nkv * hd});
  Tensor v = heads.slice_rows(nh + nkv, nkv).reshape({1, nkv * hd});
  const Tensor halves = s.gate_up.reshape({2, F});
  Tensor gate = halves.slice_rows(0, 1);
  Tensor up = halves.slice_rows(1, 1);

  // s.x is the residual stream: each norm feeds its matmul (rmsnorm_matmul) and each output
  // projection adds into s.x (matmul_add, silu_mul_matmul_add). The same ops as forward()'s
  // add_rmsnorm / matmul / silu_mul sequence, in the same order and rounding (vlm/backend.h);
  // CUDA runs each as one GEMV kernel.
  b.embedding_at(m.weights.embed_tokens, s.ids, s.x);
  for (size_t li = 0; li < m.weights.layers.size(); ++li) {
    const TextLayerWeights& w = m.weights.layers[li];
    if (!w.qkv_w.empty()) {
      b.rmsnorm_matmul(s.x, w.input_norm, c.rms_norm_eps, w.qkv_w, w.qkv_b, s.qkv);
    } else {
      b.rmsnorm(s.x, w.input_norm, c.rms_norm_eps, s.normed);
      b.matmul(s.normed, w.q_w, w.q_b, q);
      b.matmul(s.normed, w.k_w, w.k_b, k);
      b.matmul(s.normed, w.v_w, w.v_b, v);
    }
    b.rope_attention_at(s.qkv, s.cos, s.sin, m.k_cache[li], m.v_cache[li], s.n_past, scale, s.attn);
    b.matmul_add(s.attn.reshape({1, nh * hd}), w.o_w, s.x);
    if (!w.gate_up_w.empty()) {
      b.rmsnorm_matmul(s.x, w.post_norm, c.rms_norm_eps, w.gate_up_w, Tensor(), s.gate_up);
    } else {
      b.rmsnorm(s.x, w.post_norm, c.rms_norm_eps, s.normed);
      b.matmul(s.normed, w.gate_w, Tensor(), gate);
      b.matmul(s.normed, w.up_w, Tensor(), up);
    }
    b.silu_mul_matmul_add(s.gate_up, w.down_w, s.x);
  }
  b.rmsnorm_matmul(s.x, m.weights.final_norm, c.rms_norm_eps, m.weights.lm_head, Tensor(), s.logits);
}

std::unique_ptr<DecodeStep, DecodeStepDeleter> TextDecoder::Impl::make_step() {
  Impl& m = *this;
  const TextConfig& c = m.config;
  Backend& b = m.backend;
  VLM_CHECK(m.capacity <= INT32_MAX, Unsupported,
            "text decoder: a context of " << m.capacity
                                          << " tokens exceeds the recorded step's int32 positions");
  const DType act = b.activation_dtype();
  const int64_t H = c.hidden_size, hd = c.head_dim, F = c.intermediate_size;
  const int64_t nh = c.num_attention_heads, nkv = c.num_key_value_heads;
  std::unique_ptr<DecodeStep, DecodeStepDeleter> s(new DecodeStep);
  s->ids = b.alloc(DType::I32, {1});
  s->n_past = b.alloc(DType::I32, {1});
  s->cos = b.alloc(DType::F32, {1, hd});
  s->sin = b.alloc(DType::F32, {1, hd});
  s->x = b.alloc(act, {1, H});
  s->normed = b.alloc(act, {1, H});
  s->qkv = b.alloc(act, {1, (nh + 2 * nkv) * hd});
  s->attn = b.alloc(act, {1, nh, hd});
  s->gate_up = b.alloc(act, {1, 2 * F});
  s->logits = b.alloc(act, {1, static_cast<int64_t>(c.vocab_size)});
  DecodeStep* raw = s.get();
  s->recording = b.record([this, raw] { run_step_ops(*raw); });
  return s;
}

Tensor TextDecoder::decode(int32_t id, int64_t position) {
  Impl& m = *impl_;
  m.check_ids({&id, 1});
  m.check_room(1);
  const bool wanted = recorded_steps_wanted(m.backend);  // read per call: vlm bench's A/B
  if (wanted && !m.step && !m.step_unavailable) {
    // A backend that cannot record here (a driver refusing the capture) still decodes: op by op.
    try {
      m.step = m.make_step();
    } catch (const Error& error) {
      if (error.code() != ErrorCode::Device && error.code() != ErrorCode::Unsupported) throw;
      m.step_unavailable = true;
      log(LogLevel::Warning, std::string("text decoder: the decode step cannot be recorded (") +
                                 error.what() + "); decoding op by op");
    }
  }
  if (!wanted || !m.step) {
    const int64_t pos[1] = {position};
    return forward(embed({&id, 1}), pos, pos, pos, false);
  }
  DecodeStep& s = *m.step;
  Backend& b = m.backend;
  const int64_t pos[1] = {position};
  const RopeTables tables = m.rope_tables(pos, pos, pos);
  const int32_t n_past = static_cast<int32_t>(m.n_past);
  b.write(s.ids, &id);
  b.write(s.n_past, &n_past);
  b.write(s.cos, tables.cos.data());
  b.write(s.sin, tables.sin.data());
  s.recording->replay();
  m.n_past += 1;
  return s.logits;
}

}  // namespace vlm
