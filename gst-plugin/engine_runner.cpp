// Engine-backed runner (see engine_runner.h). The folder is checked before loading so the error a
// user sees names the exact missing path rather than a generic load failure.
#include "engine_runner.h"

#include <filesystem>

#include "vlm/engine.h"
#include "vlm/error.h"
#include "vlm/preprocess.h"

namespace vlm::gst {
namespace {

class EngineRunner final : public WindowRunner {
 public:
  explicit EngineRunner(std::unique_ptr<Engine> engine) : engine_(std::move(engine)) {}

  std::string run(const WindowJob& job, const CancelToken& cancel) override {
    const Window& window = job.window;
    VLM_CHECK(!window.frames.empty(), InvalidInput, "window " << window.index << " has no frames");
    std::vector<ImageRgb8> images;
    images.reserve(window.frames.size());
    for (const FramePtr& frame : window.frames) images.push_back(frame->image);
    VideoSamplingOptions sampling;
    sampling.fps = job.task.sample_fps;
    if (job.task.min_pixels > 0) sampling.min_pixels = job.task.min_pixels;
    sampling.max_pixels = job.task.max_pixels;
    VisionItem item;
    item.input = preprocess_video(images, job.task.sample_fps, engine_->preprocessor(), sampling);
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

 private:
  std::unique_ptr<Engine> engine_;
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
  return std::make_unique<EngineRunner>(Engine::load(dir, options));
}

}  // namespace vlm::gst
