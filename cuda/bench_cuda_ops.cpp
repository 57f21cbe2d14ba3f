// bench_cuda_ops: kernel figures of the CUDA backend on the GPU it runs on (issue 5's "kernel
// figures"), each against a reference measured in the same run:
// - HBM bandwidth: a large device-to-device copy (bytes read + written per second);
// - the ViT MLP's K = 3420: unaligned against 3424-aligned GEMMs (the layout the vision encoder
//   loads on this backend), at M = 1024 … 16384 (bench_k_padding: what the padding gains);
// - token choice at V = 151936 on the device against copy + host sampler (bench_sample), and
//   GPU preprocessing of a 16-frame 1280x720 NV12 clip against the CPU path + upload;
// - GEMM TFLOP/s through the backend (its cuBLASLt plan: the fastest of the heuristic's candidates
//   where it timed them) at the model's shapes, against the heuristic's first algorithm and
//   classic cuBLAS (cublasGemmEx, its own choice) on the same operands, "cuBLAS's best" being
//   the faster of those two; at M = 1 (decode) also
//   our GEMV kernel against cuBLASLt, as GB/s and a fraction of the measured HBM bandwidth, and
//   what the backend's Auto mode chose (bench_gemv); the decode step's GEMV chain (3B, 7B: every
//   layer's weights once, as a graph) with and without programmatic dependent launch;
// - attention TFLOP/s of the three kernels (CUDA cores "simt", WMMA "mma", registers "flash") on
//   the same operands, with flash's speed-ups and the max differences: ViT varlen (16 frames at
//   448²: 8192 rows in window segments of 64 and full 1024-row segments, 16 heads × 80; plain,
//   and as the ViT calls it: joined q|k|v rows, rope on load) and causal GQA prefill (28/4 heads
//   × 128: 1024 and 4096 tokens, 256 after 1024 cached, 16 tokens);
// - decode attention against a 4096-token cache as a fraction of the measured HBM bandwidth;
// - the ViT's add_rmsnorm and silu_mul_joined as a fraction of HBM, in 16-byte packs and element
//   by element; the ViT's MLP half (gate|up, silu·mul, down, add + norm) over the whole clip
//   against row blocks small enough for L2 (bench_vit_mlp_row_blocks).
// Figures only, no assertions. Times are wall-clock over repeated calls after a warm-up, with the
// backend's stream synchronised at both ends (host overheads of each op included).
#include <cublas_v2.h>
#include <cuda_runtime_api.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "backend_cuda.h"
#include "backend_cuda_impl.h"
#include "check.h"
#include "preprocess_cuda.h"
#include "vlm/image.h"
#include "vlm/preprocess.h"

