// GemmRunner::measure (gemm_cublaslt.h): which of cuBLASLt's heuristic candidates runs a new plan
// fastest, timed on its first call's own operands, on the runner's stream. Each candidate runs once
// as a warm-up; one whose status is not success is dropped (its launch error cleared, so it is not
// blamed on a later op). Then kRounds rounds, each running every remaining candidate kCallsPerRound
// times between two events (interleaved, so clock changes hit all alike); a candidate's time is
// its best round. The heuristic's first stays unless another beats it by more than the tuning's
// margin, so that timing noise does not flip the choice from run to run for nothing. Every
// candidate writes y; the caller's call that follows uses the kept algorithm, so y ends with its
// result.
#include <algorithm>
#include <sstream>

#include "check.h"
#include "event_pair.h"
#include "gemm_cublaslt.h"
#include "vlm/log.h"

namespace vlm::cuda {

namespace {

constexpr int kRounds = 3;
constexpr int kCallsPerRound = 2;
constexpr float kRefused = -1.0f;  // GemmTuneRecord::candidate_ms of a candidate that did not run

}  // namespace

size_t GemmRunner::measure(const PlanKey& key, Plan& plan,
                           const std::vector<cublasLtMatmulAlgo_t>& algos,
                           const Operands& operands) {
  const auto [m, n, k, has_bias, align_x, align_w, align_bias, align_y] = key;
  GemmTuneRecord record{.m = m, .n = n, .k = k, .bias = has_bias,
                        .candidates = static_cast<int>(algos.size())};
  record.candidate_ms.assign(algos.size(), kRefused);
  std::vector<bool> usable(algos.size(), true);
  for (size_t i = 0; i < algos.size(); ++i) {
    usable[i] = launch(plan, algos[i], operands) == CUBLAS_STATUS_SUCCESS;
    if (!usable[i]) {
      (void)cudaGetLastError();  // a refused launch; a sticky error stays and throws below
      ++record.refused;
    }
  }
  VLM_CUDA_CHECK(cudaStreamSynchronize(stream_));
  if (record.refused == record.candidates) {
    // Nothing ran: keep the first, whose real call reports cuBLASLt's own error.
    tune_records_.push_back(record);
    return 0;
  }
  std::vector<float>& best = record.candidate_ms;
  EventPair events;
  for (int round = 0; round < kRounds; ++round) {
    for (size_t i = 0; i < algos.size(); ++i) {
      if (!usable[i]) continue;
      VLM_CUDA_CHECK(cudaEventRecord(events.start, stream_));
      for (int call = 0; call < kCallsPerRound; ++call) {
        VLM_CUBLAS_CHECK(launch(plan, algos[i], operands));
      }
      VLM_CUDA_CHECK(cudaEventRecord(events.stop, stream_));
      const float per_call = events.elapsed_ms() / kCallsPerRound;
      best[i] = best[i] == kRefused ? per_call : std::min(best[i], per_call);
    }
  }
  // The fastest; the heuristic's first unless another beats it by more than the margin.
  size_t kept = 0;
  for (size_t i = 0; i < algos.size(); ++i) {
    if (usable[i] && (!usable[kept] || best[i] < best[kept])) kept = i;
  }
  if (usable[0] && kept != 0 && best[kept] >= best[0] * (1.0f - tuning_.margin)) kept = 0;
  record.chosen = static_cast<int>(kept);
  tune_records_.push_back(record);
  std::ostringstream line;
  line << "cuBLASLt matmul M=" << m << " N=" << n << " K=" << k << (has_bias ? " +bias" : "")
       << ": " << algos.size() << " candidate(s), " << record.refused << " refused; heuristic's first ";
  if (usable[0]) {
    line << best[0] * 1e3f << " us";
  } else {
    line << "refused";
  }
  line << ", kept #" << kept << " " << best[kept] * 1e3f << " us";
  log(LogLevel::Debug, line.str());
  return kept;
}

}  // namespace vlm::cuda
