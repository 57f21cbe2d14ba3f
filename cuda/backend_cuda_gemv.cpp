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
#include "event_pair.h"
#include "vlm/log.h"

namespace vlm::cuda {

namespace {

constexpr int kTuneRounds = 3;
constexpr int kTuneCallsPerRound = 8;

bool aligned16(const void* p) { return reinterpret_cast<uintptr_t>(p) % 16 == 0; }

// Events around kTuneCallsPerRound launches of fn; milliseconds per call.
template <typename F>
float time_calls(cudaStream_t stream, const EventPair& events, F&& fn) {
  VLM_CUDA_CHECK(cudaEventRecord(events.start, stream));
  for (int i = 0; i < kTuneCallsPerRound; ++i) fn();
  VLM_CUDA_CHECK(cudaEventRecord(events.stop, stream));
  return events.elapsed_ms() / kTuneCallsPerRound;
}

// What the kernel needs of w: bf16 [N, K] with K % 8 == 0, rows 16-byte aligned.
bool gemv_fits(const Tensor& w) {
  return w.rank() == 2 && w.dtype() == DType::BF16 && w.rows() > 0 && w.cols() > 0 &&
         w.cols() % 8 == 0 && aligned16(w.data());
}

const bf16_bits* bits(const Tensor& t) { return t.empty() ? nullptr : static_cast<const bf16_bits*>(t.data()); }
bf16_bits* bits(Tensor& t) { return static_cast<bf16_bits*>(t.data()); }

}  // namespace

bool CudaBackend::capturing() const {
  cudaStreamCaptureStatus status = cudaStreamCaptureStatusNone;
  VLM_CUDA_CHECK(cudaStreamIsCapturing(stream_, &status));
  return status != cudaStreamCaptureStatusNone;
}

bool CudaBackend::gemv_chosen(const Tensor& w) {
  if (gemv_kernel_ == GemvKernel::CublasLt || !gemv_fits(w)) return false;
  if (gemv_kernel_ == GemvKernel::Ours) return true;
  auto choice = gemv_choices_.find({w.rows(), w.cols()});
  if (choice == gemv_choices_.end()) {
    tune_gemv(w);  // not while capturing (then the shape stays on cuBLASLt)
    choice = gemv_choices_.find({w.rows(), w.cols()});
  }
  return choice != gemv_choices_.end() && choice->second.ours_faster();
}

void CudaBackend::run_gemv(const GemvArgs& args, const char* op) {
  GemvArgs launched = args;
  launched.programmatic = programmatic_launch_;
  launch_gemv(launched, stream_);
  check_launch(op);
}

bool CudaBackend::matmul_gemv(const Tensor& x, const Tensor& w, const Tensor& bias, Tensor& y,
                              const MatmulShape& shape) {
  if (shape.m != 1 || !aligned16(x.data()) || !gemv_chosen(w)) return false;
  run_gemv({.x = bits(x), .w = bits(w), .bias = bits(bias), .y = bits(y), .n = shape.n, .k = shape.k},
           "matmul (gemv)");
  return true;
}

void CudaBackend::rmsnorm_matmul(const Tensor& x, const Tensor& norm_weight, float eps, const Tensor& w,
                                 const Tensor& bias, Tensor& y) {
  enter("rmsnorm_matmul");
  const MatmulShape shape = check_matmul_args(x, w, bias, y, kCudaDTypes);
  label_matmul("rmsnorm_matmul", shape);
  check_norm_weight(norm_weight, shape.k, kCudaDTypes, "rmsnorm_matmul");
  if (shape.m != 1 || shape.k > kGemvNormMaxK || !gemv_chosen(w)) {
    Backend::rmsnorm_matmul(x, norm_weight, eps, w, bias, y);
    return;
  }
  run_gemv({.x = bits(x), .norm_weight = bits(norm_weight), .eps = eps, .w = bits(w), .bias = bits(bias),
            .y = bits(y), .n = shape.n, .k = shape.k, .prologue = GemvPrologue::RmsNorm},
           "rmsnorm_matmul (gemv)");
}

void CudaBackend::matmul_add(const Tensor& x, const Tensor& w, Tensor& residual) {
  enter("matmul_add");
  const MatmulShape shape = check_matmul_args(x, w, Tensor(), residual, kCudaDTypes);
  label_matmul("matmul_add", shape);
  if (shape.m != 1 || !aligned16(x.data()) || !gemv_chosen(w)) {
    Backend::matmul_add(x, w, residual);
    return;
  }
  run_gemv({.x = bits(x), .w = bits(w), .residual = bits(residual), .n = shape.n, .k = shape.k},
           "matmul_add (gemv)");
}

void CudaBackend::silu_mul_matmul_add(const Tensor& gate_up, const Tensor& w, Tensor& residual) {
  enter("silu_mul_matmul_add");
  VLM_CHECK(gate_up.rank() == 2 && gate_up.rows() == 1 && gate_up.cols() % 2 == 0, InvalidInput,
            "silu_mul_matmul_add: gate_up " << gate_up.describe() << " must be [1, 2K]");
  const Tensor gate = gate_up.reshape({2, gate_up.cols() / 2}).slice_rows(0, 1);
  const MatmulShape shape = check_matmul_args(gate, w, Tensor(), residual, kCudaDTypes);
  label_matmul("silu_mul_matmul_add", shape);
  if (shape.k > kGemvSiluMaxK || !gemv_chosen(w)) {
    Backend::silu_mul_matmul_add(gate_up, w, residual);
    return;
  }
  run_gemv({.x = bits(gate_up), .w = bits(w), .residual = bits(residual), .n = shape.n, .k = shape.k,
            .prologue = GemvPrologue::SiluMul},
           "silu_mul_matmul_add (gemv)");
}

void CudaBackend::tune_gemv(const Tensor& w) {
  if (gemv_kernel_ != GemvKernel::Auto || !gemv_fits(w)) return;
  const int64_t n = w.rows(), k = w.cols();
  if (gemv_choices_.count({n, k}) != 0 || capturing()) return;
  Tensor x = alloc(DType::BF16, {1, k});
  Tensor y = alloc(DType::BF16, {1, n});
  VLM_CUDA_CHECK(cudaMemsetAsync(x.data(), 0, x.nbytes(), stream_));
  const EventPair events;
  GemvChoice choice;
  const GemvArgs args{.x = bits(x), .w = bits(w), .y = bits(y), .n = n, .k = k};
  const auto ours = [&] { launch_gemv(args, stream_); };
  const auto library = [&] { gemm_->run(x.data(), w.data(), nullptr, y.data(), 1, n, k); };
  ours();  // warm-up: first launches, cuBLASLt's plan (its algorithm timed, gemm_cublaslt.h)
  library();
  check_launch("gemv tuning");
  choice.ours_ms = choice.cublaslt_ms = 1e30f;
  for (int round = 0; round < kTuneRounds; ++round) {
    choice.ours_ms = std::min(choice.ours_ms, time_calls(stream_, events, ours));
    choice.cublaslt_ms = std::min(choice.cublaslt_ms, time_calls(stream_, events, library));
  }
  check_launch("gemv tuning");
  gemv_choices_[{n, k}] = choice;
  std::ostringstream line;
  line << "cuda:" << device_ << " matmul M=1 N=" << n << " K=" << k << ": gemv " << choice.ours_ms * 1e3
       << " us, cuBLASLt " << choice.cublaslt_ms * 1e3 << " us -> "
       << (choice.ours_faster() ? "gemv" : "cuBLASLt");
  log(LogLevel::Debug, line.str());
}

}  // namespace vlm::cuda
