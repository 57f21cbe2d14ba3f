// Image/video preprocessing on the GPU (issue 5): raw RGB or NV12 frames to the pixel_values the
// CPU preprocessor produces (vlm/preprocess.h: preprocess_image / preprocess_video), on a
// CudaBackend's stream, without the frame ever being converted or resized on the host. Bit-exact
// with the CPU path by construction: the same sizes (cuda/preprocess_plan.h calls the CPU size
// functions), Pillow's fixed-point bicubic with the CPU's own coefficients, the same
// normalisation tables (kernels/preprocess.cu). Other formats (RGBA, BGRx, I420, …) are converted
// by vlm::to_rgb8 on the host first. The engine reaches it through Backend::
// preprocess_*_on_device (Engine::preprocess_video / preprocess_image, used by vlmdescribe, the
// localisation model and vlm bench); the result's rows go straight to the vision encoder.
#pragma once

#include <span>

#include "vlm/image.h"
#include "vlm/preprocess.h"
#include "vlm/tensor.h"

namespace vlm::cuda {

class CudaBackend;

struct DeviceVisionInput {
  Tensor pixel_values;  // [grid.patches(), 3·temporal·patch²] of the requested dtype, on the device
  GridThw grid;
  float second_per_grid_t = 0.0f;
};

// preprocess_image(to_rgb8(frame), config, min_pixels, max_pixels) on the device; out_dtype F32
// (bit-identical) or BF16 (the RNE rounding of those floats, what the CUDA vision encoder reads).
DeviceVisionInput preprocess_image_cuda(CudaBackend& backend, const FrameView& frame,
                                        const PreprocessorConfig& config, int64_t min_pixels,
                                        int64_t max_pixels, DType out_dtype = DType::BF16);
// With qwen-vl-utils' default limits (4·factor² … 16384·factor²), as preprocess_image.
DeviceVisionInput preprocess_image_cuda(CudaBackend& backend, const FrameView& frame,
                                        const PreprocessorConfig& config,
                                        DType out_dtype = DType::BF16);
// preprocess_video(to_rgb8 of each frame, sample_fps, config, options) on the device.
DeviceVisionInput preprocess_video_cuda(CudaBackend& backend, std::span<const FrameView> frames,
                                        double sample_fps, const PreprocessorConfig& config,
                                        const VideoSamplingOptions& options = {},
                                        DType out_dtype = DType::BF16);

}  // namespace vlm::cuda
