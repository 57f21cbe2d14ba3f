// Turns the CLI's --image / --video / --frames options into preprocessed engine inputs, the way
// the reference processor would (images: qwen-vl-utils fetch_image; videos: frames sampled by
// timestamp at --fps with each temporal patch's real start time kept).
#pragma once

#include <string>
#include <vector>

#include "vlm/engine.h"

namespace vlm_cli {

struct VisionSources {
  std::vector<std::string> images;
  std::string video;                // empty when none
  std::vector<std::string> frames;  // already-sampled PNG frames taken at fps
  double fps = 2.0;
  int64_t max_pixels = 0;           // 0 = the processor's default
};

// Preprocessed by the engine (on its device where it can: Engine::preprocess_*).
std::vector<vlm::VisionItem> load_vision_items(const VisionSources& sources, vlm::Engine& engine);

// A deterministic synthetic RGB picture (gradients and shapes) for benchmarks and demos.
vlm::ImageRgb8 synthetic_image(int width, int height, int seed);

}  // namespace vlm_cli