namespace {

using vlm::DType;
using vlm::Tensor;
using vlm::cuda::CudaBackend;

double time_ms(CudaBackend& backend, int repeat, const std::function<void()>& fn) {
  fn();
  backend.synchronize();
  VLM_CUDA_CHECK(cudaDeviceSynchronize());  // cuBLAS references run on the default stream
  const auto t0 = std::chrono::steady_clock::now();
  for (int i = 0; i < repeat; ++i) fn();
  backend.synchronize();
  VLM_CUDA_CHECK(cudaDeviceSynchronize());
  const auto t1 = std::chrono::steady_clock::now();
  return std::chrono::duration<double, std::milli>(t1 - t0).count() / repeat;
}

Tensor random_bf16(CudaBackend& backend, std::vector<int64_t> shape, float amplitude) {
  int64_t n = 1;
  for (int64_t d : shape) n *= d;
  std::vector<float> host(static_cast<size_t>(n));
  uint32_t state = 12345;
  for (float& v : host) {
    state = state * 1664525u + 1013904223u;
    v = amplitude * (static_cast<float>(state >> 8) / 8388608.0f - 1.0f);
  }
  return backend.from_host_f32(host.data(), std::move(shape), DType::BF16);
}

double measure_hbm_gbps(CudaBackend& backend) {
  const size_t bytes = size_t{2} << 30;
  Tensor a = backend.alloc(DType::U8, {static_cast<int64_t>(bytes)});
  Tensor b = backend.alloc(DType::U8, {static_cast<int64_t>(bytes)});
  const double ms = time_ms(backend, 10, [&] {
    VLM_CUDA_CHECK(cudaMemcpyAsync(b.data(), a.data(), bytes, cudaMemcpyDeviceToDevice, nullptr));
  });
  return 2.0 * static_cast<double>(bytes) / (ms * 1e-3) / 1e9;
}

struct GemmShape {
  const char* name;
  int64_t m, n, k;
};

void bench_gemm(CudaBackend& backend, cublasHandle_t cublas, const GemmShape& s) {
  Tensor x = random_bf16(backend, {s.m, s.k}, 1.0f);
  Tensor w = random_bf16(backend, {s.n, s.k}, 0.05f);
  Tensor y = backend.alloc(DType::BF16, {s.m, s.n});
  const int repeat = s.m == 1 ? 200 : 20;
  // The backend as it runs (its warm-up call makes the plan: timing cuBLASLt's candidates where
  // the problem is large enough), then the heuristic's first algorithm on the same operands.
  const vlm::cuda::GemmTuning tuning = backend.gemm_tuning();
  const double ours = time_ms(backend, repeat, [&] { backend.matmul(x, w, Tensor(), y); });
  std::string choice = "heuristic's first";
  for (const vlm::cuda::GemmTuneRecord& r : backend.gemm_tune_records()) {
    if (r.m == s.m && r.n == s.n && r.k == s.k && !r.bias) {
      choice = "kept #" + std::to_string(r.chosen) + " of " + std::to_string(r.candidates);
    }
  }
  backend.set_gemm_tuning({.measure = false});
  const double first = time_ms(backend, repeat, [&] { backend.matmul(x, w, Tensor(), y); });
  backend.set_gemm_tuning(tuning);
  const float alpha = 1.0f, beta = 0.0f;
  const double ref = time_ms(backend, repeat, [&] {
    if (cublasGemmEx(cublas, CUBLAS_OP_T, CUBLAS_OP_N, static_cast<int>(s.n), static_cast<int>(s.m),
                     static_cast<int>(s.k), &alpha, w.data(), CUDA_R_16BF, static_cast<int>(s.k),
                     x.data(), CUDA_R_16BF, static_cast<int>(s.k), &beta, y.data(), CUDA_R_16BF,
                     static_cast<int>(s.n), CUBLAS_COMPUTE_32F, CUBLAS_GEMM_DEFAULT) !=
        CUBLAS_STATUS_SUCCESS) {
      VLM_THROW(Device, "cublasGemmEx failed for " << s.name);
    }
  });
  const double flop = 2.0 * static_cast<double>(s.m) * static_cast<double>(s.n) * static_cast<double>(s.k);
  const double bytes = 2.0 * static_cast<double>(s.n * s.k + s.m * s.k + s.m * s.n);
  const auto tflops = [&](double ms) { return flop / (ms * 1e-3) / 1e12; };
  std::printf("gemm %-30s M=%5ld N=%6ld K=%5ld  ours %8.3f ms %7.1f TFLOP/s %7.0f GB/s (%s) | "
              "heuristic's first %7.1f TFLOP/s | cublasGemmEx %7.1f TFLOP/s | ratio vs first %.2f, "
              "vs cuBLAS's best %.2f\n",
              s.name, static_cast<long>(s.m), static_cast<long>(s.n), static_cast<long>(s.k), ours,
              tflops(ours), bytes / (ours * 1e-3) / 1e9, choice.c_str(), tflops(first), tflops(ref),
              first / ours, std::min(first, ref) / ours);
}

// Decode's matmuls (M = 1): our GEMV kernel and the backend's cuBLASLt plan forced in turn on the
// same operands, with bias (the q/k/v case) and without, and the choice Auto measured at upload.
void bench_gemv(CudaBackend& backend, const GemmShape& s, double hbm_gbps) {
  // Uploaded like a checkpoint weight (Auto measures its shape then); a constant fill keeps the
  // 7B lm_head's 0.5 G values cheap to make, and a GEMV's time does not depend on the values.
  auto bits = std::make_shared<std::vector<uint16_t>>(static_cast<size_t>(s.n * s.k), vlm::f32_to_bf16(0.01f));
  const Tensor w = backend.upload_weight(Tensor(bits->data(), DType::BF16, {s.n, s.k}, bits));
  Tensor x = random_bf16(backend, {1, s.k}, 1.0f);
  Tensor bias = random_bf16(backend, {s.n}, 0.1f);
  Tensor y = backend.alloc(DType::BF16, {1, s.n});
  const auto mode = backend.gemv_kernel();
  backend.set_gemv_kernel(CudaBackend::GemvKernel::Ours);
  const double ours = time_ms(backend, 200, [&] { backend.matmul(x, w, Tensor(), y); });
  const double ours_bias = time_ms(backend, 200, [&] { backend.matmul(x, w, bias, y); });
  backend.set_gemv_kernel(CudaBackend::GemvKernel::CublasLt);
  const double lt = time_ms(backend, 200, [&] { backend.matmul(x, w, Tensor(), y); });
  const double lt_bias = time_ms(backend, 200, [&] { backend.matmul(x, w, bias, y); });
  backend.set_gemv_kernel(mode);
  const auto choice = backend.gemv_choices().find({s.n, s.k});
  const double bytes = 2.0 * static_cast<double>(s.n * s.k + s.k + s.n);
  const auto gbps = [&](double ms) { return bytes / (ms * 1e-3) / 1e9; };
  std::printf("gemv %-26s N=%6ld K=%5ld  ours %7.4f ms %6.0f GB/s = %.2f of HBM (bias %7.4f) | cuBLASLt "
              "%7.4f ms %6.0f GB/s = %.2f (bias %7.4f) | lt/ours %.2f | auto chose %s\n",
              s.name, static_cast<long>(s.n), static_cast<long>(s.k), ours, gbps(ours), gbps(ours) / hbm_gbps,
              ours_bias, lt, gbps(lt), gbps(lt) / hbm_gbps, lt_bias, lt / ours,
              choice == backend.gemv_choices().end() ? "-" : choice->second.ours_faster() ? "gemv" : "cuBLASLt");
}

// The decode step's weight stream without attention: per layer the four one-row ops of
// text_decode_step.cpp (rmsnorm+qkv, o+residual, rmsnorm+gate|up, silu·mul+down+residual) on our
// GEMV, recorded as one graph and replayed, with and without programmatic dependent launch
// (set_programmatic_launch). Bytes = every weight once; the fraction of HBM is what decode can
// reach at best, and the PDL ratio what the overlapped hand-offs gain.
void bench_decode_chain(CudaBackend& backend, const char* name, int64_t layers, int64_t hidden,
                        int64_t qkv, int64_t inter, double hbm_gbps) {
  struct Layer {
    Tensor norm1, norm2, w_qkv, bias_qkv, w_o, w_gate_up, w_down;
  };
  const auto weight = [&](std::vector<int64_t> shape) {
    Tensor t = backend.alloc(DType::BF16, std::move(shape));
    VLM_CUDA_CHECK(cudaMemsetAsync(t.data(), 0x3c, t.nbytes(), backend.stream()));  // 0.0115 each
    return t;
  };
  std::vector<Layer> weights;
  double bytes = 0.0;
  for (int64_t l = 0; l < layers; ++l) {
    weights.push_back({weight({hidden}), weight({hidden}), weight({qkv, hidden}), weight({qkv}),
                       weight({hidden, hidden}), weight({2 * inter, hidden}), weight({hidden, inter})});
    bytes += 2.0 * static_cast<double>(hidden * (qkv + hidden + 3 * inter) + qkv + 2 * hidden);
  }
  Tensor x = random_bf16(backend, {1, hidden}, 1.0f);
  Tensor attn = random_bf16(backend, {1, hidden}, 1.0f);  // stands in for the attention output
  Tensor qkv_out = backend.alloc(DType::BF16, {1, qkv});
  Tensor gate_up = backend.alloc(DType::BF16, {1, 2 * inter});
  const auto step = [&] {
    for (const Layer& w : weights) {
      backend.rmsnorm_matmul(x, w.norm1, 1e-6f, w.w_qkv, w.bias_qkv, qkv_out);
      backend.matmul_add(attn, w.w_o, x);
      backend.rmsnorm_matmul(x, w.norm2, 1e-6f, w.w_gate_up, Tensor(), gate_up);
      backend.silu_mul_matmul_add(gate_up, w.w_down, x);
    }
  };
  const auto mode = backend.gemv_kernel();
  const bool programmatic = backend.programmatic_launch();
  backend.set_gemv_kernel(CudaBackend::GemvKernel::Ours);
  double ms[2] = {0.0, 0.0};
  for (int pdl = 0; pdl < 2; ++pdl) {
    backend.set_programmatic_launch(pdl == 1);
    if (pdl == 1 && !backend.programmatic_launch()) break;  // before sm_90
    const std::unique_ptr<vlm::RecordedSteps> recorded = backend.record(step);
    ms[pdl] = time_ms(backend, 50, [&] { recorded->replay(); });
  }
  backend.set_programmatic_launch(programmatic);
  backend.set_gemv_kernel(mode);
  const auto gbps = [&](double t) { return bytes / (t * 1e-3) / 1e9; };
  std::printf("decode chain %s (%ld layers, %.2f GB of weights, no attention): graph %.3f ms = %.2f of "
              "HBM | with PDL %.3f ms = %.2f of HBM | speed-up %.2f\n",
              name, static_cast<long>(layers), bytes / 1e9, ms[0], gbps(ms[0]) / hbm_gbps, ms[1],
              ms[1] > 0 ? gbps(ms[1]) / hbm_gbps : 0.0, ms[1] > 0 ? ms[0] / ms[1] : 0.0);
}

// The ViT MLP's K = 3420 (3B and 7B ViT: hidden 1280, intermediate 3420; M = patches of one
// clip/image, 1024 … 16384): the down projection [M,3420]·[1280,3420]ᵀ as the checkpoint has it
// (unaligned rows) against K = 3424, what the vision encoder runs on this backend (its MLP width
// padded with zeros at load time: matmul_width_multiple() = 8, VLM_CUDA_PAD_K=0 turns it off); and
// its transpose, the gate/up projections [M,1280]·[3420,1280]ᵀ, at N = 3420 against N = 3424. All
// with the bias epilogue, as in the model.
void bench_k_padding(CudaBackend& backend) {
  const int64_t hidden = 1280, inter = 3420, inter_padded = 3424;
  std::printf("ViT MLP K=3420: unaligned vs aligned (3424, the padded layout the encoder loads: %s) "
              "GEMMs; ratio > 1 = aligned faster\n",
              backend.matmul_width_multiple() == 8 ? "on" : "off");
  const Tensor bias_hidden = random_bf16(backend, {hidden}, 0.1f);
  const Tensor bias_inter = random_bf16(backend, {inter}, 0.1f);
  const Tensor bias_inter_padded = random_bf16(backend, {inter_padded}, 0.1f);
  const Tensor w_down = random_bf16(backend, {hidden, inter}, 0.05f);
  const Tensor w_down_aligned = random_bf16(backend, {hidden, inter_padded}, 0.05f);
  const Tensor w_up = random_bf16(backend, {inter, hidden}, 0.05f);
  const Tensor w_up_aligned = random_bf16(backend, {inter_padded, hidden}, 0.05f);
  for (int64_t m : {1024, 4096, 8192, 16384}) {
    const Tensor x = random_bf16(backend, {m, inter}, 1.0f);
    const Tensor x_aligned = random_bf16(backend, {m, inter_padded}, 1.0f);
    const Tensor x_hidden = random_bf16(backend, {m, hidden}, 1.0f);
    Tensor y = backend.alloc(DType::BF16, {m, hidden});
    Tensor y_inter = backend.alloc(DType::BF16, {m, inter});
    Tensor y_inter_aligned = backend.alloc(DType::BF16, {m, inter_padded});
    const double down = time_ms(backend, 20, [&] { backend.matmul(x, w_down, bias_hidden, y); });
    const double down_aligned =
        time_ms(backend, 20, [&] { backend.matmul(x_aligned, w_down_aligned, bias_hidden, y); });
    const double up = time_ms(backend, 20, [&] { backend.matmul(x_hidden, w_up, bias_inter, y_inter); });
    const double up_aligned = time_ms(backend, 20, [&] {
      backend.matmul(x_hidden, w_up_aligned, bias_inter_padded, y_inter_aligned);
    });
    const double flop = 2.0 * static_cast<double>(m) * hidden * inter;
    std::printf("  M=%5ld down K=3420 %7.3f ms (%6.1f TFLOP/s) | K=3424 %7.3f ms ratio %.2f || "
                "up/gate N=3420 %7.3f ms | N=3424 %7.3f ms ratio %.2f\n",
                static_cast<long>(m), down, flop / (down * 1e-3) / 1e12, down_aligned,
                down / down_aligned, up, up_aligned, up / up_aligned);
  }
}

// Token choice at the Qwen2.5-VL vocabulary: the device sampler (one id copied back) against the
// default path on the same backend (logits row to the host + the CPU sampler), per decode step.
void bench_sample(CudaBackend& backend) {
  const int64_t vocab = 151936;
  const Tensor logits = random_bf16(backend, {1, vocab}, 8.0f);
  std::vector<int32_t> history(2000);
  for (size_t i = 0; i < history.size(); ++i) history[i] = static_cast<int32_t>((i * 7919) % vocab);
  struct Setting {
    const char* name;
    bool greedy;
    float temperature;
    int top_k;
    float top_p;
    float penalty;
  };
  const Setting settings[] = {{"greedy", true, 1.0f, 0, 1.0f, 1.0f},
                              {"greedy + penalty 1.05", true, 1.0f, 0, 1.0f, 1.05f},
                              {"T 0.7, top-k 50, top-p 0.8", false, 0.7f, 50, 0.8f, 1.0f},
                              {"top-p 0.9 (full vocabulary)", false, 1.0f, 0, 0.9f, 1.0f},
                              {"T 0.7, k 50, p 0.8, penalty 1.05", false, 0.7f, 50, 0.8f, 1.05f}};
  for (const Setting& st : settings) {
    vlm::SampleParams params;
    params.greedy = st.greedy;
    params.temperature = st.temperature;
    params.top_k = st.top_k;
    params.top_p = st.top_p;
    params.repetition_penalty = st.penalty;
    params.history = history;
    params.uniform = 0.37;
    int32_t device_id = -1, host_id = -2;
    const double device_ms = time_ms(backend, 50, [&] { device_id = backend.sample(logits, params); });
    const double host_ms =
        time_ms(backend, 50, [&] { host_id = backend.vlm::Backend::sample(logits, params); });
    std::printf("sample V=%ld %-34s device %7.3f ms | copy + host sampler %7.3f ms | ratio %.2f%s\n",
                static_cast<long>(vocab), st.name, device_ms, host_ms, host_ms / device_ms,
                device_id == host_id ? "" : "  (ids DIFFER)");
  }
}

// Preprocessing a 16-frame 1280x720 NV12 clip (the element's usual input) to bf16 pixel_values on
// the device: GPU path against the CPU path + upload (to_rgb8, preprocess_video, from_host_f32).
void bench_preprocess(CudaBackend& backend) {
  const int width = 1280, height = 720, n_frames = 16;
  const int chroma_row = width, luma_stride = width;
  std::vector<std::vector<uint8_t>> planes;
  std::vector<vlm::FrameView> views;
  uint32_t state = 99;
  for (int f = 0; f < n_frames; ++f) {
    std::vector<uint8_t> luma(static_cast<size_t>(luma_stride) * height);
    std::vector<uint8_t> chroma(static_cast<size_t>(chroma_row) * (height / 2));
    for (auto& b : luma) b = static_cast<uint8_t>((state = state * 1664525u + 1013904223u) >> 24);
    for (auto& b : chroma) b = static_cast<uint8_t>((state = state * 1664525u + 1013904223u) >> 24);
    planes.push_back(std::move(luma));
    planes.push_back(std::move(chroma));
  }
  for (int f = 0; f < n_frames; ++f) {
    vlm::FrameView v;
    v.format = vlm::PixelFormat::NV12;
    v.width = width;
    v.height = height;
    v.planes[0] = planes[static_cast<size_t>(2 * f)].data();
    v.planes[1] = planes[static_cast<size_t>(2 * f + 1)].data();
    v.strides[0] = luma_stride;
    v.strides[1] = chroma_row;
    views.push_back(v);
  }
  const vlm::PreprocessorConfig config;
  const double gpu_ms = time_ms(backend, 5, [&] {
    (void)vlm::cuda::preprocess_video_cuda(backend, views, 2.0, config);
  });
  const double cpu_ms = time_ms(backend, 2, [&] {
    std::vector<vlm::ImageRgb8> rgb;
    for (const auto& v : views) rgb.push_back(vlm::to_rgb8(v));
    const vlm::VisionInput input = vlm::preprocess_video(rgb, 2.0, config);
    const int64_t cols = static_cast<int64_t>(input.pixel_values.size()) / input.grid.patches();
    (void)backend.from_host_f32(input.pixel_values.data(), {input.grid.patches(), cols}, DType::BF16);
  });
  std::printf("preprocess 16 NV12 frames %dx%d -> bf16 pixel_values: GPU %8.2f ms | CPU + upload "
              "%8.2f ms | ratio %.1f\n", width, height, gpu_ms, cpu_ms, cpu_ms / gpu_ms);
}

// Max |a − b| over two outputs of the same op (the two attention kernels must agree).
double max_abs_diff(CudaBackend& backend, const Tensor& a, const Tensor& b) {
  const std::vector<float> x = backend.to_host_f32(a), y = backend.to_host_f32(b);
  double diff = 0.0;
  for (size_t i = 0; i < x.size(); ++i) diff = std::max(diff, std::abs(static_cast<double>(x[i]) - y[i]));
  return diff;
}

// Times `call(out)` with each attention kernel forced in turn (CUDA cores, WMMA, registers: each
// into its own output); the backend's choice is restored afterwards.
struct AttentionTimes {
  static constexpr CudaBackend::AttentionKernel kKernels[] = {
      CudaBackend::AttentionKernel::Simt, CudaBackend::AttentionKernel::Mma,
      CudaBackend::AttentionKernel::Flash};
  double ms[3] = {};
  double diff_mma = 0.0, diff_flash = 0.0;  // max |out − simt's out|
};
AttentionTimes time_attention_kernels(CudaBackend& backend, int repeat, const std::vector<int64_t>& shape,
                                      const std::function<void(Tensor&)>& call) {
  const CudaBackend::AttentionKernel saved = backend.attention_kernel();
  AttentionTimes times;
  std::vector<Tensor> outs;
  for (int i = 0; i < 3; ++i) {
    outs.push_back(backend.alloc(DType::BF16, shape));
    backend.set_attention_kernel(AttentionTimes::kKernels[i]);
    times.ms[i] = time_ms(backend, repeat, [&] { call(outs.back()); });
  }
  backend.set_attention_kernel(saved);
  times.diff_mma = max_abs_diff(backend, outs[1], outs[0]);
  times.diff_flash = max_abs_diff(backend, outs[2], outs[0]);
  return times;
}

// One line: each kernel's time and TFLOP/s, flash's speed-up over the WMMA kernel and over the
// CUDA cores, and how far the tensor-core outputs are from the CUDA cores'.
void print_attention_times(const std::string& what, double flop, const AttentionTimes& t) {
  std::printf("attention %s:", what.c_str());
  for (int i = 0; i < 3; ++i) {
    std::printf(" %s %8.3f ms %6.1f TFLOP/s |", CudaBackend::attention_kernel_name(AttentionTimes::kKernels[i]),
                t.ms[i], flop / (t.ms[i] * 1e-3) / 1e12);
  }
  std::printf(" flash speed-up %.2f vs mma, %.2f vs simt | max|mma-simt| %.2g, max|flash-simt| %.2g\n",
              t.ms[1] / t.ms[2], t.ms[0] / t.ms[2], t.diff_mma, t.diff_flash);
}

void bench_varlen(CudaBackend& backend, int64_t rows, int64_t segment, const char* name) {
  const int64_t heads = 16, hd = 80;
  Tensor q = random_bf16(backend, {rows, heads, hd}, 1.0f);
  Tensor k = random_bf16(backend, {rows, heads, hd}, 1.0f);
  Tensor v = random_bf16(backend, {rows, heads, hd}, 1.0f);
  std::vector<int32_t> cu;
  for (int64_t r = 0; r <= rows; r += segment) cu.push_back(static_cast<int32_t>(r));
  const double flop = 4.0 * static_cast<double>(rows) * static_cast<double>(segment) * heads * hd;
  const std::string what = std::string("varlen ") + name + " rows=" + std::to_string(rows) +
                           " seg=" + std::to_string(segment) + " 16x80";
  print_attention_times(what, flop, time_attention_kernels(backend, 20, {rows, heads, hd}, [&](Tensor& out) {
    backend.attention_varlen(q, k, v, cu, 0.1118f, out);
  }));
  // The ViT's own call: q|k|v read in place from the joined projection, rotated on load (the
  // CUDA-core kernel forced: gather the thirds, two rope passes, then attention).
  Tensor qkv = random_bf16(backend, {rows, 3 * heads * hd}, 1.0f);
  std::vector<float> table(static_cast<size_t>(rows * hd));
  for (size_t i = 0; i < table.size(); ++i) table[i] = static_cast<float>(std::cos(0.01 * static_cast<double>(i % 997)));
  const Tensor cos = backend.from_host_f32(table.data(), {rows, hd}, DType::F32);
  const Tensor sin = backend.from_host_f32(table.data(), {rows, hd}, DType::F32);
  print_attention_times(what + " (ViT: joined rows, rope on load)", flop,
                        time_attention_kernels(backend, 20, {rows, heads, hd}, [&](Tensor& out) {
                          backend.rope_attention_varlen_joined(qkv, cos, sin, cu, 0.1118f, out);
                        }));
}

void bench_causal(CudaBackend& backend, int64_t n_past, int64_t n_new, double hbm_gbps) {
  const int64_t heads = 28, kv = 4, hd = 128, capacity = n_past + n_new;
  Tensor q = random_bf16(backend, {n_new, heads, hd}, 1.0f);
  Tensor kc = random_bf16(backend, {capacity, kv, hd}, 1.0f);
  Tensor vc = random_bf16(backend, {capacity, kv, hd}, 1.0f);
  if (n_new == 1) {
    Tensor out = backend.alloc(DType::BF16, {n_new, heads, hd});
    const double ms = time_ms(backend, 200,
                              [&] { backend.attention_causal(q, kc, vc, n_past, 0.0884f, out); });
    const double bytes = 2.0 * static_cast<double>(capacity * kv * hd) * 2.0;
    const double gbps = bytes / (ms * 1e-3) / 1e9;
    std::printf("attention decode cache=%ld 28/4x128: %8.4f ms, %7.0f GB/s = %.2f of HBM\n",
                static_cast<long>(capacity), ms, gbps, gbps / hbm_gbps);
    return;
  }
  const double keys = static_cast<double>(n_past) * n_new + n_new * (n_new + 1) / 2.0;
  const double flop = 4.0 * keys * heads * hd;
  print_attention_times("causal prefill n_past=" + std::to_string(n_past) + " n_new=" + std::to_string(n_new) +
                            " 28/4x128",
                        flop, time_attention_kernels(backend, 20, {n_new, heads, hd}, [&](Tensor& o) {
                          backend.attention_causal(q, kc, vc, n_past, 0.0884f, o);
                        }));
}

}  // namespace

