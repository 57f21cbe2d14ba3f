// OpProfile: where a CudaBackend's GPU time goes, op by op, for a first look at a GPU without a
// profiler (VLM_CUDA_PROFILE=FILE; scripts/device-check.sh runs vlm bench with it). Each op marks
// its start with an event on the backend's stream; an op's time is from its mark to the next one,
// so it includes any idle gap before the next op starts (launch overhead shows up as time of the
// op before it). Marks are folded into per-label totals every kFoldEvery marks (one wait for the
// stream) and by report(). Ops recorded into a CUDA graph are not marked (their replay is, whole).
#pragma once

#include <cuda_runtime_api.h>

#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace vlm::cuda {

class OpProfile {
 public:
  explicit OpProfile(cudaStream_t stream);
  ~OpProfile();
  OpProfile(const OpProfile&) = delete;
  OpProfile& operator=(const OpProfile&) = delete;

  // An op labelled `label` starts now (in stream order).
  void mark(std::string label);
  // Renames the latest mark (an op that knows its shape only after its checks).
  void relabel(std::string label);
  // Closes the latest op, folds every mark and returns the table: label, calls, total ms, mean us,
  // share of the profiled time; largest total first.
  std::string report();

 private:
  static constexpr size_t kFoldEvery = 4096;
  struct Totals {
    int64_t calls = 0;
    double ms = 0.0;
  };
  // Waits for the latest mark, adds every closed interval to totals_, keeps the latest mark open.
  void fold();

  cudaStream_t stream_;
  std::vector<cudaEvent_t> events_;  // created on first use, reused after each fold
  std::vector<std::string> labels_;  // labels_[i] is the op that starts at events_[i]
  size_t used_ = 0;
  std::map<std::string, Totals> totals_;
};

}  // namespace vlm::cuda
