// EngineLocalizeModel with the tiny random-weight checkpoint (tests/fixtures/models/tiny-a):
// the score is P(yes) over the first answer token as computed independently here from the same
// request's raw logits (tokenizer ids of "Yes"/"yes" against "No"/"no", softmax in double;
// tolerance 1e-9, the same float logits on both sides), also at the coarse pass's own pixel cap,
// and a long clip stays within a small context because its frames shrink to the vision-token
// budget.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdlib>
#include <filesystem>

#include "vlm/engine.h"
#include "vlm/error.h"
#include "vlm/frame_sampler.h"
#include "vlm/localize.h"
#include "vlm/preprocess.h"
#include "vlm/tokenizer.h"

namespace {

std::filesystem::path tiny_model() {
  const char* fixtures = std::getenv("VLM_FIXTURES");
  return std::filesystem::path(fixtures != nullptr ? fixtures : "tests/fixtures") / "models" / "tiny-a";
}

std::vector<vlm::TimedFrame> moving_square_clip(int frames, int width, int height, double fps) {
  std::vector<vlm::TimedFrame> clip;
  for (int i = 0; i < frames; ++i) {
    vlm::ImageRgb8 image;
    image.width = width;
    image.height = height;
    image.pixels.assign(static_cast<size_t>(width) * height * 3, 40);
    for (int y = height / 4; y < height / 2; ++y) {
      for (int x = i * 4 % (width / 2); x < i * 4 % (width / 2) + width / 4; ++x) {
        uint8_t* p = image.pixels.data() + (static_cast<size_t>(y) * width + x) * 3;
        p[0] = 230, p[1] = 30, p[2] = 30;
      }
    }
    clip.push_back({10.0 + i / fps, std::make_shared<const vlm::RawFrame>(std::move(image))});
  }
  return clip;
}

// The yes/no question asked directly of the engine: the clip's frames at 1 fps, their own times,
// every frame at exactly `pixels`; P(yes) over the first answer token from the raw logits.
double direct_score(vlm::Engine& engine, const vlm::Tokenizer& tokenizer,
                    const std::vector<vlm::TimedFrame>& clip, int64_t pixels) {
  std::vector<vlm::ImageRgb8> frames;
  std::vector<int64_t> pts;
  for (const vlm::TimedFrame& f : clip) {
    frames.push_back(vlm::to_rgb8(f.pixels->view()));
    pts.push_back(std::llround(f.seconds * 1e9));
  }
  vlm::VideoSamplingOptions options;
  options.fps = 1.0;
  options.max_pixels = pixels;
  options.min_pixels = pixels;
  options.total_pixels = 6144LL * 28 * 28;
  vlm::GenerateRequest request;
  vlm::VisionItem item;
  item.is_video = true;
  item.input = vlm::preprocess_video(frames, 1.0, engine.preprocessor(), options);
  item.patch_start_seconds = vlm::temporal_patch_starts(pts, pts.front(), 2);
  request.visions.push_back(item);
  request.prompt = "Does this clip show: a red square moves? Answer yes or no.";
  request.sampling.max_new_tokens = 1;
  request.keep_logits = true;
  vlm::GenerateResult result = engine.generate(request);
  EXPECT_FALSE(result.logits.empty());
  if (result.logits.empty()) return -1;
  auto logit = [&](const char* word) {
    return static_cast<double>(result.logits.at(static_cast<size_t>(tokenizer.encode(word).at(0))));
  };
  double yes = std::exp(logit("Yes")), no = std::exp(logit("No"));
  if (tokenizer.encode("yes").at(0) != tokenizer.encode("Yes").at(0)) yes += std::exp(logit("yes"));
  if (tokenizer.encode("no").at(0) != tokenizer.encode("No").at(0)) no += std::exp(logit("no"));
  return yes / (yes + no);
}

TEST(LocalizeEngine, ScoreIsTheYesProbabilityOfTheFirstAnswerToken) {
  auto engine = vlm::Engine::load(tiny_model());
  vlm::Tokenizer tokenizer = vlm::Tokenizer::from_file(tiny_model() / "tokenizer.json");
  const int64_t max_pixels = 12544;
  vlm::EngineLocalizeModel model(*engine, tokenizer, max_pixels, 16, /*max_vision_tokens=*/6144);
  std::vector<vlm::TimedFrame> clip = moving_square_clip(8, 160, 120, 1.0);
  double score = model.score(clip, "a red square moves");
  EXPECT_GE(score, 0.0);
  EXPECT_LE(score, 1.0);
  EXPECT_NEAR(score, direct_score(*engine, tokenizer, clip, max_pixels), 1e-9);
}

TEST(LocalizeEngine, ScoreLooksAtFramesOfTheCoarseCap) {
  auto engine = vlm::Engine::load(tiny_model());
  vlm::Tokenizer tokenizer = vlm::Tokenizer::from_file(tiny_model() / "tokenizer.json");
  vlm::EngineLocalizeModel model(*engine, tokenizer, 12544, 16, /*max_vision_tokens=*/6144);
  model.set_score_max_pixels(3136);  // 56x56 frames for the yes/no question
  std::vector<vlm::TimedFrame> clip = moving_square_clip(8, 160, 120, 1.0);
  const double coarse = model.score(clip, "a red square moves");
  EXPECT_NEAR(coarse, direct_score(*engine, tokenizer, clip, 3136), 1e-9);
  EXPECT_NE(coarse, direct_score(*engine, tokenizer, clip, 12544));  // the cap is not ignored
}

TEST(LocalizeEngine, LongClipFitsASmallContext) {
  vlm::EngineOptions options;
  options.max_context = 1024;
  auto engine = vlm::Engine::load(tiny_model(), options);
  vlm::Tokenizer tokenizer = vlm::Tokenizer::from_file(tiny_model() / "tokenizer.json");
  // 64 frames of 640x480: at the default per-frame minimum (128 tokens per frame pair) this is
  // over 4096 vision tokens; a 512-token budget must shrink the frames to fit 1024.
  std::vector<vlm::TimedFrame> clip = moving_square_clip(64, 640, 480, 2.0);
  vlm::EngineLocalizeModel small(*engine, tokenizer, 0, 8, /*max_vision_tokens=*/512);
  EXPECT_NO_THROW(small.locate(clip, "a red square moves"));
  vlm::EngineLocalizeModel large(*engine, tokenizer, 0, 8, /*max_vision_tokens=*/8192);
  try {  // proves the limit is real
    large.score(clip, "a red square moves");
    ADD_FAILURE() << "a 64-frame clip at 8192 vision tokens should not fit a 1024-token context";
  } catch (const vlm::Error& e) {
    EXPECT_NE(std::string(e.what()).find("context"), std::string::npos) << e.what();
  }
}

}  // namespace