// The ViT's memory-bound ops at a 16-frame 448×448 clip (8192 rows): add_rmsnorm over the 1280
// hidden columns and silu_mul_joined over gate|up 2 × 3424, as GB/s and a fraction of HBM; with
// 16-byte packs (the path the backend's aligned rows take) and element by element (the same
// launchers on buffers one element off 16-byte alignment).
void bench_vit_elementwise(CudaBackend& backend, double hbm_gbps) {
  using vlm::cuda::bf16_bits;
  const int64_t rows = 8192, hidden = 1280, width = 3424;
  Tensor x = random_bf16(backend, {rows * hidden + 8}, 1.0f);
  Tensor residual = random_bf16(backend, {rows * hidden + 8}, 1.0f);
  Tensor weight = random_bf16(backend, {hidden + 8}, 1.0f);
  Tensor normed = backend.alloc(DType::BF16, {rows * hidden + 8});
  Tensor gate_up = random_bf16(backend, {rows * 2 * width + 8}, 1.0f);
  Tensor act = backend.alloc(DType::BF16, {rows * width + 8});
  for (const int offset : {0, 1}) {
    const auto at = [&](Tensor& t) { return t.data_as<bf16_bits>() + offset; };
    const double norm_ms = time_ms(backend, 50, [&] {
      vlm::cuda::launch_rmsnorm(at(x), at(residual), at(weight), at(normed), rows, hidden, 1e-6f,
                                backend.stream());
    });
    const double silu_ms = time_ms(backend, 50, [&] {
      vlm::cuda::launch_silu_mul_joined(at(gate_up), at(act), rows, width, backend.stream());
    });
    VLM_CUDA_CHECK(cudaGetLastError());
    const double norm_gbps = 4.0 * rows * hidden * 2 / (norm_ms * 1e-3) / 1e9;  // x, residual in; residual, y out
    const double silu_gbps = 3.0 * rows * width * 2 / (silu_ms * 1e-3) / 1e9;    // gate|up in, y out
    std::printf("ViT elementwise, %-18s: add_rmsnorm 8192x1280 %7.3f ms %5.0f GB/s = %.2f of HBM | "
                "silu_mul_joined 8192x2x3424 %7.3f ms %5.0f GB/s = %.2f of HBM\n",
                offset == 0 ? "16-byte packs" : "element by element", norm_ms, norm_gbps,
                norm_gbps / hbm_gbps, silu_ms, silu_gbps, silu_gbps / hbm_gbps);
  }
}

