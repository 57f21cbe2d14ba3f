// OpProfile (op_profile.h): events on the backend's stream, folded into per-label totals.
#include "op_profile.h"

#include <algorithm>
#include <cstdio>
#include <utility>

#include "check.h"

namespace vlm::cuda {

OpProfile::OpProfile(cudaStream_t stream) : stream_(stream) {}

OpProfile::~OpProfile() {
  for (cudaEvent_t event : events_) (void)cudaEventDestroy(event);
}

void OpProfile::mark(std::string label) {
  if (used_ == kFoldEvery) fold();
  if (used_ == events_.size()) {
    cudaEvent_t event = nullptr;
    VLM_CUDA_CHECK(cudaEventCreate(&event));
    events_.push_back(event);
    labels_.emplace_back();
  }
  VLM_CUDA_CHECK(cudaEventRecord(events_[used_], stream_));
  labels_[used_] = std::move(label);
  ++used_;
}

void OpProfile::relabel(std::string label) {
  if (used_ > 0) labels_[used_ - 1] = std::move(label);
}

void OpProfile::fold() {
  if (used_ == 0) return;
  VLM_CUDA_CHECK(cudaEventSynchronize(events_[used_ - 1]));
  for (size_t i = 0; i + 1 < used_; ++i) {
    float ms = 0.0f;
    VLM_CUDA_CHECK(cudaEventElapsedTime(&ms, events_[i], events_[i + 1]));
    Totals& totals = totals_[labels_[i]];
    ++totals.calls;
    totals.ms += ms;
  }
  std::swap(events_[0], events_[used_ - 1]);
  std::swap(labels_[0], labels_[used_ - 1]);
  used_ = 1;
}

std::string OpProfile::report() {
  if (used_ > 0) {
    mark("(end)");
    fold();
    used_ = 0;  // the end mark closes nothing
  }
  std::vector<std::pair<std::string, Totals>> rows(totals_.begin(), totals_.end());
  std::sort(rows.begin(), rows.end(),
            [](const auto& a, const auto& b) { return a.second.ms > b.second.ms; });
  double all_ms = 0.0;
  for (const auto& row : rows) all_ms += row.second.ms;
  std::string out;
  char line[512];
  std::snprintf(line, sizeof line, "%-52s %9s %11s %10s %6s\n", "op (shape M x N x K for matmuls)",
                "calls", "total ms", "mean us", "share");
  out += line;
  for (const auto& [label, totals] : rows) {
    std::snprintf(line, sizeof line, "%-52s %9ld %11.3f %10.2f %5.1f%%\n", label.c_str(),
                  static_cast<long>(totals.calls), totals.ms, 1e3 * totals.ms / static_cast<double>(totals.calls),
                  all_ms > 0 ? 100.0 * totals.ms / all_ms : 0.0);
    out += line;
  }
  std::snprintf(line, sizeof line, "profiled GPU time %.3f ms\n", all_ms);
  out += line;
  return out;
}

}  // namespace vlm::cuda
