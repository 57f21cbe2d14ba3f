// Auto's attention kernel (CudaBackend::attention_kernel_for, backend_cuda_impl.h): which of the
// CUDA-core, WMMA and register-softmax kernels runs a kind of call fastest depends on the GPU, the
// head_dim, the rows per kv head and the key range, so the first call of each kind (outside a
// capture) times the candidates on its own operands and keeps the fastest for every later call of
// that kind. As for cuBLASLt's algorithms (gemm_cublaslt_tuning.cpp): each candidate runs once as
// a warm-up, then 3 rounds each run every candidate twice between two events (interleaved, so
// clock changes hit all alike); a candidate's time is its best round. The reasoned default stays
// unless another beats it by more than 3%, so that timing noise does not flip the choice between
// runs for nothing. A kind is coarse on purpose (the bit widths of its rows and keys): a video's
// windows of one size share one measurement, a decode grows into a new kind only at each power of
// two of its cache. A recorded step (capture) never measures: it uses the kind's choice if one
// was measured before, else the reasoned default.
#include <algorithm>
#include <sstream>

#include "backend_cuda_impl.h"
#include "check.h"
#include "event_pair.h"
#include "vlm/log.h"

namespace vlm::cuda {

namespace {

constexpr int kRounds = 3;
constexpr int kCallsPerRound = 2;
constexpr float kMargin = 0.03f;  // another kernel must be this much faster than the default

}  // namespace

const char* CudaBackend::attention_kernel_name(AttentionKernel kernel) {
  switch (kernel) {
    case AttentionKernel::Simt:
      return "simt";
    case AttentionKernel::Mma:
      return "mma";
    case AttentionKernel::Flash:
      return "flash";
    case AttentionKernel::Auto:
    default:
      return "auto";
  }
}

std::string CudaBackend::AttentionCallKind::describe() const {
  std::ostringstream text;
  text << (causal ? "causal" : "varlen") << " heads " << heads << "/" << kv_heads << " head_dim "
       << head_dim << ", rows < 2^" << rows_bits << ", keys < 2^" << keys_bits;
  if (rope_on_load) text << ", rope on load";
  if (strided) text << ", joined rows";
  return text.str();
}

CudaBackend::AttentionKernel CudaBackend::attention_kernel_for(
    const AttentionCallKind& kind, std::span<const AttentionKernel> candidates,
    AttentionKernel reasoned, bool may_measure, const char* op,
    const std::function<void(AttentionKernel)>& launch) {
  if (attention_kernel_ != AttentionKernel::Auto) return attention_kernel_;
  if (const auto found = attention_choices_.find(kind); found != attention_choices_.end()) {
    return found->second;
  }
  if (!attention_tuning_ || !may_measure || candidates.size() < 2 || capturing()) return reasoned;
  // The measuring call gets a profile row of its own, so that the one-off choice does not
  // inflate the op's steady-state row.
  if (profile_) profile_->relabel(std::string(op) + " (first call: kernel choice)");
  return measure_attention(kind, candidates, reasoned, launch);
}

CudaBackend::AttentionKernel CudaBackend::measure_attention(
    const AttentionCallKind& kind, std::span<const AttentionKernel> candidates,
    AttentionKernel reasoned, const std::function<void(AttentionKernel)>& launch) {
  AttentionChoiceRecord record{.call = kind.describe(),
                               .candidates = {candidates.begin(), candidates.end()},
                               .candidate_ms = std::vector<float>(candidates.size(), 1e30f),
                               .reasoned = reasoned};
  for (const AttentionKernel kernel : candidates) launch(kernel);  // warm-up (throws on failure)
  VLM_CUDA_CHECK(cudaStreamSynchronize(stream_));
  EventPair events;
  for (int round = 0; round < kRounds; ++round) {
    for (size_t i = 0; i < candidates.size(); ++i) {
      VLM_CUDA_CHECK(cudaEventRecord(events.start, stream_));
      for (int call = 0; call < kCallsPerRound; ++call) launch(candidates[i]);
      VLM_CUDA_CHECK(cudaEventRecord(events.stop, stream_));
      record.candidate_ms[i] = std::min(record.candidate_ms[i], events.elapsed_ms() / kCallsPerRound);
    }
  }
  size_t fastest = 0;
  for (size_t i = 1; i < candidates.size(); ++i) {
    if (record.candidate_ms[i] < record.candidate_ms[fastest]) fastest = i;
  }
  record.chosen = candidates[fastest];
  const auto reasoned_at = std::find(candidates.begin(), candidates.end(), reasoned);
  if (reasoned_at != candidates.end()) {
    const float reasoned_ms = record.candidate_ms[reasoned_at - candidates.begin()];
    if (record.candidate_ms[fastest] >= reasoned_ms * (1.0f - kMargin)) record.chosen = reasoned;
  }
  const AttentionKernel chosen = record.chosen;
  attention_choices_[kind] = chosen;
  std::ostringstream line;
  line << "cuda:" << device_ << " attention " << record.call << ":";
  for (size_t i = 0; i < candidates.size(); ++i) {
    line << " " << attention_kernel_name(candidates[i]) << " " << record.candidate_ms[i] * 1e3f << " us";
  }
  line << " -> " << attention_kernel_name(chosen);
  log(LogLevel::Debug, line.str());
  attention_choice_records_.push_back(std::move(record));
  return chosen;
}

}  // namespace vlm::cuda
