// CudaBackend's choice between cuBLASLt and our GEMV kernel (kernels/gemv.cu) for matmuls with one
// activation row: the decode step's q/k/v, o, gate/up, down and lm_head; and the fused one-row ops
// (rmsnorm_matmul, matmul_add, silu_mul_matmul_add: one GEMV kernel each where the GEMV is chosen
// for w's shape, else the base class's op sequence with cuBLASLt). Which is faster depends
// on the shape, the GPU and the library version, so in Auto mode it is measured, once per weight
// shape (N, K), when the weight is uploaded (never during a capture: a recorded decode step only
// replays what was chosen before). Both candidates run interleaved on the backend's stream, 3
// rounds of 8 calls each, timed with CUDA events; the faster minimum wins. VLM_CUDA_GEMV=auto|ours|
// cublaslt or set_gemv_kernel() forces a choice (A/B in bench_cuda_ops and vlm bench).
#include <algorithm>
#include <cstdint>
#include <sstream>

#include "backend_cuda_impl.h"
#include "check.h"
#include "vlm/log.h"

namespace vlm::cuda {

namespace {

constexpr int kTuneRounds = 3;
constexpr int kTuneCallsPerRound = 8;

bool aligned16(const void* p) { return reinterpret_cast<uintptr_t>(p) % 16 == 0; }

// Events around `calls` launches of fn; milliseconds per call.
template <typename F>
float time_calls(cudaStream_t stream, cudaEvent_t start, cudaEvent_t stop, F&& fn) {
  VLM_CUDA_CHECK(cudaEventRecord(start, stream));
  for (int i = 0; i < kTuneCallsPerRound; ++i) fn();
  VLM_CUDA_CHECK(cudaEventRecord(stop, stream));
  VLM_CUDA_CHECK(cudaEventSynchronize(stop));
  float ms = 0.0f;
  VLM_CUDA_CHECK(cudaEventElapsedTime(&ms, start, stop));
  return ms / kTuneCallsPerRound;
}

}  // namespace

bool CudaBackend::gemv_chosen(const Tensor& w) {
  if (gemv_kernel_ == GemvKernel::CublasLt || w.rank() != 2 || w.dtype() != DType::BF16) return false;
  const int64_t n = w.rows(), k = w.cols();
  if (n == 0 || k == 0 || k % 8 != 0 || !aligned16(w.data())) return false;
  if (gemv_kernel_ == GemvKernel::Ours) return true;
  auto choice = gemv_choices_.find({n, k});
  if (choice == gemv_choices_.end()) {
    cudaStreamCaptureStatus capturing = cudaStreamCaptureStatusNone;
    VLM_CUDA_CHECK(cudaStreamIsCapturing(stream_, &capturing));
    if (capturing != cudaStreamCaptureStatusNone) return false;  // not measured: cuBLASLt
    tune_gemv(w);
    choice = gemv_choices_.find({n, k});
  }
  return choice != gemv_choices_.end() && choice->second.ours_faster();
}

namespace {

const bf16_bits* bits(const Tensor& t) { return t.empty() ? nullptr : static_cast<const bf16_bits*>(t.data()); }
bf16_bits* bits(Tensor& t) { return static_cast<bf16_bits*>(t.data()); }

}  // namespace

bool CudaBackend::matmul_gemv(const Tensor& x, const Tensor& w, const Tensor& bias, Tensor& y,
                              const MatmulShape& shape) {
  if (shape.m != 1 || !aligned16(x.data()) || !gemv_chosen(w)) return false;
  GemvArgs args;
  args.x = bits(x);
  args.w = bits(w);
  args.bias = bits(bias);
  args.y = bits(y);
  args.n = shape.n;
  args.k = shape.k;
  launch_gemv(args, stream_);
  check_launch("matmul (gemv)");
  return true;
}

void CudaBackend::rmsnorm_matmul(const Tensor& x, const Tensor& norm_weight, float eps, const Tensor& w,
                                 const Tensor& bias, Tensor& y) {
  enter();
  const MatmulShape shape = check_matmul_args(x, w, bias, y, kCudaDTypes);
  check_norm_weight(norm_weight, shape.k, kCudaDTypes, "rmsnorm_matmul");
  if (shape.m != 1 || shape.k > kGemvNormMaxK || !gemv_chosen(w)) {
    Backend::rmsnorm_matmul(x, norm_weight, eps, w, bias, y);
    return;
  }
  GemvArgs args;
  args.prologue = GemvPrologue::RmsNorm;
  args.x = bits(x);
  args.norm_weight = bits(norm_weight);
  args.eps = eps;
  args.w = bits(w);
  args.bias = bits(bias);
  args.y = bits(y);
  args.n = shape.n;
  args.k = shape.k;
  launch_gemv(args, stream_);
  check_launch("rmsnorm_matmul (gemv)");
}

void CudaBackend::matmul_add(const Tensor& x, const Tensor& w, Tensor& residual) {
  enter();
  const MatmulShape shape = check_matmul_args(x, w, Tensor(), residual, kCudaDTypes);
  if (shape.m != 1 || !aligned16(x.data()) || !gemv_chosen(w)) {
    Backend::matmul_add(x, w, residual);
    return;
  }
  GemvArgs args;
  args.x = bits(x);
  args.w = bits(w);
  args.residual = bits(residual);
  args.n = shape.n;
  args.k = shape.k;
  launch_gemv(args, stream_);
  check_launch("matmul_add (gemv)");
}

void CudaBackend::silu_mul_matmul_add(const Tensor& gate_up, const Tensor& w, Tensor& residual) {
  enter();
  VLM_CHECK(gate_up.rank() == 2 && gate_up.rows() == 1 && gate_up.cols() % 2 == 0, InvalidInput,
            "silu_mul_matmul_add: gate_up " << gate_up.describe() << " must be [1, 2K]");
  const Tensor gate = gate_up.reshape({2, gate_up.cols() / 2}).slice_rows(0, 1);
  const MatmulShape shape = check_matmul_args(gate, w, Tensor(), residual, kCudaDTypes);
  if (shape.k > kGemvSiluMaxK || !gemv_chosen(w)) {
    Backend::silu_mul_matmul_add(gate_up, w, residual);
    return;
  }
  GemvArgs args;
  args.prologue = GemvPrologue::SiluMul;
  args.x = bits(gate_up);
  args.w = bits(w);
  args.residual = bits(residual);
  args.n = shape.n;
  args.k = shape.k;
  launch_gemv(args, stream_);
  check_launch("silu_mul_matmul_add (gemv)");
}

void CudaBackend::tune_gemv(const Tensor& w) {
  if (gemv_kernel_ != GemvKernel::Auto || w.shape().size() != 2 || w.dtype() != DType::BF16) return;
  const int64_t n = w.rows(), k = w.cols();
  if (n == 0 || k == 0 || k % 8 != 0 || !aligned16(w.data()) || gemv_choices_.count({n, k}) != 0) return;
  cudaStreamCaptureStatus capturing = cudaStreamCaptureStatusNone;
  VLM_CUDA_CHECK(cudaStreamIsCapturing(stream_, &capturing));
  if (capturing != cudaStreamCaptureStatusNone) return;
  Tensor x = alloc(DType::BF16, {1, k});
  Tensor y = alloc(DType::BF16, {1, n});
  VLM_CUDA_CHECK(cudaMemsetAsync(x.data(), 0, x.nbytes(), stream_));
  cudaEvent_t start = nullptr, stop = nullptr;
  VLM_CUDA_CHECK(cudaEventCreate(&start));
  GemvChoice choice;
  try {
    VLM_CUDA_CHECK(cudaEventCreate(&stop));
    GemvArgs args;
    args.x = bits(x);
    args.w = bits(w);
    args.y = bits(y);
    args.n = n;
    args.k = k;
    const auto ours = [&] { launch_gemv(args, stream_); };
    const auto library = [&] { gemm_->run(x.data(), w.data(), nullptr, y.data(), 1, n, k); };
    ours();  // warm-up: first launches, cuBLASLt's plan
    library();
    check_launch("gemv tuning");
    choice.ours_ms = choice.cublaslt_ms = 1e30f;
    for (int round = 0; round < kTuneRounds; ++round) {
      choice.ours_ms = std::min(choice.ours_ms, time_calls(stream_, start, stop, ours));
      choice.cublaslt_ms = std::min(choice.cublaslt_ms, time_calls(stream_, start, stop, library));
    }
    check_launch("gemv tuning");
  } catch (...) {
    (void)cudaEventDestroy(start);
    if (stop != nullptr) (void)cudaEventDestroy(stop);
    throw;
  }
  (void)cudaEventDestroy(start);
  (void)cudaEventDestroy(stop);
  gemv_choices_[{n, k}] = choice;
  std::ostringstream line;
  line << "cuda:" << device_ << " matmul M=1 N=" << n << " K=" << k << ": gemv " << choice.ours_ms * 1e3
       << " us, cuBLASLt " << choice.cublaslt_ms * 1e3 << " us -> "
       << (choice.ours_faster() ? "gemv" : "cuBLASLt");
  log(LogLevel::Debug, line.str());
}

}  // namespace vlm::cuda
