// The base class's answers for recorded steps (vlm/backend.h: supports_recorded_steps, record,
// write, the *_at ops, upload_weights_concat, upload_joined) and their shared argument checks, the default
// add_rmsnorm (add then rmsnorm; a device backend fuses them), and "no device preprocessing". A backend without
// recorded steps keeps the eager decode path, so everything here refuses with Unsupported rather
// than emulating: an emulation would hide that the fast path is missing.
#include <string>
#include <vector>

#include "vlm/backend.h"
#include "vlm/backend_checks.h"
#include "vlm/error.h"

namespace vlm {

namespace {

[[noreturn]] void no_recorded_steps(const Backend& backend, const char* op) {
  VLM_THROW(Unsupported, op << ": backend " << backend.name()
                            << " has no recorded steps (supports_recorded_steps() is false)");
}

}  // namespace

std::unique_ptr<RecordedSteps> Backend::record(const std::function<void()>&) {
  no_recorded_steps(*this, "record");
}
void Backend::write(Tensor&, const void*) { no_recorded_steps(*this, "write"); }
void Backend::embedding_at(const Tensor&, const Tensor&, Tensor&) {
  no_recorded_steps(*this, "embedding_at");
}
void Backend::copy_rows_at(const Tensor&, Tensor&, const Tensor&) {
  no_recorded_steps(*this, "copy_rows_at");
}
void Backend::attention_causal_at(const Tensor&, const Tensor&, const Tensor&, const Tensor&, float,
                                  Tensor&) {
  no_recorded_steps(*this, "attention_causal_at");
}
Tensor Backend::upload_weights_concat(std::span<const Tensor>) { return {}; }

RopeAppendShape check_rope_append_args(const Tensor& qkv, const Tensor& k_cache, const Tensor& v_cache,
                                       const Tensor& n_past_at) {
  check_step_scalars(n_past_at, 1, "rope_append_at", "n_past");
  VLM_CHECK(k_cache.rank() == 3 && v_cache.shape() == k_cache.shape(), InvalidInput,
            "rope_append_at: caches " << k_cache.describe() << " and " << v_cache.describe()
                                      << " must both be [capacity, n_kv, head_dim]");
  RopeAppendShape shape;
  shape.capacity = k_cache.dim(0);
  shape.kv_heads = k_cache.dim(1);
  shape.head_dim = k_cache.dim(2);
  const int64_t row = shape.head_dim > 0 ? qkv.cols() / shape.head_dim : 0;
  shape.heads = row - 2 * shape.kv_heads;
  VLM_CHECK(qkv.rank() == 2 && qkv.rows() == 1 && shape.head_dim > 0 &&
                qkv.cols() % shape.head_dim == 0 && shape.heads > 0 && qkv.dtype() == k_cache.dtype(),
            InvalidInput, "rope_append_at: qkv " << qkv.describe() << " is not one row of (heads + 2·"
                                                 << shape.kv_heads << ") heads of " << shape.head_dim
                                                 << " in the caches' dtype");
  return shape;
}

void Backend::rope_append_at(Tensor& qkv, const Tensor& cos, const Tensor& sin, Tensor& k_cache,
                             Tensor& v_cache, const Tensor& n_past_at) {
  const RopeAppendShape s = check_rope_append_args(qkv, k_cache, v_cache, n_past_at);
  const Tensor heads = qkv.reshape({s.heads + 2 * s.kv_heads, s.head_dim});
  Tensor q_and_k = heads.slice_rows(0, s.heads + s.kv_heads).reshape({1, s.heads + s.kv_heads, s.head_dim});
  rope(q_and_k, cos, sin);
  const int64_t kv_row = s.kv_heads * s.head_dim;
  Tensor k_rows = k_cache.reshape({s.capacity, kv_row});
  Tensor v_rows = v_cache.reshape({s.capacity, kv_row});
  copy_rows_at(heads.slice_rows(s.heads, s.kv_heads).reshape({1, kv_row}), k_rows, n_past_at);
  copy_rows_at(heads.slice_rows(s.heads + s.kv_heads, s.kv_heads).reshape({1, kv_row}), v_rows, n_past_at);
}

void Backend::rope_attention_at(Tensor& qkv, const Tensor& cos, const Tensor& sin, Tensor& k_cache,
                                Tensor& v_cache, const Tensor& n_past_at, float scale, Tensor& out) {
  const RopeAppendShape s = check_rope_append_args(qkv, k_cache, v_cache, n_past_at);
  rope_append_at(qkv, cos, sin, k_cache, v_cache, n_past_at);
  const Tensor q = qkv.reshape({s.heads + 2 * s.kv_heads, s.head_dim}).slice_rows(0, s.heads);
  attention_causal_at(q.reshape({1, s.heads, s.head_dim}), k_cache, v_cache, n_past_at, scale, out);
}

bool Backend::preprocess_video_on_device(std::span<const FrameView>, double, const PreprocessorConfig&,
                                         const VideoSamplingOptions&, VisionInput&) {
  return false;
}

bool Backend::preprocess_image_on_device(const FrameView&, const PreprocessorConfig&, int64_t, int64_t,
                                         VisionInput&) {
  return false;
}

void Backend::add_rmsnorm(const Tensor& x, Tensor& residual, const Tensor& weight, float eps,
                          Tensor& y) {
  add(residual, x, residual);
  rmsnorm(residual, weight, eps, y);
}

void check_step_scalars(const Tensor& t, int64_t n, const char* op, const char* name) {
  VLM_CHECK(!t.empty() && t.dtype() == DType::I32 && t.numel() == n, InvalidInput,
            op << ": " << name << " " << t.describe() << " must be I32 with " << n << " element(s)");
}

Tensor Backend::upload_joined(std::span<const Tensor> hosts) {
  VLM_CHECK(!hosts.empty(), InvalidInput, "upload_weights_concat: no weights");
  if (hosts[0].rank() != 1) return upload_weights_concat(hosts);
  std::vector<Tensor> rows;
  for (const Tensor& bias : hosts) rows.push_back(bias.reshape({bias.numel(), 1}));
  Tensor joined = upload_weights_concat(rows);
  return joined.empty() ? joined : joined.reshape({joined.rows()});
}

int64_t check_concat_weights_args(std::span<const Tensor> weights) {
  VLM_CHECK(!weights.empty(), InvalidInput, "upload_weights_concat: no weights");
  int64_t rows = 0;
  for (const Tensor& w : weights) {
    VLM_CHECK(w.rank() == 2 && w.dtype() == weights[0].dtype() && w.cols() == weights[0].cols(),
              InvalidInput, "upload_weights_concat: " << w.describe() << " is not 2-D with the dtype and "
                                               << weights[0].cols() << " columns of the first weight "
                                               << weights[0].describe());
    rows += w.rows();
  }
  return rows;
}

}  // namespace vlm
