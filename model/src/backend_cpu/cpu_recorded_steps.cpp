// CpuBackend's recorded steps (vlm/backend.h). On the host a "recording" is the op sequence kept
// as a function and called again on replay: nothing is saved, but the text decoder's recorded
// decode path (persistent buffers, scalars read at run time) then runs on the reference backend,
// so its tests check that path against the eager one and against Hugging Face.
#include <cstring>
#include <span>

#include "backend_cpu/backend_cpu.h"
#include "vlm/error.h"

namespace vlm {

namespace {

class CpuRecordedSteps final : public RecordedSteps {
 public:
  explicit CpuRecordedSteps(std::function<void()> ops) : ops_(std::move(ops)) {}
  void replay() override { ops_(); }

 private:
  std::function<void()> ops_;
};

int32_t scalar(const Tensor& t, const char* op, const char* name) {
  check_step_scalars(t, 1, op, name);
  return *t.data_as<const int32_t>();
}

}  // namespace

std::unique_ptr<RecordedSteps> CpuBackend::record(const std::function<void()>& ops) {
  VLM_CHECK(static_cast<bool>(ops), InvalidInput, "record: no ops");
  return std::make_unique<CpuRecordedSteps>(ops);
}

void CpuBackend::write(Tensor& dst, const void* host) {
  VLM_CHECK(!dst.empty(), InvalidInput, "write: destination " << dst.describe() << " has no data");
  if (dst.nbytes() == 0) return;
  VLM_CHECK(host != nullptr, InvalidInput, "write: null source for " << dst.describe());
  std::memcpy(dst.data(), host, dst.nbytes());
}

void CpuBackend::embedding_at(const Tensor& table, const Tensor& ids, Tensor& y) {
  check_step_scalars(ids, ids.numel(), "embedding_at", "ids");
  embedding(table, std::span<const int32_t>(ids.data_as<const int32_t>(), static_cast<size_t>(ids.numel())),
            y);
}

void CpuBackend::copy_rows_at(const Tensor& src, Tensor& dst, const Tensor& dst_row) {
  const int64_t row = scalar(dst_row, "copy_rows_at", "dst_row");
  if (row < 0 || row + src.rows() > dst.rows()) return;  // as on a device: not written
  copy_rows(src, 0, dst, row, src.rows());
}

void CpuBackend::attention_causal_at(const Tensor& q, const Tensor& k_cache, const Tensor& v_cache,
                                     const Tensor& n_past_at, float scale, Tensor& out) {
  attention_causal(q, k_cache, v_cache, scalar(n_past_at, "attention_causal_at", "n_past"), scale,
                   out);
}

}  // namespace vlm
