// One-row matmuls (the decode step's): y[n] = w[n, :] · x (+ bias[n]), which read every weight byte
// once and do 2 flops per byte, so their speed is the HBM bandwidth they reach. One warp per weight
// row, 16-byte loads (8 bf16) of the row and of x, kUnroll loads in flight per lane before any
// math so each warp keeps several KB of requests outstanding, f32 accumulation, a shuffle
// reduction, bias added in f32 and one bf16 rounding (cuBLASLt's bias epilogue does the same).
// Fused variants take the small ops around a decode matmul into it, bit for bit what the separate
// kernels compute:
// - prologue RmsNorm: x is the residual stream; each block computes rmsnorm(x)·weight into shared
//   memory first, with rmsnorm.cu's reduction (256 threads, the same order: rms_owns_packs), so
//   the normed row is the one the rmsnorm kernel would have written;
// - prologue SiluMul: x is [gate | up]; each block stages silu(gate)·up as elementwise.cu rounds it;
// - epilogue AddToResidual: residual[n] = bf16(residual[n] + bf16(product)), the o and down
//   projections' residual add; each element is read and written by its own lane only.
// Needs K % 8 == 0 and a 16-byte aligned w (and x without a prologue); CudaBackend falls back to
// cuBLASLt and the separate kernels otherwise, and measures which of GEMV and cuBLASLt is faster.
// With GemvArgs::programmatic the kernel is launched for programmatic dependent launch: its first
// weight loads overlap the previous kernel's tail (common.cuh: pdl_wait), the gaps between the
// decode step's GEMVs that a CUDA graph alone does not remove.
#include "../common.cuh"

