// The base class's answers for recorded steps (vlm/backend.h: supports_recorded_steps, record,
// write, the *_at ops, upload_weights_concat) and their shared argument checks, the default
// add_rmsnorm (add then rmsnorm; a device backend fuses them), and "no device preprocessing". A backend without
// recorded steps keeps the eager decode path, so everything here refuses with Unsupported rather
// than emulating: an emulation would hide that the fast path is missing.
#include <string>

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

bool Backend::preprocess_video_on_device(std::span<const ImageRgb8>, double, const PreprocessorConfig&,
                                         const VideoSamplingOptions&, VisionInput&) {
  return false;
}

bool Backend::preprocess_image_on_device(const ImageRgb8&, const PreprocessorConfig&, int64_t, int64_t,
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
