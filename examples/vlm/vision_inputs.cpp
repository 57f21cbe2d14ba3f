// Loading and preprocessing of the CLI's vision inputs (see vision_inputs.h).
#include "vision_inputs.h"

#include "video_decode.h"
#include "vlm/error.h"
#include "vlm/frame_sampler.h"
#include "vlm/preprocess.h"

namespace vlm_cli {
namespace {

vlm::VisionItem video_item(vlm::Engine& engine, const std::vector<vlm::ImageRgb8>& frames,
                           const std::vector<int64_t>& pts_ns, double fps, int64_t max_pixels) {
  const vlm::PreprocessorConfig& config = engine.preprocessor();
  VLM_CHECK(!frames.empty(), InvalidInput, "the video has no frames to describe");
  vlm::VideoSamplingOptions options;
  options.fps = fps;
  if (max_pixels > 0) options.max_pixels = max_pixels;
  vlm::VisionItem item;
  item.is_video = true;
  item.input = engine.preprocess_video(frames, fps, options);
  if (!pts_ns.empty()) {
    item.patch_start_seconds =
        vlm::temporal_patch_starts(pts_ns, pts_ns.front(), config.temporal_patch_size);
  }
  return item;
}

}  // namespace

std::vector<vlm::VisionItem> load_vision_items(const VisionSources& sources, vlm::Engine& engine) {
  const vlm::PreprocessorConfig& config = engine.preprocessor();
  VLM_CHECK(sources.fps > 0, InvalidInput, "--fps must be positive, got " << sources.fps);
  std::vector<vlm::VisionItem> items;
  for (const std::string& path : sources.images) {
    vlm::VisionItem item;
    vlm::ImageRgb8 image = vlm::load_image(path);
    item.input = sources.max_pixels > 0
                     ? engine.preprocess_image(image, config.min_pixels, sources.max_pixels)
                     : engine.preprocess_image(image);
    items.push_back(std::move(item));
  }
  if (!sources.video.empty()) {
    std::vector<vlm::ImageRgb8> frames;
    std::vector<int64_t> pts;
    decode_video_sampled(sources.video, sources.fps, [&](SampledFrame&& frame) {
      frames.push_back(std::move(frame.image));
      pts.push_back(frame.pts_ns);
      return true;
    });
    items.push_back(video_item(engine, frames, pts, sources.fps, sources.max_pixels));
  }
  if (!sources.frames.empty()) {
    std::vector<vlm::ImageRgb8> frames;
    for (const std::string& path : sources.frames) frames.push_back(vlm::load_image(path));
    items.push_back(video_item(engine, frames, {}, sources.fps, sources.max_pixels));
  }
  return items;
}

vlm::ImageRgb8 synthetic_image(int width, int height, int seed) {
  vlm::ImageRgb8 image;
  image.width = width;
  image.height = height;
  image.pixels.resize(static_cast<size_t>(width) * height * 3);
  uint32_t state = 2166136261u ^ static_cast<uint32_t>(seed);
  for (int y = 0; y < height; ++y) {
    for (int x = 0; x < width; ++x) {
      state = state * 1664525u + 1013904223u;
      uint8_t* p = image.pixels.data() + (static_cast<size_t>(y) * width + x) * 3;
      bool in_box = (x / 32 + y / 32 + seed) % 5 == 0;
      p[0] = static_cast<uint8_t>((x * 255) / (width > 1 ? width - 1 : 1));
      p[1] = static_cast<uint8_t>((y * 255) / (height > 1 ? height - 1 : 1));
      p[2] = static_cast<uint8_t>(in_box ? 220 : (state >> 24) / 4);
    }
  }
  return image;
}

}  // namespace vlm_cli