namespace vlm::cuda {

namespace {

constexpr int kWarpsPerBlock = 8;
constexpr int kBlock = kWarpsPerBlock * 32;  // = rmsnorm.cu's block: the same sum order
constexpr int kUnroll = 4;

__device__ __forceinline__ float dot8(const Pack8& a, const Pack8& b, float acc) {
  for (int i = 0; i < 4; ++i) {
    const float a_lo = __uint_as_float(a.word[i] << 16), a_hi = __uint_as_float(a.word[i] & 0xffff0000u);
    const float b_lo = __uint_as_float(b.word[i] << 16), b_hi = __uint_as_float(b.word[i] & 0xffff0000u);
    acc = fmaf(a_lo, b_lo, acc);
    acc = fmaf(a_hi, b_hi, acc);
  }
  return acc;
}

// Shared memory for the staged x row: none is needed without a prologue.
template <GemvPrologue P>
constexpr int64_t kStagedElems =
    P == GemvPrologue::RmsNorm ? kGemvNormMaxK : P == GemvPrologue::SiluMul ? kGemvSiluMaxK : 8;

template <GemvPrologue P, bool kAddToResidual>
__global__ void __launch_bounds__(kBlock) gemv_kernel(GemvArgs a) {
  __shared__ __align__(16) bf16_bits staged[kStagedElems<P>];
  __shared__ float partial[32];
  pdl_launch_dependents();  // the next kernel may be placed once all our blocks run
  const int lane = threadIdx.x % 32;
  const int64_t row = static_cast<int64_t>(blockIdx.x) * kWarpsPerBlock + threadIdx.x / 32;
  const int64_t packs = a.k / 8;
  const Pack8* w_row = reinterpret_cast<const Pack8*>(a.w + (row < a.n ? row : 0) * a.k);
  // The first batch of this lane's weight loads is issued before waiting for the previous kernel
  // (weights are no kernel's output): under programmatic launch it streams in while that kernel
  // finishes. Sums run in the same order either way.
  Pack8 w_first[kUnroll];
  const bool has_first_batch = row < a.n && lane + 32 * (kUnroll - 1) < packs;
  if (has_first_batch) {
    for (int u = 0; u < kUnroll; ++u) w_first[u] = w_row[lane + 32 * u];
  }
  pdl_wait();
  const Pack8* x_packs = reinterpret_cast<const Pack8*>(a.x);
  if constexpr (P == GemvPrologue::RmsNorm) {
    // Every thread of the block takes part (before any warp leaves).
    float sum_sq = 0.0f;  // in rmsnorm.cu's order (common.cuh: rms_owns_packs)
    if (rms_owns_packs(a.k)) {
      for (int64_t p = threadIdx.x; p < a.k / 8; p += blockDim.x) {
#pragma unroll
        for (int e = 0; e < 8; ++e) {
          const float h = bf16_to_float(a.x[p * 8 + e]);
          sum_sq += h * h;
        }
      }
    } else {
      for (int64_t i = threadIdx.x; i < a.k; i += blockDim.x) {
        const float h = bf16_to_float(a.x[i]);
        sum_sq += h * h;
      }
    }
    const float inv_rms = rsqrtf(block_sum(sum_sq, partial) / static_cast<float>(a.k) + a.eps);
    for (int64_t i = threadIdx.x; i < a.k; i += blockDim.x) {
      const float normed = round_bf16(bf16_to_float(a.x[i]) * inv_rms);
      staged[i] = float_to_bf16(normed * bf16_to_float(a.norm_weight[i]));
    }
    __syncthreads();
    x_packs = reinterpret_cast<const Pack8*>(staged);
  } else if constexpr (P == GemvPrologue::SiluMul) {
    for (int64_t i = threadIdx.x; i < a.k; i += blockDim.x) {
      staged[i] = silu_mul_bf16(a.x[i], a.x[a.k + i]);
    }
    __syncthreads();
    x_packs = reinterpret_cast<const Pack8*>(staged);
  }
  if (row >= a.n) return;  // the whole warp: every lane has the same row
  float acc = 0.0f;
  int64_t p = lane;
  if (has_first_batch) {
    Pack8 xv[kUnroll];
    for (int u = 0; u < kUnroll; ++u) xv[u] = x_packs[p + 32 * u];
    for (int u = 0; u < kUnroll; ++u) acc = dot8(w_first[u], xv[u], acc);
    p += 32 * kUnroll;
  }
  for (; p + 32 * (kUnroll - 1) < packs; p += 32 * kUnroll) {
    Pack8 wv[kUnroll], xv[kUnroll];
    for (int u = 0; u < kUnroll; ++u) {
      wv[u] = w_row[p + 32 * u];
      xv[u] = x_packs[p + 32 * u];
    }
    for (int u = 0; u < kUnroll; ++u) acc = dot8(wv[u], xv[u], acc);
  }
  for (; p < packs; p += 32) acc = dot8(w_row[p], x_packs[p], acc);
  acc = warp_sum(acc);
  if (lane == 0) {
    if (a.bias != nullptr) acc += bf16_to_float(a.bias[row]);
    if constexpr (kAddToResidual) {
      a.residual[row] = float_to_bf16(bf16_to_float(a.residual[row]) + round_bf16(acc));
    } else {
      a.y[row] = float_to_bf16(acc);
    }
  }
}

template <GemvPrologue P, bool kAddToResidual>
void launch_kernel(const GemvArgs& args, Stream stream) {
  const unsigned int blocks = static_cast<unsigned int>((args.n + kWarpsPerBlock - 1) / kWarpsPerBlock);
  if (!args.programmatic) {
    gemv_kernel<P, kAddToResidual><<<blocks, kBlock, 0, stream>>>(args);
    return;
  }
  cudaLaunchAttribute attribute{};
  attribute.id = cudaLaunchAttributeProgrammaticStreamSerialization;
  attribute.val.programmaticStreamSerializationAllowed = 1;
  cudaLaunchConfig_t config{};
  config.gridDim = dim3(blocks);
  config.blockDim = dim3(kBlock);
  config.dynamicSmemBytes = 0;
  config.stream = stream;
  config.attrs = &attribute;
  config.numAttrs = 1;
  // A launch error is also the runtime's last error: the caller's check_launch reports it.
  (void)cudaLaunchKernelEx(&config, gemv_kernel<P, kAddToResidual>, args);
}

template <GemvPrologue P>
void launch_with(const GemvArgs& args, Stream stream) {
  if (args.residual != nullptr) {
    launch_kernel<P, true>(args, stream);
  } else {
    launch_kernel<P, false>(args, stream);
  }
}

}  // namespace

void launch_gemv(const GemvArgs& args, Stream stream) {
  switch (args.prologue) {
    case GemvPrologue::None: launch_with<GemvPrologue::None>(args, stream); break;
    case GemvPrologue::RmsNorm: launch_with<GemvPrologue::RmsNorm>(args, stream); break;
    case GemvPrologue::SiluMul: launch_with<GemvPrologue::SiluMul>(args, stream); break;
  }
}

}  // namespace vlm::cuda
