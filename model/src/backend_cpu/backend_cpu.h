// CpuBackend: the reference implementation of vlm::Backend (backend.h) on the host.
// Activations are F32; weights stay in their checkpoint dtype (F32/F16/BF16, possibly memory-mapped)
// and are converted to f32 a panel or a row at a time inside the ops. One thread pool per backend
// runs every op; OpenBLAS is set to one thread (hold_blas_single_threaded) so that it and the pool
// never oversubscribe the cores.
// Argument checks are the shared ones of vlm/backend_checks.h under kCpuDTypes.
// The ops are defined across files by concern: backend_cpu.cpp (memory, small ops),
// cpu_matmul.cpp, cpu_attention.cpp, cpu_elementwise.cpp, cpu_recorded_steps.cpp.
#pragma once

#include <memory>
#include <vector>

#include "backend_cpu/cpu_threads.h"
#include "vlm/backend.h"
#include "vlm/backend_checks.h"

namespace vlm {

class CpuBackend : public Backend {
 public:
  explicit CpuBackend(int n_threads);

  std::string name() const override;
  bool supports(Op op, DType dtype) const override;
  DType activation_dtype() const override { return DType::F32; }
  int n_threads() const { return pool_.size(); }

  Tensor alloc(DType dtype, std::vector<int64_t> shape) override;
  Tensor upload_weight(const Tensor& host) override;
  Tensor from_host_f32(const float* values, std::vector<int64_t> shape, DType dtype) override;
  std::vector<float> to_host_f32(const Tensor& tensor) override;
  void synchronize() override {}

  void matmul(const Tensor& x, const Tensor& w, const Tensor& bias, Tensor& y) override;
  void rmsnorm(const Tensor& x, const Tensor& weight, float eps, Tensor& y) override;
  void rope(Tensor& x, const Tensor& cos, const Tensor& sin) override;
  void attention_varlen(const Tensor& q, const Tensor& k, const Tensor& v,
                        std::span<const int32_t> cu_seqlens, float scale, Tensor& out) override;
  void attention_causal(const Tensor& q, const Tensor& k_cache, const Tensor& v_cache,
                        int64_t n_past, float scale, Tensor& out) override;
  void silu_mul(const Tensor& gate, const Tensor& up, Tensor& y) override;
  void gelu(const Tensor& x, Tensor& y) override;
  void add(const Tensor& a, const Tensor& b, Tensor& y) override;
  void embedding(const Tensor& table, std::span<const int32_t> ids, Tensor& y) override;
  void gather_rows(const Tensor& x, std::span<const int32_t> index, Tensor& y) override;
  void copy_rows(const Tensor& src, int64_t src_row0, Tensor& dst, int64_t dst_row0,
                 int64_t n_rows) override;
  std::vector<int32_t> argmax(const Tensor& x) override;

  // Recorded steps (cpu_recorded_steps.cpp): a recording is the op sequence called again.
  bool supports_recorded_steps() const override { return true; }
  std::unique_ptr<RecordedSteps> record(const std::function<void()>& ops) override;
  void write(Tensor& dst, const void* host) override;
  void embedding_at(const Tensor& table, const Tensor& ids, Tensor& y) override;
  void copy_rows_at(const Tensor& src, Tensor& dst, const Tensor& dst_row) override;
  void attention_causal_at(const Tensor& q, const Tensor& k_cache, const Tensor& v_cache,
                           const Tensor& n_past_at, float scale, Tensor& out) override;

 private:
  // Per-thread f32 scratch of at least n floats (reused across ops; grows, never shrinks).
  float* scratch(int thread, size_t n);
  // Splits [0, n) into chunks of at least min_chunk elements and runs fn(begin, end, thread) on
  // the pool; for elementwise ops.
  void parallel_ranges(int64_t n, int64_t min_chunk,
                       const std::function<void(int64_t begin, int64_t end, int thread)>& fn);

  CpuThreadPool pool_;
  std::vector<std::vector<float>> scratch_;
};

// Sets OpenBLAS to one thread (our pool does the parallelism), called before every op that uses
// BLAS from inside the pool. The setting is process-wide and deliberately not restored: restoring
// would race with a second CpuBackend working in another thread, and nothing else in libvlm
// calls BLAS. Code that wants threaded BLAS for itself sets it again before its own calls.
void hold_blas_single_threaded();

// The CPU backend's dtypes for the shared argument checks (vlm/backend_checks.h) and
// supports(): F32 activations, weights of any float dtype (converted inside the ops).
inline constexpr DTypePolicy kCpuDTypes{DType::F32, false, "the CPU backend's activations are F32"};

}  // namespace vlm
