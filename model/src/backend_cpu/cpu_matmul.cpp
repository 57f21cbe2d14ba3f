// matmul of the CPU backend: y[M,N] = x[M,K] · w[N,K]ᵀ (+ bias).
// Two paths, both parallel over the backend's pool with OpenBLAS held single-threaded:
// - small M (decode, short prompts): a hand-written kernel reads each weight row once and
//   converts bf16/f16 on the fly, since the op is bound by weight bandwidth (cpu_simd.cpp);
// - larger M: tasks of (range of x rows) × (panel of weight rows); a bf16/f16 panel is converted
//   into the thread's f32 scratch (never the whole weight, which would double its memory) and
//   multiplied with cblas_sgemm; f32 weights go to sgemm directly.
#include <cblas.h>

#include <algorithm>
#include <vector>

#include "backend_cpu/backend_cpu.h"
#include "backend_cpu/cpu_simd.h"

namespace vlm {
namespace {

constexpr int64_t kSmallM = 8;          // up to this many rows use the on-the-fly kernel
constexpr int64_t kSmallMRowsPerTask = 64;
constexpr int64_t kMinRowsPerTask = 64;  // x rows are not split finer than this
constexpr int64_t kMaxPanel = 128;       // weight rows per sgemm task
constexpr int64_t kMinPanel = 16;
constexpr int64_t kMaxPanelFloats = 1 << 20;  // 4 MB of converted weights per thread at most

}  // namespace

void CpuBackend::matmul(const Tensor& x, const Tensor& w, const Tensor& bias, Tensor& y) {
  const MatmulShape shape = check_matmul_args(x, w, bias, y, kCpuDTypes);
  const int64_t M = shape.m, N = shape.n, K = shape.k;
  std::vector<float> bias_f32;
  if (!bias.empty()) {
    bias_f32.resize(static_cast<size_t>(N));
    cpu::convert_to_f32_fast(bias.data(), bias.dtype(), bias_f32.data(), N);
  }
  if (M == 0 || N == 0) return;
  const float* xs = x.data_as<const float>();
  float* ys = y.data_as<float>();
  const DType w_dtype = w.dtype();
  const size_t w_elem = dtype_size(w_dtype);
  const char* w_bytes = w.data_as<const char>();
  const int64_t threads = pool_.size();

  auto add_bias = [&](int64_t m0, int64_t m1, int64_t n0, int64_t n1) {
    if (bias_f32.empty()) return;
    for (int64_t m = m0; m < m1; ++m) {
      float* row = ys + m * N;
      for (int64_t n = n0; n < n1; ++n) row[n] += bias_f32[static_cast<size_t>(n)];
    }
  };

  if (K == 0) {
    for (int64_t i = 0; i < M * N; ++i) ys[i] = 0.0f;
    add_bias(0, M, 0, N);
    return;
  }

  if (M <= kSmallM) {
    int64_t rows_per_task = kSmallMRowsPerTask;
    while (rows_per_task > 8 && (N + rows_per_task - 1) / rows_per_task < threads * 4) rows_per_task /= 2;
    const int64_t n_tasks = (N + rows_per_task - 1) / rows_per_task;
    pool_.parallel_for(n_tasks, [&](int64_t task, int thread) {
      const int64_t n0 = task * rows_per_task;
      const int64_t n1 = std::min(N, n0 + rows_per_task);
      float* buffer = scratch(thread, static_cast<size_t>(4 * K));
      cpu::small_m_matmul(xs, M, K, w.data(), w_dtype, n0, n1 - n0, ys + n0, N, buffer);
      add_bias(0, M, n0, n1);
    });
    return;
  }

  // Tasks: (weight panel) × (contiguous range of x rows). A task converts its panel once; x rows
  // are split only as far as needed to give every thread work, panels shrink only after that.
  int64_t panel = kMaxPanel;
  int64_t panels = (N + panel - 1) / panel;
  const int64_t max_row_groups = (M + kMinRowsPerTask - 1) / kMinRowsPerTask;
  int64_t row_groups = std::min(max_row_groups, std::max<int64_t>(1, (threads * 2 + panels - 1) / panels));
  while (panel > kMinPanel && (panels * row_groups < threads * 2 || panel * K > kMaxPanelFloats)) {
    panel /= 2;
    panels = (N + panel - 1) / panel;
  }
  const int64_t rows_per_group = (M + row_groups - 1) / row_groups;
  hold_blas_single_threaded();
  pool_.parallel_for(row_groups * panels, [&](int64_t task, int thread) {
    const int64_t m0 = (task / panels) * rows_per_group;
    const int64_t m1 = std::min(M, m0 + rows_per_group);
    const int64_t n0 = (task % panels) * panel;
    const int64_t n1 = std::min(N, n0 + panel);
    if (m0 >= m1) return;
    const float* w_panel;
    if (w_dtype == DType::F32) {
      w_panel = w.data_as<const float>() + n0 * K;
    } else {
      float* buffer = scratch(thread, static_cast<size_t>((n1 - n0) * K));
      cpu::convert_to_f32_fast(w_bytes + static_cast<size_t>(n0 * K) * w_elem, w_dtype, buffer,
                               (n1 - n0) * K);
      w_panel = buffer;
    }
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, static_cast<int>(m1 - m0),
                static_cast<int>(n1 - n0), static_cast<int>(K), 1.0f, xs + m0 * K,
                static_cast<int>(K), w_panel, static_cast<int>(K), 0.0f, ys + m0 * N + n0,
                static_cast<int>(N));
    add_bias(m0, m1, n0, n1);
  });
}

}  // namespace vlm