// The ViT MLP half of a block at a 16-frame 448×448 clip (8192 rows, hidden 1280, MLP 3424, as
// the encoder runs it on this backend): gate|up GEMM, silu_mul_joined, down GEMM, add_rmsnorm,
// over the whole 8192 rows and over row blocks (Backend::preferred_row_block: the encoder's
// VLM_CUDA_MLP_ROWS), the "l2" size included. Smaller blocks keep gate|up and the product in L2
// between the kernels but run the GEMMs at smaller M; the ratio says which wins on this GPU.
void bench_vit_mlp_row_blocks(CudaBackend& backend) {
  const int64_t rows = 8192, hidden = 1280, width = 3424;
  const Tensor w_gate_up = random_bf16(backend, {2 * width, hidden}, 0.05f);
  const Tensor b_gate_up = random_bf16(backend, {2 * width}, 0.05f);
  const Tensor w_down = random_bf16(backend, {hidden, width}, 0.05f);
  const Tensor b_down = random_bf16(backend, {hidden}, 0.05f);
  const Tensor norm = random_bf16(backend, {hidden}, 1.0f);
  Tensor x = random_bf16(backend, {rows, hidden}, 1.0f);
  Tensor normed = random_bf16(backend, {rows, hidden}, 1.0f);
  Tensor out = backend.alloc(DType::BF16, {rows, hidden});
  const int64_t elem = 2;
  const int64_t l2_rows = [&] {
    backend.set_row_blocks(-1);
    const int64_t r = backend.preferred_row_block(elem * (3 * width + hidden));
    backend.set_row_blocks(0);
    return r;
  }();
  double whole_ms = 0;
  for (const int64_t block : {rows, int64_t{4096}, int64_t{2048}, int64_t{1024}, int64_t{512}, l2_rows}) {
    if (block <= 0) continue;
    Tensor gate_up = backend.alloc(DType::BF16, {block, 2 * width});
    Tensor act = backend.alloc(DType::BF16, {block, width});
    const double ms = time_ms(backend, 10, [&] {
      for (int64_t row0 = 0; row0 < rows; row0 += block) {
        const int64_t n = std::min(block, rows - row0);
        Tensor gu = gate_up.slice_rows(0, n);
        Tensor a = act.slice_rows(0, n);
        Tensor normed_rows = normed.slice_rows(row0, n);
        Tensor out_rows = out.slice_rows(row0, n);
        Tensor x_rows = x.slice_rows(row0, n);
        backend.matmul(normed_rows, w_gate_up, b_gate_up, gu);
        backend.silu_mul_joined(gu, a);
        backend.matmul(a, w_down, b_down, out_rows);
        backend.add_rmsnorm(out_rows, x_rows, norm, 1e-6f, normed_rows);
      }
    });
    if (block == rows) whole_ms = ms;
    std::printf("ViT MLP half (clip, 8192 rows) in %5ld-row blocks%s: %7.3f ms, whole / this %.2f\n",
                static_cast<long>(block), block == l2_rows ? " (l2)" : "", ms, whole_ms / ms);
  }
}

