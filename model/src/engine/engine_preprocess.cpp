// Engine::preprocess_video / preprocess_image: the host path (the base class, vlm/preprocess.h),
// and EngineImpl's, which asks its backend first (Backend::preprocess_*_on_device: CUDA resizes,
// normalises and patchifies on the GPU, so only RGB8 bytes cross the bus and no host core
// resizes) and falls back to the host path where the backend has none. Both give the same values:
// the device path's are the host floats rounded to the activation dtype, which is what the
// encoder's upload of the host floats would give.
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

VisionInput Engine::preprocess_video(std::span<const ImageRgb8> frames, double sample_fps,
                                     const VideoSamplingOptions& options) {
  return vlm::preprocess_video(frames, sample_fps, preprocessor(), options);
}

VisionInput Engine::preprocess_image(const ImageRgb8& image, int64_t min_pixels, int64_t max_pixels) {
  image_limits(preprocessor(), min_pixels, max_pixels);
  return vlm::preprocess_image(image, preprocessor(), min_pixels, max_pixels);
}

VisionInput EngineImpl::preprocess_video(std::span<const ImageRgb8> frames, double sample_fps,
                                         const VideoSamplingOptions& options) {
  VisionInput input;
  if (options_.device_preprocessing &&
      backend_->preprocess_video_on_device(frames, sample_fps, preprocessor_, options, input)) {
    return input;
  }
  return Engine::preprocess_video(frames, sample_fps, options);
}

VisionInput EngineImpl::preprocess_image(const ImageRgb8& image, int64_t min_pixels,
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
