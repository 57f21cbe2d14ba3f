// The one Engine implementation (internal). Members are ordered so that what the vision encoder
// and decoder borrow (checkpoint, backend) is constructed before and destroyed after them.
#pragma once

#include <memory>

#include "text/text_decoder.h"
#include "vlm/backend.h"
#include "vlm/checkpoint.h"
#include "vlm/engine.h"
#include "vlm/tokenizer.h"
#include "vlm/vision_encoder.h"

namespace vlm {

class EngineImpl final : public Engine {
 public:
  EngineImpl(const std::filesystem::path& model_dir, const EngineOptions& options);
  ~EngineImpl() override;

  GenerateResult generate(const GenerateRequest& request) override;
  const ModelConfig& config() const override { return config_; }
  const PreprocessorConfig& preprocessor() const override { return preprocessor_; }
  const GenerationConfig& generation_defaults() const override { return generation_; }
  EngineMemoryStats memory_stats() const override;
  // On the backend's device when it preprocesses there and options_.device_preprocessing
  // (engine_preprocess.cpp).
  using Engine::preprocess_image;
  using Engine::preprocess_video;
  VisionInput preprocess_video(std::span<const FrameView> frames, double sample_fps,
                               const VideoSamplingOptions& options) override;
  VisionInput preprocess_image(const FrameView& image, int64_t min_pixels, int64_t max_pixels) override;

 private:
  // Vision features of the request's images and videos (one encode call per kind), scattered
  // into `embeds` at the placeholder rows; throws InvalidInput on a count mismatch.
  void merge_vision(const GenerateRequest& request, const std::vector<int32_t>& ids, Tensor& embeds);

  EngineOptions options_;
  ModelConfig config_;
  PreprocessorConfig preprocessor_;
  GenerationConfig generation_;
  Tokenizer tokenizer_;
  Checkpoint checkpoint_;
  std::unique_ptr<Backend> backend_;
  std::unique_ptr<VisionEncoder> vision_;
  std::unique_ptr<TextDecoder> decoder_;
};

}  // namespace vlm
