// The engine: a loaded Qwen2.5-VL checkpoint on one backend, turning images/videos and a prompt
// into generated text. This is the whole surface the GStreamer element and the CLI use.
// Thread-compatible: one generate() at a time per Engine (callers serialise; the element's
// shared-engine registry does).
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "vlm/backend.h"
#include "vlm/config.h"
#include "vlm/image.h"
#include "vlm/log.h"
#include "vlm/preprocess.h"

namespace vlm {

struct EngineOptions {
  std::string device = "cpu";  // "cpu", "cuda", "cuda:N"
  int n_threads = 0;           // CPU threads; 0 = all cores
  int max_context = 8192;      // KV-cache capacity in tokens
  // Engine::preprocess_* on the device where the backend can (CUDA); false keeps the host path.
  bool device_preprocessing = true;
  bool integer_temporal_ids = false;  // HF ≥ 4.52 rule (spec §7.3); default is the float rule
};

// One vision item of a request, already preprocessed.
struct VisionItem {
  VisionInput input;
  bool is_video = false;
  // Videos from a stream: real start time (seconds from the clip start) of each temporal patch.
  // Empty = even spacing from second_per_grid_t (the reference behaviour).
  std::vector<double> patch_start_seconds;
};

struct SamplingOptions {
  bool greedy = true;
  float temperature = 1.0f;
  int top_k = 0;          // 0 = off
  float top_p = 1.0f;
  float repetition_penalty = 1.0f;
  uint64_t seed = 0;
  int max_new_tokens = 128;
  int min_new_tokens = 0;  // stop ids are suppressed before this many tokens (HF semantics)
  std::vector<int32_t> stop_ids;  // empty = the checkpoint's
};

struct GenerateRequest {
  std::vector<VisionItem> visions;
  std::string prompt;
  std::string system_prompt = "You are a helpful assistant.";
  SamplingOptions sampling;
  bool keep_logits = false;  // fill GenerateResult::logits
  // Called with each new token id and the text it completes (may be empty mid-character).
  std::function<void(int32_t id, const std::string& text_piece)> on_token;
  const CancelToken* cancel = nullptr;
};

struct GenerateTimings {
  double vision_ms = 0, prefill_ms = 0, decode_ms = 0, first_token_ms = 0;
  int prefill_tokens = 0, decode_tokens = 0;
};

struct GenerateResult {
  std::vector<int32_t> prompt_ids;
  std::vector<int32_t> generated_ids;  // ends with the stop id when one ended it (as HF's sequences)
  std::string text;                    // generated_ids decoded, special tokens skipped
  bool cancelled = false;
  std::vector<float> logits;  // [generated steps, vocab] raw (before penalties) when keep_logits
  GenerateTimings timings;
};

// Memory figures of a loaded engine (vlm bench): the backend's (vlm/backend.h) and the KV cache's.
struct EngineMemoryStats {
  BackendMemoryStats backend;  // backend.available is false on the CPU
  int64_t kv_cache_bytes = 0;  // keys + values of every layer at the engine's context capacity
};

class Engine {
 public:
  static std::unique_ptr<Engine> load(const std::filesystem::path& model_dir,
                                      const EngineOptions& options = {});
  virtual ~Engine() = default;
  virtual GenerateResult generate(const GenerateRequest& request) = 0;
  virtual const ModelConfig& config() const = 0;
  virtual const PreprocessorConfig& preprocessor() const = 0;
  virtual const GenerationConfig& generation_defaults() const = 0;
  virtual EngineMemoryStats memory_stats() const { return {}; }

  // The preprocessor's output for this engine's requests: vlm::preprocess_video /
  // preprocess_image of to_rgb8(frames), done on the engine's device where its backend can (CUDA:
  // RGB and NV12 frames are uploaded as they are and converted, resized, normalised and patchified
  // there; the result holds device_pixel_values, the same values rounded to the activation dtype)
  // and on the host otherwise (the defaults here). min_pixels/max_pixels <= 0: qwen-vl-utils'
  // image defaults.
  virtual VisionInput preprocess_video(std::span<const FrameView> frames, double sample_fps,
                                       const VideoSamplingOptions& options);
  virtual VisionInput preprocess_image(const FrameView& image, int64_t min_pixels = 0,
                                       int64_t max_pixels = 0);
  // The same for RGB images (seen as frames, not copied).
  VisionInput preprocess_video(std::span<const ImageRgb8> frames, double sample_fps,
                               const VideoSamplingOptions& options);
  VisionInput preprocess_image(const ImageRgb8& image, int64_t min_pixels = 0, int64_t max_pixels = 0);
};

}  // namespace vlm
