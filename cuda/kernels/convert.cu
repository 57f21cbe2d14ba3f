// Element type conversions on the device (F32/F16/BF16 both ways): weight upload of F32/F16
// checkpoints into bf16, from_host_f32 into bf16 activations, to_host_f32 of bf16 tensors.
#include "../common.cuh"

namespace vlm::cuda {

namespace {

__device__ __forceinline__ void store_from_float(void* base, ElemType type, int64_t i, float value) {
  switch (type) {
    case ElemType::F32:
      static_cast<float*>(base)[i] = value;
      break;
    case ElemType::F16:
      static_cast<__half*>(base)[i] = __float2half_rn(value);
      break;
    case ElemType::BF16:
    default:
      static_cast<bf16_bits*>(base)[i] = float_to_bf16(value);
      break;
  }
}

__global__ void convert_kernel(const void* src, ElemType src_type, void* dst, ElemType dst_type,
                               int64_t n) {
  const int64_t stride = static_cast<int64_t>(gridDim.x) * blockDim.x;
  for (int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; i < n; i += stride) {
    store_from_float(dst, dst_type, i, load_as_float(src, src_type, i));
  }
}

}  // namespace

void launch_convert(const void* src, ElemType src_type, void* dst, ElemType dst_type, int64_t n,
                    Stream stream) {
  constexpr int kBlock = 256;
  convert_kernel<<<grid_for(n, kBlock), kBlock, 0, stream>>>(src, src_type, dst, dst_type, n);
}

}  // namespace vlm::cuda
