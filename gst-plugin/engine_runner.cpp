// Engine-backed runner (see engine_runner.h). The folder is checked before loading so the error a
// user sees names the exact missing path rather than a generic load failure. task=query windows go
// through answer_query_window with the engine's localisation model (vlm/localize.h): the coarse
// question at a quarter of the refine pass's pixel budget, as `vlm localize` lowers its first pass.
#include "engine_runner.h"

#include <algorithm>
#include <filesystem>

#include "query_window.h"
#include "vlm/engine.h"
#include "vlm/error.h"
#include "vlm/preprocess.h"
#include "vlm/tokenizer.h"

namespace vlm::gst {
namespace {

constexpr int64_t kDefaultFramePixels = 602112;  // qwen-vl-utils' per-frame cap for short clips

class EngineRunner final : public WindowRunner {
 public:
  EngineRunner(std::unique_ptr<Engine> engine, Tokenizer tokenizer)
      : engine_(std::move(engine)), tokenizer_(std::move(tokenizer)) {}

  WindowAnswer run(const WindowJob& job, const CancelToken& cancel) override {
    VLM_CHECK(!job.window.frames.empty(), InvalidInput, "window " << job.window.index << " has no frames");
    if (job.task.task == Task::Query) return run_query(job, cancel);
    return {describe(job, cancel), std::nullopt};
  }

 private:
  std::string describe(const WindowJob& job, const CancelToken& cancel) {
    const Window& window = job.window;
    std::vector<FrameView> frames;  // views of the window's frames, not copies
    frames.reserve(window.frames.size());
    for (const FramePtr& frame : window.media_order()) frames.push_back(frame->pixels.view());
    VideoSamplingOptions sampling;
    sampling.fps = job.task.sample_fps;
    if (job.task.min_pixels > 0) sampling.min_pixels = job.task.min_pixels;
    sampling.max_pixels = job.task.max_pixels;
    VisionItem item;
    // On the engine's device where it can (device=cuda: NV12 or RGB uploaded as is, converted,
    // resized and patchified on the GPU); else converted to RGB and preprocessed on this thread.
    item.input = engine_->preprocess_video(std::span<const FrameView>(frames), job.task.sample_fps,
                                           sampling);
    item.is_video = true;
    // Model time 0 is the window's first frame (spec §4.5); results are mapped back from there.
    item.patch_start_seconds =
        patch_start_seconds(window, engine_->config().vision.temporal_patch_size);
    GenerateRequest request;
    request.visions.push_back(std::move(item));
    request.prompt = job.task.prompt;
    request.sampling.max_new_tokens = job.task.max_new_tokens;
    request.cancel = &cancel;
    GenerateResult result = engine_->generate(request);
    if (result.cancelled) VLM_THROW(Cancelled, "window " << window.index << " cancelled");
    return result.text;
  }

  WindowAnswer run_query(const WindowJob& job, const CancelToken& cancel) {
    const int64_t refine_pixels = job.task.max_pixels > 0 ? job.task.max_pixels : kDefaultFramePixels;
    const int64_t factor = engine_->preprocessor().factor();
    const int64_t coarse_pixels = std::max(refine_pixels / 4, 4 * factor * factor);
    EngineLocalizeModel model(*engine_, tokenizer_, refine_pixels, job.task.max_new_tokens);
    model.set_score_max_pixels(coarse_pixels);
    model.set_cancel(&cancel);
    return answer_query_window(model, model, job);
  }

  std::unique_ptr<Engine> engine_;
  Tokenizer tokenizer_;
};

}  // namespace

std::unique_ptr<WindowRunner> make_engine_runner(const RunnerConfig& config) {
  namespace fs = std::filesystem;
  const fs::path dir(config.model);
  std::error_code ec;
  VLM_CHECK(fs::is_directory(dir, ec), NotFound, "model folder '" << config.model << "' does not exist");
  VLM_CHECK(fs::is_regular_file(dir / "config.json", ec), NotFound,
            "model file '" << (dir / "config.json").string() << "' does not exist");
  EngineOptions options;
  options.device = config.device;
  std::unique_ptr<Engine> engine = Engine::load(dir, options);  // checks config, weights, tokenizer
  return std::make_unique<EngineRunner>(std::move(engine), Tokenizer::from_file(dir / "tokenizer.json"));
}

}  // namespace vlm::gst
