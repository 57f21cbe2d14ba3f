// EngineLocalizeModel (see vlm/localize.h): the localisation search's questions put to the real
// engine. score() generates one step with keep_logits and compares the probabilities of the first
// tokens of "Yes"/"yes" against "No"/"no" (a calibrated score, unlike the sampled word); locate()
// generates the grounding answer greedily. Clips are preprocessed as one video at their real frame
// times, so the model's answers are in seconds from the clip's first frame (spec §9.1).
#include <algorithm>
#include <cmath>

#include "vlm/engine.h"
#include "vlm/error.h"
#include "vlm/frame_sampler.h"
#include "vlm/localize.h"
#include "vlm/preprocess.h"
#include "vlm/tokenizer.h"

namespace vlm {
namespace {

std::vector<int32_t> first_token_ids(const Tokenizer& tokenizer,
                                     std::initializer_list<const char*> words) {
  std::vector<int32_t> ids;
  for (const char* word : words) {
    std::vector<int32_t> encoded = tokenizer.encode(word);
    if (!encoded.empty() && std::find(ids.begin(), ids.end(), encoded.front()) == ids.end()) {
      ids.push_back(encoded.front());
    }
  }
  return ids;
}

// The clip as one video item, preprocessed by the engine (on its device where it can).
VisionItem clip_item(Engine& engine, std::span<const TimedFrame> clip, int64_t max_pixels,
                     int64_t max_vision_tokens) {
  const PreprocessorConfig& config = engine.preprocessor();
  VLM_CHECK(!clip.empty(), InvalidInput, "a localisation clip has no frames");
  std::vector<FrameView> frames;  // views: the clip's frames are not copied
  std::vector<int64_t> pts_ns;
  frames.reserve(clip.size());
  for (const TimedFrame& frame : clip) {
    VLM_CHECK(frame.pixels != nullptr, InvalidInput,
              "a localisation clip frame at " << frame.seconds << " s has no image");
    frames.push_back(frame.pixels->view());
    pts_ns.push_back(static_cast<int64_t>(std::llround(frame.seconds * 1e9)));
  }
  double span = clip.back().seconds - clip.front().seconds;
  double fps = clip.size() > 1 && span > 0 ? static_cast<double>(clip.size() - 1) / span : 2.0;
  VideoSamplingOptions options;
  options.fps = fps;
  // One vision token covers factor² pixels of a frame pair: total_pixels = tokens · factor².
  const int64_t factor = config.factor();
  options.total_pixels = max_vision_tokens * factor * factor;
  const int64_t frame_budget = std::max<int64_t>(
      factor * factor, options.total_pixels * 2 / static_cast<int64_t>(frames.size()));
  options.min_pixels = std::min(options.min_pixels, frame_budget);
  if (max_pixels > 0) {
    options.max_pixels = max_pixels;
    options.min_pixels = std::min(options.min_pixels, max_pixels);
  }
  VisionItem item;
  item.is_video = true;
  item.input = engine.preprocess_video(std::span<const FrameView>(frames), fps, options);
  item.patch_start_seconds = temporal_patch_starts(pts_ns, pts_ns.front(), config.temporal_patch_size);
  return item;
}

}  // namespace

EngineLocalizeModel::EngineLocalizeModel(Engine& engine, const Tokenizer& tokenizer,
                                         int64_t max_pixels, int max_new_tokens,
                                         int64_t max_vision_tokens)
    : engine_(engine),
      yes_ids_(first_token_ids(tokenizer, {"Yes", "yes"})),
      no_ids_(first_token_ids(tokenizer, {"No", "no"})),
      max_pixels_(max_pixels),
      max_new_tokens_(max_new_tokens),
      max_vision_tokens_(max_vision_tokens) {
  VLM_CHECK(max_vision_tokens_ >= 64, InvalidInput,
            "max_vision_tokens must be at least 64, got " << max_vision_tokens_);
  for (int32_t id : yes_ids_) {
    VLM_CHECK(std::find(no_ids_.begin(), no_ids_.end(), id) == no_ids_.end(), InvalidModel,
              "the tokenizer gives \"yes\" and \"no\" the same first token " << id
                                                                           << "; cannot score clips");
  }
  VLM_CHECK(!yes_ids_.empty() && !no_ids_.empty(), InvalidModel,
            "the tokenizer encodes \"yes\"/\"no\" to nothing");
}

double EngineLocalizeModel::score(std::span<const TimedFrame> clip, const std::string& query) {
  GenerateRequest request;
  const int64_t pixels = score_max_pixels_ > 0 ? score_max_pixels_ : max_pixels_;
  request.visions.push_back(clip_item(engine_, clip, pixels, max_vision_tokens_));
  request.prompt = localize_score_prompt(query);
  request.sampling.greedy = true;
  request.sampling.max_new_tokens = 1;
  request.keep_logits = true;
  request.cancel = cancel_;
  GenerateResult result = engine_.generate(request);
  if (result.cancelled) VLM_THROW(Cancelled, "the clip's score question was cancelled");
  const size_t vocab = static_cast<size_t>(engine_.config().text.vocab_size);
  VLM_CHECK(result.logits.size() >= vocab && vocab > 0, Internal,
            "the engine returned " << result.logits.size() << " logits for a vocabulary of " << vocab);
  return yes_probability(std::span<const float>(result.logits.data(), vocab), yes_ids_, no_ids_);
}

std::string EngineLocalizeModel::locate(std::span<const TimedFrame> clip, const std::string& query) {
  GenerateRequest request;
  request.visions.push_back(clip_item(engine_, clip, max_pixels_, max_vision_tokens_));
  request.prompt = localize_refine_prompt(query);
  request.sampling.greedy = true;
  request.sampling.max_new_tokens = max_new_tokens_;
  request.cancel = cancel_;
  GenerateResult result = engine_.generate(request);
  if (result.cancelled) VLM_THROW(Cancelled, "the clip's start/end question was cancelled");
  return result.text;
}

}  // namespace vlm
