// Engine::load and the Engine implementation's members: reads the checkpoint folder (configs,
// tokenizer, tensors), builds the backend through the registry (backend.h), the vision encoder
// and the text decoder once. The per-request work lives in engine_generate.cpp.
#include "engine/engine_impl.h"

#include "vlm/error.h"

namespace vlm {

EngineImpl::EngineImpl(const std::filesystem::path& model_dir, const EngineOptions& options)
    : options_(options),
      config_(load_model_config(model_dir / "config.json")),
      preprocessor_(load_preprocessor_config(model_dir)),
      generation_(load_generation_config(model_dir, config_)),
      tokenizer_(Tokenizer::from_file(model_dir / "tokenizer.json")),
      checkpoint_(Checkpoint::open(model_dir)) {
  VLM_CHECK(options.max_context > 0, InvalidInput,
            "max_context " << options.max_context << " must be positive");
  VLM_CHECK(config_.vision.out_hidden_size == config_.text.hidden_size, InvalidModel,
            "config.json: vision_config.out_hidden_size " << config_.vision.out_hidden_size
                                                          << " differs from the text hidden_size "
                                                          << config_.text.hidden_size);
  // "cpu", or a device backend registered by another library ("cuda" → libvlm-cuda).
  backend_ = make_backend(options.device, options.n_threads);
  vision_ = std::make_unique<VisionEncoder>(config_, checkpoint_, *backend_);
  decoder_ = std::make_unique<TextDecoder>(config_.text, checkpoint_, *backend_, options.max_context);
}

EngineImpl::~EngineImpl() = default;

EngineMemoryStats EngineImpl::memory_stats() const {
  EngineMemoryStats stats;
  stats.backend = backend_->memory_stats();
  stats.kv_cache_bytes = decoder_ ? decoder_->kv_cache_bytes() : 0;
  return stats;
}

std::unique_ptr<Engine> Engine::load(const std::filesystem::path& model_dir, const EngineOptions& options) {
  return std::make_unique<EngineImpl>(model_dir, options);
}

}  // namespace vlm
