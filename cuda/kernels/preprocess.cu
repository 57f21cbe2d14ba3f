// Image/video preprocessing on the device: NV12 -> RGB8, Pillow's fixed-point bicubic passes and
// the patch rows, each the same integer (or table-lookup) arithmetic as the CPU preprocessor
// (model/src/preprocess: image_convert.cpp, resize_bicubic.cpp, patchify.cpp), so the results are
// bit-identical rather than "close". One thread per output value (pixel or patch element) with a
// grid-stride loop; the coefficients and tables come from the host (cuda/preprocess_cuda.cpp).
#include "../common.cuh"

namespace vlm::cuda {

namespace {

constexpr int kBlock = 256;
constexpr int kPrecisionBits = 32 - 8 - 2;  // preprocess/bicubic_plan.h: kBicubicPrecisionBits

__device__ __forceinline__ uint8_t clamp_u8(int v) {
  return static_cast<uint8_t>(v < 0 ? 0 : (v > 255 ? 255 : v));
}

__device__ __forceinline__ uint8_t clip8(int32_t accumulator) {
  return clamp_u8(accumulator >> kPrecisionBits);  // arithmetic shift = floor, as Pillow
}

__global__ void nv12_kernel(const uint8_t* luma, int64_t luma_stride, const uint8_t* chroma,
                            int64_t chroma_stride, int width, int height, uint8_t* rgb) {
  const int64_t n = static_cast<int64_t>(width) * height;
  for (int64_t i = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; i < n;
       i += static_cast<int64_t>(gridDim.x) * blockDim.x) {
    const int y = static_cast<int>(i / width), x = static_cast<int>(i % width);
    const uint8_t* uv = chroma + (y / 2) * chroma_stride + (x / 2) * 2;
    const int c = luma[y * luma_stride + x] - 16, d = uv[0] - 128, e = uv[1] - 128;
    uint8_t* out = rgb + i * 3;
    out[0] = clamp_u8((298 * c + 409 * e + 128) >> 8);
    out[1] = clamp_u8((298 * c - 100 * d - 208 * e + 128) >> 8);
    out[2] = clamp_u8((298 * c + 516 * d + 128) >> 8);
  }
}

__global__ void horizontal_kernel(const uint8_t* in, int in_width, int row_begin,
                                  BicubicAxisView axis, uint8_t* out, int out_width,
                                  int out_height) {
  const int64_t n = static_cast<int64_t>(out_width) * out_height * 3;
  for (int64_t i = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; i < n;
       i += static_cast<int64_t>(gridDim.x) * blockDim.x) {
    const int c = static_cast<int>(i % 3);
    const int64_t pixel = i / 3;
    const int y = static_cast<int>(pixel / out_width), x = static_cast<int>(pixel % out_width);
    const int32_t* k = axis.weights + static_cast<int64_t>(x) * axis.taps_max;
    const uint8_t* p = in + (static_cast<int64_t>(y + row_begin) * in_width + axis.first[x]) * 3 + c;
    int32_t sum = 1 << (kPrecisionBits - 1);
    for (int t = 0; t < axis.count[x]; ++t) sum += p[t * 3] * k[t];
    out[i] = clip8(sum);
  }
}

__global__ void vertical_kernel(const uint8_t* in, int width, BicubicAxisView axis, uint8_t* out,
                                int out_height) {
  const int64_t row_bytes = static_cast<int64_t>(width) * 3;
  const int64_t n = row_bytes * out_height;
  for (int64_t i = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; i < n;
       i += static_cast<int64_t>(gridDim.x) * blockDim.x) {
    const int y = static_cast<int>(i / row_bytes);
    const int64_t column = i % row_bytes;
    const int32_t* k = axis.weights + static_cast<int64_t>(y) * axis.taps_max;
    const uint8_t* p = in + static_cast<int64_t>(axis.first[y]) * row_bytes + column;
    int32_t sum = 1 << (kPrecisionBits - 1);
    for (int t = 0; t < axis.count[y]; ++t) sum += p[t * row_bytes] * k[t];
    out[i] = clip8(sum);
  }
}

__global__ void patchify_kernel(PatchifyArgs a) {
  const int ps = a.patch, ms = a.merge, tps = a.temporal;
  const int64_t row_size = 3LL * tps * ps * ps;
  const int64_t gh = a.height / ps, gw = a.width / ps;
  const int64_t bw_n = gw / ms;
  const int64_t n = a.grid_t * gh * gw * row_size;
  for (int64_t i = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; i < n;
       i += static_cast<int64_t>(gridDim.x) * blockDim.x) {
    const int64_t row = i / row_size;
    const int64_t j = i % row_size;
    // Column: [channel][dt][py][px]; row: [gt][bh][bw][mh][mw] (patchify.cpp's loop order).
    const int px = static_cast<int>(j % ps), py = static_cast<int>((j / ps) % ps);
    const int dt = static_cast<int>((j / (ps * ps)) % tps), c = static_cast<int>(j / (tps * ps * ps));
    const int64_t gt = row / (gh * gw);
    int64_t rest = row % (gh * gw);
    const int mw = static_cast<int>(rest % ms);
    rest /= ms;
    const int mh = static_cast<int>(rest % ms);
    rest /= ms;
    const int64_t bw = rest % bw_n, bh = rest / bw_n;
    const int64_t y = (bh * ms + mh) * ps + py, x = (bw * ms + mw) * ps + px;
    int64_t frame = gt * tps + dt;
    if (frame > a.n_frames - 1) frame = a.n_frames - 1;
    const uint8_t value = a.frames[((frame * a.height + y) * a.width + x) * 3 + c];
    const float normalised = a.tables[c * 256 + value];
    if (a.out_type == ElemType::BF16) {
      static_cast<bf16_bits*>(a.out)[i] = float_to_bf16(normalised);
    } else {
      static_cast<float*>(a.out)[i] = normalised;
    }
  }
}

}  // namespace

void launch_nv12_to_rgb8(const uint8_t* luma, int64_t luma_stride, const uint8_t* chroma,
                         int64_t chroma_stride, int width, int height, uint8_t* rgb, Stream stream) {
  const int64_t n = static_cast<int64_t>(width) * height;
  nv12_kernel<<<grid_for(n, kBlock), kBlock, 0, stream>>>(luma, luma_stride, chroma, chroma_stride,
                                                          width, height, rgb);
}

void launch_resize_horizontal(const uint8_t* in, int in_width, int row_begin, BicubicAxisView axis,
                              uint8_t* out, int out_width, int out_height, Stream stream) {
  const int64_t n = static_cast<int64_t>(out_width) * out_height * 3;
  horizontal_kernel<<<grid_for(n, kBlock), kBlock, 0, stream>>>(in, in_width, row_begin, axis, out,
                                                                out_width, out_height);
}

void launch_resize_vertical(const uint8_t* in, int width, BicubicAxisView axis, uint8_t* out,
                            int out_height, Stream stream) {
  const int64_t n = static_cast<int64_t>(width) * 3 * out_height;
  vertical_kernel<<<grid_for(n, kBlock), kBlock, 0, stream>>>(in, width, axis, out, out_height);
}

void launch_patchify(const PatchifyArgs& args, Stream stream) {
  const int64_t n = args.grid_t * (args.height / args.patch) * (args.width / args.patch) * 3LL *
                    args.temporal * args.patch * args.patch;
  patchify_kernel<<<grid_for(n, kBlock), kBlock, 0, stream>>>(args);
}

}  // namespace vlm::cuda
