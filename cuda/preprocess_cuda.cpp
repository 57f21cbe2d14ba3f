// GPU preprocessing (preprocess_cuda.h): upload (RGB rows or the two NV12 planes, 1.5 bytes per
// pixel), NV12 → RGB8, the planned Pillow passes (preprocess_plan.h) and the patch rows, all on the
// backend's stream; coefficients and tables are small host→device copies per call. The argument
// checks are the CPU path's (the size functions throw the same errors); frame checks are
// vlm::to_rgb8's (preprocess/frame_layout.h). CudaBackend::preprocess_*_on_device
// (Engine::preprocess_*) call these with the frames as the caller holds them (vlmdescribe: NV12).
#include "preprocess_cuda.h"

#include <cmath>
#include <vector>

#include "backend_cuda_impl.h"
#include "check.h"
#include "preprocess/frame_layout.h"
#include "preprocess/patch_tables.h"
#include "preprocess_plan.h"
#include "vlm/error.h"

namespace vlm::cuda {

namespace {

// Host bytes (rows of row_bytes at `stride`) → a packed device buffer.
void upload_rows(CudaBackend& backend, const uint8_t* src, int64_t stride, int64_t row_bytes,
                 int64_t rows, void* dst) {
  VLM_CUDA_CHECK(cudaMemcpy2DAsync(dst, static_cast<size_t>(row_bytes), src,
                                   static_cast<size_t>(stride), static_cast<size_t>(row_bytes),
                                   static_cast<size_t>(rows), cudaMemcpyHostToDevice,
                                   backend.stream()));
}

// The frame (checked by the caller: detail::check_frame) as packed RGB8 [height, width·3] on the
// device.
Tensor frame_to_device_rgb(CudaBackend& backend, const FrameView& frame) {
  const int64_t w = frame.width, h = frame.height;
  Tensor rgb = backend.alloc(DType::U8, {h, w * 3});
  if (frame.format == PixelFormat::RGB) {
    upload_rows(backend, frame.planes[0], frame.strides[0], w * 3, h, rgb.data());
  } else if (frame.format == PixelFormat::NV12) {
    const int64_t chroma_row = (w + 1) / 2 * 2, chroma_rows = (h + 1) / 2;
    Tensor luma = backend.alloc(DType::U8, {h, w});
    Tensor chroma = backend.alloc(DType::U8, {chroma_rows, chroma_row});
    upload_rows(backend, frame.planes[0], frame.strides[0], w, h, luma.data());
    upload_rows(backend, frame.planes[1], frame.strides[1], chroma_row, chroma_rows, chroma.data());
    launch_nv12_to_rgb8(luma.data_as<const uint8_t>(), w, chroma.data_as<const uint8_t>(),
                        chroma_row, frame.width, frame.height, rgb.data_as<uint8_t>(),
                        backend.stream());
    VLM_CUDA_CHECK_LAUNCH("nv12_to_rgb8");
  } else {
    const ImageRgb8 host = to_rgb8(frame);  // other formats: the CPU conversion
    upload_rows(backend, host.pixels.data(), w * 3, w * 3, h, rgb.data());
  }
  return rgb;
}

// One axis' coefficients in one device buffer: first | count | weights.
struct DeviceAxis {
  Tensor buffer;
  BicubicAxisView view;
};

DeviceAxis upload_axis(CudaBackend& backend, const detail::BicubicAxis& axis) {
  std::vector<int32_t> packed(axis.first);
  packed.insert(packed.end(), axis.count.begin(), axis.count.end());
  packed.insert(packed.end(), axis.weights.begin(), axis.weights.end());
  DeviceAxis d;
  d.buffer = backend.alloc(DType::I32, {static_cast<int64_t>(packed.size())});
  VLM_CUDA_CHECK(cudaMemcpyAsync(d.buffer.data(), packed.data(), packed.size() * sizeof(int32_t),
                                 cudaMemcpyHostToDevice, backend.stream()));
  const int32_t* base = d.buffer.data_as<const int32_t>();
  d.view.first = base;
  d.view.count = base + axis.first.size();
  d.view.weights = base + axis.first.size() + axis.count.size();
  d.view.taps_max = axis.taps_max;
  return d;
}

// rgb (width × height) through the chain of resizes; returns the final RGB8 buffer.
Tensor resize_chain(CudaBackend& backend, Tensor rgb, int width, int height,
                    const std::vector<ResizeTarget>& chain) {
  for (const ResizeTarget& target : chain) {
    for (const ResizePass& pass : plan_bicubic(width, height, target.width, target.height)) {
      const DeviceAxis axis = upload_axis(backend, pass.axis);
      Tensor out = backend.alloc(DType::U8, {pass.out_height, static_cast<int64_t>(pass.out_width) * 3});
      if (pass.horizontal) {
        launch_resize_horizontal(rgb.data_as<const uint8_t>(), pass.in_width, pass.row_begin,
                                 axis.view, out.data_as<uint8_t>(), pass.out_width,
                                 pass.out_height, backend.stream());
      } else {
        launch_resize_vertical(rgb.data_as<const uint8_t>(), pass.in_width, axis.view,
                               out.data_as<uint8_t>(), pass.out_height, backend.stream());
      }
      VLM_CUDA_CHECK_LAUNCH("resize_bicubic pass");
      rgb = std::move(out);
    }
    width = target.width;
    height = target.height;
  }
  return rgb;
}

// Frames [n, height, width·3] → patch rows.
DeviceVisionInput patchify_device(CudaBackend& backend, const Tensor& frames, int64_t n_frames,
                                  int width, int height, const PreprocessorConfig& config,
                                  DType out_dtype) {
  VLM_CHECK(out_dtype == DType::F32 || out_dtype == DType::BF16, Unsupported,
            "preprocess_cuda: pixel_values dtype " << dtype_name(out_dtype) << " is not F32 or BF16");
  VLM_CHECK(config.patch_size > 0 && config.merge_size > 0 && config.temporal_patch_size > 0,
            InvalidModel,
            "preprocessor_config: patch_size, merge_size and temporal_patch_size must be positive");
  const int factor = config.factor();
  VLM_CHECK(width % factor == 0 && height % factor == 0, Internal,
            "preprocess_cuda: resized frame " << width << "x" << height << " is not a multiple of " << factor);
  const detail::ChannelTables tables = detail::normalisation_tables(config);
  std::vector<float> flat;
  for (const auto& channel : tables) flat.insert(flat.end(), channel.begin(), channel.end());
  Tensor device_tables = backend.alloc(DType::F32, {3, 256});
  VLM_CUDA_CHECK(cudaMemcpyAsync(device_tables.data(), flat.data(), flat.size() * sizeof(float),
                                 cudaMemcpyHostToDevice, backend.stream()));
  DeviceVisionInput result;
  const int tps = config.temporal_patch_size, ps = config.patch_size;
  result.grid = GridThw{(n_frames + tps - 1) / tps, height / ps, width / ps};
  result.pixel_values =
      backend.alloc(out_dtype, {result.grid.patches(), 3LL * tps * ps * ps});
  PatchifyArgs args;
  args.frames = frames.data_as<const uint8_t>();
  args.n_frames = n_frames;
  args.height = height;
  args.width = width;
  args.patch = ps;
  args.merge = config.merge_size;
  args.temporal = tps;
  args.grid_t = result.grid.t;
  args.tables = device_tables.data_as<const float>();
  args.out = result.pixel_values.data();
  args.out_type = out_dtype == DType::BF16 ? ElemType::BF16 : ElemType::F32;
  launch_patchify(args, backend.stream());
  VLM_CUDA_CHECK_LAUNCH("patchify");
  return result;
}

}  // namespace

DeviceVisionInput preprocess_image_cuda(CudaBackend& backend, const FrameView& frame,
                                        const PreprocessorConfig& config, int64_t min_pixels,
                                        int64_t max_pixels, DType out_dtype) {
  VLM_CHECK(config.resample == 3, Unsupported,
            "preprocessor_config: resample " << config.resample << " is not bicubic (3)");
  detail::check_frame(frame, "preprocess_image_cuda");
  const auto chain = image_resize_chain(frame.height, frame.width, config, min_pixels, max_pixels);
  Tensor rgb = resize_chain(backend, frame_to_device_rgb(backend, frame), frame.width,
                            frame.height, chain);
  return patchify_device(backend, rgb, 1, chain.back().width, chain.back().height, config,
                         out_dtype);
}

DeviceVisionInput preprocess_image_cuda(CudaBackend& backend, const FrameView& frame,
                                        const PreprocessorConfig& config, DType out_dtype) {
  const int64_t factor = config.factor();
  return preprocess_image_cuda(backend, frame, config, 4 * factor * factor,
                               16384 * factor * factor, out_dtype);
}

DeviceVisionInput preprocess_video_cuda(CudaBackend& backend, std::span<const FrameView> frames,
                                        double sample_fps, const PreprocessorConfig& config,
                                        const VideoSamplingOptions& options, DType out_dtype) {
  VLM_CHECK(!frames.empty(), InvalidInput, "preprocess_video_cuda: no frames");
  VLM_CHECK(sample_fps > 0.0 && std::isfinite(sample_fps), InvalidInput,
            "preprocess_video_cuda: sample_fps must be positive, got " << sample_fps);
  VLM_CHECK(config.resample == 3, Unsupported,
            "preprocessor_config: resample " << config.resample << " is not bicubic (3)");
  const FrameView& first = frames.front();
  for (size_t i = 0; i < frames.size(); ++i) {
    detail::check_frame(frames[i], "preprocess_video_cuda");
    VLM_CHECK(frames[i].width == first.width && frames[i].height == first.height, InvalidInput,
              "preprocess_video_cuda: frame " << i << " is " << frames[i].width << "x"
                                              << frames[i].height << ", frame 0 is "
                                              << first.width << "x" << first.height);
  }
  const int64_t n = static_cast<int64_t>(frames.size());
  const auto chain = video_resize_chain(first.height, first.width, n, config, options);
  const int out_w = chain.back().width, out_h = chain.back().height;
  const int64_t frame_bytes = static_cast<int64_t>(out_w) * out_h * 3;
  Tensor all = backend.alloc(DType::U8, {n, frame_bytes});
  for (int64_t i = 0; i < n; ++i) {
    const FrameView& frame = frames[static_cast<size_t>(i)];
    const Tensor rgb = resize_chain(backend, frame_to_device_rgb(backend, frame), frame.width,
                                    frame.height, chain);
    VLM_CUDA_CHECK(cudaMemcpyAsync(all.data_as<uint8_t>() + i * frame_bytes, rgb.data(),
                                   static_cast<size_t>(frame_bytes), cudaMemcpyDeviceToDevice,
                                   backend.stream()));
  }
  DeviceVisionInput result = patchify_device(backend, all, n, out_w, out_h, config, out_dtype);
  result.second_per_grid_t =
      static_cast<float>(static_cast<double>(config.temporal_patch_size) / sample_fps);
  return result;
}

namespace {

VisionInput as_vision_input(DeviceVisionInput device) {
  VisionInput input;
  input.grid = device.grid;
  input.second_per_grid_t = device.second_per_grid_t;
  input.device_pixel_values = std::move(device.pixel_values);
  return input;
}

}  // namespace

bool CudaBackend::preprocess_video_on_device(std::span<const FrameView> frames, double sample_fps,
                                             const PreprocessorConfig& config,
                                             const VideoSamplingOptions& options, VisionInput& out) {
  out = as_vision_input(preprocess_video_cuda(*this, frames, sample_fps, config, options,
                                              activation_dtype()));
  return true;
}

bool CudaBackend::preprocess_image_on_device(const FrameView& image, const PreprocessorConfig& config,
                                             int64_t min_pixels, int64_t max_pixels,
                                             VisionInput& out) {
  out = as_vision_input(preprocess_image_cuda(*this, image, config, min_pixels,
                                              max_pixels, activation_dtype()));
  return true;
}

}  // namespace vlm::cuda
