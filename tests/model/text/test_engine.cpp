// The whole Engine (config, tokenizer, prompt, preprocessed pixels → vision encoder → decoder →
// greedy loop) against the HF 4.51.3 reference runs, plus its error and control paths: the prompt
// ids, 32 greedy tokens and their per-step logits, the repetition-penalty run, the bf16 checkpoint's
// error against the fp32 reference on the same weights, cancellation, the context limit, and
// checkpoints with a missing or misshapen tensor.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <span>
#include <string>
#include <vector>

#include "fixture_runs.h"
#include "vlm/backend.h"
#include "vlm/engine.h"
#include "vlm/error.h"
#include "vlm/image.h"
#include "vlm/preprocess.h"
#include "vlm/safetensors.h"

namespace vlm {
namespace {

namespace fs = std::filesystem;
using testing::FixtureRun;
using testing::read_array;
using testing::relative_to_max;

constexpr double kLogitTolerance = 1e-4;  // max |ours − ref| / max |ref| per step, fp32 reference

EngineOptions cpu_options(int max_context = 512) {
  EngineOptions options;
  options.n_threads = 2;
  options.max_context = max_context;
  return options;
}

GenerateRequest request_for(const FixtureRun& r, int max_new_tokens) {
  GenerateRequest request;
  request.visions = testing::vision_items(r);
  request.prompt = r.the_case["user_text"];
  request.sampling.greedy = true;
  request.sampling.max_new_tokens = max_new_tokens;
  request.sampling.min_new_tokens = r.run["generation"]["min_new_tokens"].get<int>();
  return request;
}

TEST(EngineFixture, GreedyGenerationMatchesReference) {
  const auto runs = testing::list_runs();
  ASSERT_FALSE(runs.empty()) << "no fixtures under VLM_FIXTURES";
  for (const FixtureRun& r : runs) {
    SCOPED_TRACE(r.label());
    auto engine = Engine::load(r.checkpoint_dir, cpu_options());
    GenerateRequest request = request_for(r, r.run["generation"]["max_new_tokens"].get<int>());
    request.keep_logits = true;
    const GenerateResult result = engine->generate(request);
    EXPECT_EQ(result.prompt_ids, read_array<int32_t>(r, "input_ids"));
    EXPECT_EQ(result.generated_ids, read_array<int32_t>(r, "generated_ids"));
    EXPECT_FALSE(result.cancelled);
    const auto ref_logits = read_array<float>(r, "generated_logits");
    ASSERT_EQ(result.logits.size(), ref_logits.size());
    const size_t vocab = static_cast<size_t>(engine->config().text.vocab_size);
    double worst = 0.0;
    for (size_t step = 0; step * vocab < ref_logits.size(); ++step) {
      const std::vector<float> ours(result.logits.begin() + step * vocab,
                                    result.logits.begin() + (step + 1) * vocab);
      const std::vector<float> ref(ref_logits.begin() + step * vocab,
                                   ref_logits.begin() + (step + 1) * vocab);
      worst = std::max(worst, relative_to_max(ours, ref));
    }
    std::printf("[ figure ] %-28s %-9s full pipeline, worst step logits rel err vs HF fp32 = %.3g\n",
                r.label().c_str(), r.run["checkpoint_storage_dtype"].get<std::string>().c_str(), worst);
    EXPECT_LE(worst, kLogitTolerance);
  }
}

TEST(EngineFixture, RepetitionPenaltyRunMatchesReference) {
  int checked = 0;
  const auto runs = testing::list_runs();
  ASSERT_FALSE(runs.empty()) << "no fixtures under VLM_FIXTURES";
  for (const FixtureRun& r : runs) {
    if (!r.run.contains("repetition_penalty_run")) continue;
    SCOPED_TRACE(r.label());
    auto engine = Engine::load(r.checkpoint_dir, cpu_options());
    GenerateRequest request = request_for(r, 32);
    request.sampling.repetition_penalty = r.run["repetition_penalty_run"]["repetition_penalty"];
    const auto array = r.run["repetition_penalty_run"]["array"].get<std::string>();
    EXPECT_EQ(engine->generate(request).generated_ids, read_array<int32_t>(r, array));
    ++checked;
  }
  EXPECT_GT(checked, 0);
}

// The checkpoint's generation_config (do_sample, temperature 0.1, top_k 1, top_p 0.001, penalty
// 1.05) is effectively greedy on penalised logits (spec §7.7): sampling with it reproduces the
// reference's greedy repetition-penalty run whatever the seed.
TEST(EngineFixture, CheckpointSamplingDefaultsEqualPenalisedGreedy) {
  const auto runs = testing::list_runs();
  const auto with_run = std::find_if(runs.begin(), runs.end(), [](const FixtureRun& run) {
    return run.run.contains("repetition_penalty_run");
  });
  ASSERT_NE(with_run, runs.end());
  const FixtureRun& r = *with_run;
  auto engine = Engine::load(r.checkpoint_dir, cpu_options());
  const GenerationConfig& defaults = engine->generation_defaults();
  ASSERT_TRUE(defaults.do_sample);
  GenerateRequest request = request_for(r, 32);
  request.sampling.greedy = false;
  request.sampling.temperature = defaults.temperature;
  request.sampling.top_k = defaults.top_k;
  request.sampling.top_p = defaults.top_p;
  request.sampling.repetition_penalty = defaults.repetition_penalty;
  ASSERT_FLOAT_EQ(defaults.repetition_penalty,
                  r.run["repetition_penalty_run"]["repetition_penalty"].get<float>());
  const auto expected =
      read_array<int32_t>(r, r.run["repetition_penalty_run"]["array"].get<std::string>());
  for (uint64_t seed : {1u, 2u}) {
    request.sampling.seed = seed;
    EXPECT_EQ(engine->generate(request).generated_ids, expected) << "seed " << seed;
  }
}

TEST(EngineFixture, SeededSamplingIsDeterministic) {
  const auto runs = testing::list_runs();
  ASSERT_FALSE(runs.empty());
  auto engine = Engine::load(runs.front().checkpoint_dir, cpu_options());
  GenerateRequest request = request_for(runs.front(), 16);
  request.sampling.greedy = false;
  request.sampling.temperature = 1.5f;
  request.sampling.seed = 42;
  const auto first = engine->generate(request).generated_ids;
  EXPECT_EQ(engine->generate(request).generated_ids, first);
  request.sampling.seed = 43;
  EXPECT_NE(engine->generate(request).generated_ids, first);
}

// The bf16 checkpoint: our CPU run (bf16 weights, f32 activations) against HF in fp32 on the same
// (exactly upcast) weights, and for comparison HF's own bf16-compute run against that reference.
TEST(EngineFixture, Bf16CheckpointErrorAgainstFp32Reference) {
  int checked = 0;
  const auto runs = testing::list_runs();
  ASSERT_FALSE(runs.empty()) << "no fixtures under VLM_FIXTURES";
  for (const FixtureRun& r : runs) {
    if (r.run["checkpoint_storage_dtype"] != "bfloat16") continue;
    SCOPED_TRACE(r.label());
    auto engine = Engine::load(r.checkpoint_dir, cpu_options());
    GenerateRequest request = request_for(r, 1);
    request.keep_logits = true;
    const GenerateResult result = engine->generate(request);
    const auto prefill = read_array<float>(r, "prefill_logits");
    const size_t vocab = static_cast<size_t>(engine->config().text.vocab_size);
    const std::vector<float> ref_last(prefill.end() - static_cast<std::ptrdiff_t>(vocab), prefill.end());
    const double ours = relative_to_max(result.logits, ref_last);
    double hf_bf16 = -1.0;
    if (r.has("bf16_prefill_logits_last_row")) {
      hf_bf16 = relative_to_max(read_array<float>(r, "bf16_prefill_logits_last_row"), ref_last);
    }
    std::printf("[ figure ] %-28s bf16 checkpoint: last-row logits rel err vs HF fp32 = %.3g "
                "(HF bf16 compute: %.3g)\n", r.label().c_str(), ours, hf_bf16);
    EXPECT_LE(ours, kLogitTolerance);
    ++checked;
  }
  EXPECT_GT(checked, 0);
}

// On the CPU, Engine::preprocess_* is the host preprocessor (no device rows), with qwen-vl-utils'
// image limits when none are given; a request from it generates what the host inputs generate.
TEST(Engine, PreprocessOnTheCpuIsTheHostPreprocessor) {
  const auto runs = testing::list_runs();
  ASSERT_FALSE(runs.empty());
  auto engine = Engine::load(runs.front().checkpoint_dir, cpu_options());
  ImageRgb8 image;
  image.width = 90;
  image.height = 50;
  image.pixels.resize(90 * 50 * 3);
  for (size_t i = 0; i < image.pixels.size(); ++i) image.pixels[i] = static_cast<uint8_t>(i * 7 % 251);
  const VisionInput input = engine->preprocess_image(image);
  EXPECT_TRUE(input.device_pixel_values.empty());
  EXPECT_EQ(input.pixel_values, preprocess_image(image, engine->preprocessor()).pixel_values);
  EXPECT_EQ(engine->preprocess_image(image, 28 * 28, 56 * 56).pixel_values,
            preprocess_image(image, engine->preprocessor(), 28 * 28, 56 * 56).pixel_values);
  const std::vector<ImageRgb8> frames(3, image);
  VideoSamplingOptions options;
  options.min_pixels = 28 * 28;
  options.max_pixels = 56 * 56;
  const VisionInput video = engine->preprocess_video(frames, 2.0, options);
  const VisionInput host_video = preprocess_video(frames, 2.0, engine->preprocessor(), options);
  EXPECT_TRUE(video.device_pixel_values.empty());
  EXPECT_EQ(video.pixel_values, host_video.pixel_values);
  EXPECT_EQ(video.second_per_grid_t, host_video.second_per_grid_t);
}

// Raw frames (what vlmdescribe holds: NV12 here, with padded rows and odd sizes) are converted
// with to_rgb8 on the host path, then preprocessed as those RGB images.
TEST(Engine, PreprocessOfRawFramesIsThatOfTheirRgb) {
  const auto runs = testing::list_runs();
  ASSERT_FALSE(runs.empty());
  auto engine = Engine::load(runs.front().checkpoint_dir, cpu_options());
  const int width = 91, height = 53, luma_stride = 96, chroma_stride = 100;
  std::vector<std::vector<uint8_t>> planes;
  std::vector<FrameView> frames;
  for (int f = 0; f < 4; ++f) {
    planes.emplace_back(static_cast<size_t>(luma_stride) * height);
    planes.emplace_back(static_cast<size_t>(chroma_stride) * ((height + 1) / 2));
    for (size_t i = 0; i < planes[2 * f].size(); ++i) planes[2 * f][i] = static_cast<uint8_t>(i * 13 + f);
    for (size_t i = 0; i < planes[2 * f + 1].size(); ++i) planes[2 * f + 1][i] = static_cast<uint8_t>(i * 5 + 3 * f);
  }
  std::vector<ImageRgb8> rgb;
  for (int f = 0; f < 4; ++f) {
    FrameView v;
    v.format = PixelFormat::NV12;
    v.width = width;
    v.height = height;
    v.planes[0] = planes[2 * f].data();
    v.strides[0] = luma_stride;
    v.planes[1] = planes[2 * f + 1].data();
    v.strides[1] = chroma_stride;
    frames.push_back(v);
    rgb.push_back(to_rgb8(v));
  }
  VideoSamplingOptions options;
  options.min_pixels = 28 * 28;
  options.max_pixels = 56 * 56;
  const VisionInput video = engine->preprocess_video(std::span<const FrameView>(frames), 2.0, options);
  EXPECT_EQ(video.pixel_values, preprocess_video(rgb, 2.0, engine->preprocessor(), options).pixel_values);
  EXPECT_EQ(engine->preprocess_image(frames[1], 28 * 28, 84 * 84).pixel_values,
            preprocess_image(rgb[1], engine->preprocessor(), 28 * 28, 84 * 84).pixel_values);
  // The copy vlmdescribe keeps gives the same rows as the decoder's frame.
  const RawFrame held = RawFrame::copy_of(frames[2]);
  EXPECT_EQ(engine->preprocess_image(held.view()).pixel_values, engine->preprocess_image(rgb[2]).pixel_values);
  FrameView broken = frames[0];
  broken.strides[1] = 10;
  EXPECT_THROW(engine->preprocess_image(broken), Error);
}

TEST(Engine, CancelFromOnTokenReturnsTokensSoFar) {
  const auto runs = testing::list_runs();
  ASSERT_FALSE(runs.empty());
  auto engine = Engine::load(runs.front().checkpoint_dir, cpu_options());
  CancelToken cancel;
  GenerateRequest request = request_for(runs.front(), 20);
  request.cancel = &cancel;
  int seen = 0;
  request.on_token = [&](int32_t, const std::string&) {
    if (++seen == 3) cancel.cancel();
  };
  const GenerateResult result = engine->generate(request);
  EXPECT_TRUE(result.cancelled);
  EXPECT_EQ(result.generated_ids.size(), 3u);
  EXPECT_EQ(seen, 3);
  const auto expected = read_array<int32_t>(runs.front(), "generated_ids");
  EXPECT_EQ(result.generated_ids, std::vector<int32_t>(expected.begin(), expected.begin() + 3));
}

TEST(Engine, CancelBeforeStartReturnsNothing) {
  const auto runs = testing::list_runs();
  ASSERT_FALSE(runs.empty());
  auto engine = Engine::load(runs.front().checkpoint_dir, cpu_options());
  CancelToken cancel;
  cancel.cancel();
  GenerateRequest request = request_for(runs.front(), 8);
  request.cancel = &cancel;
  const GenerateResult result = engine->generate(request);
  EXPECT_TRUE(result.cancelled);
  EXPECT_TRUE(result.generated_ids.empty());
}

TEST(Engine, StreamedPiecesJoinToTheText) {
  const auto runs = testing::list_runs();
  ASSERT_FALSE(runs.empty());
  auto engine = Engine::load(runs.front().checkpoint_dir, cpu_options());
  GenerateRequest request = request_for(runs.front(), 16);
  std::string streamed;
  std::vector<int32_t> ids;
  request.on_token = [&](int32_t id, const std::string& piece) {
    ids.push_back(id);
    streamed += piece;
  };
  const GenerateResult result = engine->generate(request);
  EXPECT_EQ(ids, result.generated_ids);
  // The final text may add a replacement character for bytes still pending at the end.
  EXPECT_EQ(result.text.compare(0, streamed.size(), streamed), 0);
}

TEST(Engine, PromptLongerThanContextIsAnError) {
  const auto runs = testing::list_runs();
  ASSERT_FALSE(runs.empty());
  auto engine = Engine::load(runs.front().checkpoint_dir, cpu_options(10));
  GenerateRequest request = request_for(runs.front(), 4);
  const size_t n_prompt = read_array<int32_t>(runs.front(), "input_ids").size();
  try {
    engine->generate(request);
    FAIL() << "no error";
  } catch (const Error& error) {
    EXPECT_EQ(error.code(), ErrorCode::InvalidInput);
    const std::string what = error.what();
    EXPECT_NE(what.find(std::to_string(n_prompt) + " tokens"), std::string::npos) << what;
    EXPECT_NE(what.find("context of 10"), std::string::npos) << what;
  }
}

TEST(Engine, GenerationStopsAtTheContextEnd) {
  const auto runs = testing::list_runs();
  ASSERT_FALSE(runs.empty());
  const auto n_prompt = static_cast<int>(read_array<int32_t>(runs.front(), "input_ids").size());
  auto engine = Engine::load(runs.front().checkpoint_dir, cpu_options(n_prompt + 5));
  GenerateRequest request = request_for(runs.front(), 32);
  const GenerateResult result = engine->generate(request);
  // Prompt + 5 cache rows hold the prompt and 5 fed-back tokens: 6 tokens can be produced.
  EXPECT_EQ(result.generated_ids.size(), 6u);
  const auto expected = read_array<int32_t>(runs.front(), "generated_ids");
  EXPECT_EQ(result.generated_ids, std::vector<int32_t>(expected.begin(), expected.begin() + 6));
}

const FixtureRun* find_run(const std::vector<FixtureRun>& runs, const std::string& label) {
  for (const FixtureRun& r : runs) {
    if (r.label() == label) return &r;
  }
  return nullptr;
}

// Even patch start times reproduce the reference exactly; uneven ones move the temporal ids and
// therefore change the logits.
TEST(Engine, PatchStartTimesDriveTemporalPositions) {
  const auto runs = testing::list_runs();
  const FixtureRun* r = find_run(runs, "tiny-a/video_2fps");
  ASSERT_NE(r, nullptr);
  auto engine = Engine::load(r->checkpoint_dir, cpu_options());
  GenerateRequest request = request_for(*r, 32);
  request.keep_logits = true;
  ASSERT_EQ(request.visions.size(), 1u);
  VisionItem& video = request.visions[0];
  ASSERT_GE(video.input.grid.t, 2);
  for (int64_t a = 0; a < video.input.grid.t; ++a) {
    video.patch_start_seconds.push_back(static_cast<double>(a) * video.input.second_per_grid_t);
  }
  const GenerateResult even = engine->generate(request);
  EXPECT_EQ(even.generated_ids, read_array<int32_t>(*r, "generated_ids"));
  video.patch_start_seconds.back() += 3.0;  // a late last patch: its temporal id grows by 6
  request.sampling.max_new_tokens = 1;
  const GenerateResult uneven = engine->generate(request);
  const size_t vocab = static_cast<size_t>(engine->config().text.vocab_size);
  const std::vector<float> first_even(even.logits.begin(), even.logits.begin() + vocab);
  EXPECT_GT(relative_to_max(uneven.logits, first_even), 1e-3);
}

// second_per_grid_t = 0.5 (4 fps): the integer rule collapses the temporal ids, so the logits move
// away from the float-rule reference.
TEST(Engine, IntegerTemporalRuleIsSelectable) {
  const auto runs = testing::list_runs();
  const FixtureRun* r = find_run(runs, "tiny-b/video_4fps");
  ASSERT_NE(r, nullptr);
  ASSERT_LT(read_array<float>(*r, "second_per_grid_ts").at(0), 1.0f);
  EngineOptions options = cpu_options();
  options.integer_temporal_ids = true;
  auto engine = Engine::load(r->checkpoint_dir, options);
  GenerateRequest request = request_for(*r, 1);
  request.keep_logits = true;
  const GenerateResult result = engine->generate(request);
  const auto prefill = read_array<float>(*r, "prefill_logits");
  const std::vector<float> ref_last(prefill.end() - static_cast<std::ptrdiff_t>(result.logits.size()),
                                    prefill.end());
  EXPECT_GT(relative_to_max(result.logits, ref_last), 1e-3);
}

// tiny-c/text_only: the reference's raw argmax at step 5 is a stop id (suppressed there by
// min_new_tokens). Without that suppression generation ends on it, using the checkpoint's stop ids.
TEST(Engine, StopsOnCheckpointStopIdWithoutMinNewTokens) {
  const auto runs = testing::list_runs();
  const FixtureRun* r = find_run(runs, "tiny-c/text_only");
  ASSERT_NE(r, nullptr);
  const auto suppressed_steps =
      r->run["generation"]["steps_where_raw_argmax_is_suppressed"].get<std::vector<size_t>>();
  ASSERT_FALSE(suppressed_steps.empty());
  const size_t stop_step = suppressed_steps.front();
  auto engine = Engine::load(r->checkpoint_dir, cpu_options());
  GenerateRequest request = request_for(*r, 32);
  request.sampling.min_new_tokens = 0;
  const GenerateResult result = engine->generate(request);
  const auto expected = read_array<int32_t>(*r, "generated_ids");
  ASSERT_EQ(result.generated_ids.size(), stop_step + 1);
  EXPECT_TRUE(std::equal(expected.begin(), expected.begin() + static_cast<std::ptrdiff_t>(stop_step),
                         result.generated_ids.begin()));
  const auto& stops = engine->generation_defaults().eos_token_ids;
  EXPECT_NE(std::find(stops.begin(), stops.end(), result.generated_ids.back()), stops.end());
}

TEST(Engine, ContextClampIsLogged) {
  const auto runs = testing::list_runs();
  ASSERT_FALSE(runs.empty());
  const auto n_prompt = static_cast<int>(read_array<int32_t>(runs.front(), "input_ids").size());
  auto engine = Engine::load(runs.front().checkpoint_dir, cpu_options(n_prompt + 2));
  std::vector<std::string> warnings;
  set_log_level(LogLevel::Debug);
  set_log_callback([&](LogLevel level, std::string_view message) {
    if (level == LogLevel::Warning) warnings.emplace_back(message);
  });
  const GenerateResult result = engine->generate(request_for(runs.front(), 10));
  set_log_callback(nullptr);
  EXPECT_EQ(result.generated_ids.size(), 3u);
  ASSERT_EQ(warnings.size(), 1u);
  EXPECT_NE(warnings[0].find("context"), std::string::npos) << warnings[0];
}

// Copies a fixture checkpoint folder, rewriting model.safetensors through `edit`.
fs::path edited_checkpoint(const fs::path& source, const std::string& name,
                           const std::function<void(const TensorInfo&, const Tensor&, SafetensorsWriter&)>& edit) {
  const fs::path dir = fs::temp_directory_path() / ("vlm_text_" + name + "_" + std::to_string(::getpid()));
  fs::remove_all(dir);
  fs::create_directories(dir);
  for (const auto& entry : fs::directory_iterator(source)) {
    if (entry.path().filename() != "model.safetensors") fs::copy(entry.path(), dir / entry.path().filename());
  }
  const auto file = SafetensorsFile::open(source / "model.safetensors");
  SafetensorsWriter writer;
  for (const TensorInfo& info : file->tensors()) edit(info, file->tensor(info.name), writer);
  writer.write(dir / "model.safetensors");
  return dir;
}

std::string load_error(const fs::path& dir) {
  try {
    Engine::load(dir, cpu_options());
  } catch (const Error& error) {
    return error.what();
  }
  return "";
}

TEST(Engine, MissingTensorIsNamed) {
  const auto runs = testing::list_runs();
  ASSERT_FALSE(runs.empty());
  const std::string victim = "model.layers.1.mlp.up_proj.weight";
  const fs::path dir = edited_checkpoint(runs.front().checkpoint_dir, "missing",
                                         [&](const TensorInfo& info, const Tensor& t, SafetensorsWriter& w) {
                                           if (info.name != victim) w.add(info.name, t);
                                         });
  const std::string what = load_error(dir);
  fs::remove_all(dir);
  std::printf("[ message ] %s\n", what.c_str());
  EXPECT_NE(what.find(victim), std::string::npos) << what;
}

TEST(Engine, WrongShapeIsNamed) {
  const auto runs = testing::list_runs();
  ASSERT_FALSE(runs.empty());
  const std::string victim = "model.layers.0.self_attn.k_proj.bias";
  const fs::path dir = edited_checkpoint(runs.front().checkpoint_dir, "shape",
                                         [&](const TensorInfo& info, const Tensor& t, SafetensorsWriter& w) {
                                           if (info.name == victim) {
                                             w.add(info.name, t.dtype(), {t.numel() - 1}, t.data());
                                           } else {
                                             w.add(info.name, t);
                                           }
                                         });
  const std::string what = load_error(dir);
  fs::remove_all(dir);
  std::printf("[ message ] %s\n", what.c_str());
  EXPECT_NE(what.find(victim), std::string::npos) << what;
}

TEST(Engine, CudaDeviceIsUnsupportedInThisBuild) {
  const auto runs = testing::list_runs();
  ASSERT_FALSE(runs.empty());
  if (backend_registered("cuda")) GTEST_SKIP() << "a CUDA backend is linked into this program";
  EngineOptions options = cpu_options();
  options.device = "cuda:0";
  try {
    Engine::load(runs.front().checkpoint_dir, options);
    FAIL() << "no error";
  } catch (const Error& error) {
    EXPECT_EQ(error.code(), ErrorCode::Unsupported);
  }
}

}  // namespace
}  // namespace vlm