int main() {
  try {
    if (vlm::cuda::cuda_device_count() == 0) {
      std::printf("bench_cuda_ops: no usable CUDA device\n");
      return 77;
    }
    CudaBackend backend(0);
    std::printf("%s\n", backend.name().c_str());
    const double hbm = measure_hbm_gbps(backend);
    std::printf("HBM bandwidth (device-to-device copy, read + write): %.0f GB/s\n", hbm);
    cublasHandle_t cublas = nullptr;
    if (cublasCreate(&cublas) != CUBLAS_STATUS_SUCCESS) VLM_THROW(Device, "cublasCreate failed");
    const GemmShape shapes[] = {
        {"3B q/o decode", 1, 2048, 2048},      {"3B gate/up decode", 1, 11008, 2048},
        {"3B down decode", 1, 2048, 11008},    {"3B lm_head decode", 1, 151936, 2048},
        {"7B q/o decode", 1, 3584, 3584},      {"7B gate/up decode", 1, 18944, 3584},
        {"7B down decode", 1, 3584, 18944},    {"7B lm_head decode", 1, 152064, 3584},
        {"7B gate/up prefill", 1024, 18944, 3584}, {"7B down prefill", 1024, 3584, 18944},
        // The 7B's first token on a 448x448 image (~280 rows), q|k|v and gate|up joined.
        {"7B qkv joined prefill (image)", 280, 4608, 3584},
        {"7B o prefill (image)", 280, 3584, 3584},
        {"7B gate|up joined prefill (image)", 280, 37888, 3584},
        {"7B down prefill (image)", 280, 3584, 18944},
        // The 16-frame 448x448 clip's vision GEMMs as the encoder runs them on CUDA: q|k|v and
        // gate|up joined, the MLP padded to 3424 (bench_k_padding times 3420 against it).
        {"ViT qkv joined (clip)", 8192, 3840, 1280}, {"ViT proj (clip)", 8192, 1280, 1280},
        {"ViT gate|up joined (clip)", 8192, 6848, 1280}, {"ViT down K=3424 (clip)", 8192, 1280, 3424},
        {"ViT merger fc1", 2048, 5120, 5120},
    };
    for (const GemmShape& s : shapes) bench_gemm(backend, cublas, s);
    for (const GemmShape& s : shapes) {
      if (s.m == 1) bench_gemv(backend, s, hbm);
    }
    for (const GemmShape s : {GemmShape{"3B qkv joined decode", 1, 2560, 2048},
                              GemmShape{"3B gate|up joined decode", 1, 22016, 2048},
                              GemmShape{"7B qkv joined decode", 1, 4608, 3584},
                              GemmShape{"7B gate|up joined decode", 1, 37888, 3584}}) {
      bench_gemv(backend, s, hbm);
    }
    cublasDestroy(cublas);
    bench_decode_chain(backend, "3B", 36, 2048, 2560, 11008, hbm);
    bench_decode_chain(backend, "7B", 28, 3584, 4608, 18944, hbm);
    bench_k_padding(backend);
    bench_sample(backend);
    bench_preprocess(backend);
    bench_vit_elementwise(backend, hbm);
    bench_vit_mlp_row_blocks(backend);
    bench_varlen(backend, 8192, 64, "(window)");
    bench_varlen(backend, 8192, 1024, "(full, per frame)");
    bench_causal(backend, 0, 1024, hbm);
    bench_causal(backend, 0, 4096, hbm);
    bench_causal(backend, 1024, 256, hbm);  // chunked prefill after a cached prefix
    bench_causal(backend, 0, 16, hbm);      // 112 flat rows per kv head: near the auto threshold
    bench_causal(backend, 4095, 1, hbm);
    bench_causal(backend, 1023, 1, hbm);
    std::printf("device memory in use by the backend: %.1f MiB (peak %.1f MiB)\n",
                backend.pool().bytes_in_use() / 1048576.0, backend.pool().peak_bytes_in_use() / 1048576.0);
    return 0;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "bench_cuda_ops: %s\n", e.what());
    return 1;
  }
}
