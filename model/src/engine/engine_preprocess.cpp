// Engine::preprocess_video / preprocess_image: the host path (the base class: vlm::to_rgb8, then
// vlm/preprocess.h), and EngineImpl's, which asks its backend first (Backend::
// preprocess_*_on_device: CUDA converts NV12, resizes, normalises and patchifies on the GPU, so
// only the frame's own bytes cross the bus and no host core converts or resizes) and falls back to
// the host path where the backend has none. Both give the same values: the device path's are the
// host floats rounded to the activation dtype, which is what the encoder's upload of the host
// floats would give. The RGB-image overloads only wrap the images as frames.
#include <vector>

#include "engine/engine_impl.h"
#include "vlm/preprocess.h"

namespace vlm {

namespace {

// qwen-vl-utils' fetch_image defaults (vlm/preprocess.h: preprocess_image(image, config)).
void image_limits(const PreprocessorConfig& config, int64_t& min_pixels, int64_t& max_pixels) {
  const int64_t factor = config.factor();
  if (min_pixels <= 0) min_pixels = 4 * factor * factor;
  if (max_pixels <= 0) max_pixels = 16384 * factor * factor;
}

}  // namespace

VisionInput Engine::preprocess_video(std::span<const FrameView> frames, double sample_fps,
                                     const VideoSamplingOptions& options) {
  std::vector<ImageRgb8> images;
  images.reserve(frames.size());
  for (const FrameView& frame : frames) images.push_back(to_rgb8(frame));
  return vlm::preprocess_video(images, sample_fps, preprocessor(), options);
}

VisionInput Engine::preprocess_image(const FrameView& image, int64_t min_pixels, int64_t max_pixels) {
  image_limits(preprocessor(), min_pixels, max_pixels);
  return vlm::preprocess_image(to_rgb8(image), preprocessor(), min_pixels, max_pixels);
}

VisionInput Engine::preprocess_video(std::span<const ImageRgb8> frames, double sample_fps,
                                     const VideoSamplingOptions& options) {
  std::vector<FrameView> views;
  views.reserve(frames.size());
  for (const ImageRgb8& frame : frames) views.push_back(view_of(frame));
  return preprocess_video(std::span<const FrameView>(views), sample_fps, options);
}

VisionInput Engine::preprocess_image(const ImageRgb8& image, int64_t min_pixels, int64_t max_pixels) {
  return preprocess_image(view_of(image), min_pixels, max_pixels);
}

VisionInput EngineImpl::preprocess_video(std::span<const FrameView> frames, double sample_fps,
                                         const VideoSamplingOptions& options) {
  VisionInput input;
  if (options_.device_preprocessing &&
      backend_->preprocess_video_on_device(frames, sample_fps, preprocessor_, options, input)) {
    return input;
  }
  return Engine::preprocess_video(frames, sample_fps, options);
}

VisionInput EngineImpl::preprocess_image(const FrameView& image, int64_t min_pixels,
                                         int64_t max_pixels) {
  image_limits(preprocessor_, min_pixels, max_pixels);
  VisionInput input;
  if (options_.device_preprocessing &&
      backend_->preprocess_image_on_device(image, preprocessor_, min_pixels, max_pixels, input)) {
    return input;
  }
  return Engine::preprocess_image(image, min_pixels, max_pixels);
}

}  // namespace vlm
