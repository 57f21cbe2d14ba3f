// Video preprocessing parity with qwen-vl-utils 0.0.14 + transformers 4.51.3: frame count and
// frame choice for files (smart_nframes + float32 torch.linspace + round half even), sample_fps,
// the per-frame pixel budget, grids, second_per_grid_ts and pixel_values. qvu resizes video frames
// with torchvision (antialiased bicubic), we with Pillow's filter: exact parity is required where
// no resize happens; elsewhere the difference is reported as a figure and bounded.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <string>

#include "fixtures.h"
#include "vlm/error.h"
#include "vlm/preprocess.h"

namespace {

vlm::VideoSamplingOptions options_from(const nlohmann::json& o) {
  vlm::VideoSamplingOptions opt;
  if (o.contains("fps")) opt.fps = o.at("fps").get<double>();
  if (o.contains("nframes")) opt.nframes = o.at("nframes").get<int>();
  if (o.contains("min_frames")) opt.min_frames = o.at("min_frames").get<int>();
  if (o.contains("max_frames")) opt.max_frames = o.at("max_frames").get<int>();
  if (o.contains("min_pixels")) opt.min_pixels = o.at("min_pixels").get<int64_t>();
  if (o.contains("max_pixels")) opt.max_pixels = o.at("max_pixels").get<int64_t>();
  return opt;
}

TEST(VideoPlan, MatchesReferenceFrameChoice) {
  const nlohmann::json fixture = vlm_test::load_fixture_json("video_plan.json");
  int compared = 0, errors = 0;
  for (const auto& c : fixture.at("cases")) {
    const int64_t total = c.at("total_frames").get<int64_t>();
    const double fps = c.at("video_fps").get<double>();
    const vlm::VideoSamplingOptions opt = options_from(c.at("options"));
    const std::string where = std::to_string(total) + " frames @" + std::to_string(fps) + " " +
                              c.at("options").dump();
    if (c.contains("error")) {
      ++errors;
      try {
        vlm::plan_video_frames(total, fps, opt);
        ADD_FAILURE() << "accepted: " << where;
      } catch (const vlm::Error& e) {
        EXPECT_NE(e.message().find("nframes"), std::string::npos) << e.message();
      }
      continue;
    }
    const vlm::VideoFramePlan plan = vlm::plan_video_frames(total, fps, opt);
    EXPECT_EQ(plan.frame_indices, c.at("frame_indices").get<std::vector<int64_t>>()) << where;
    EXPECT_EQ(plan.sample_fps, c.at("sample_fps").get<double>()) << where;
    ++compared;
  }
  EXPECT_GE(compared, 80);
  EXPECT_GE(errors, 2);
}

// Spec §4.2 examples, hand-checked: n and sample_fps.
TEST(VideoPlan, SpecExamples) {
  struct Ex {
    int64_t total;
    double fps;
    size_t n;
    double sample_fps;
  } examples[] = {{300, 30, 20, 2.0}, {315, 30, 20, 20.0 / 315 * 30}, {30, 30, 4, 4.0},
                  {7200, 30, 480, 2.0}};
  for (const Ex& e : examples) {
    const vlm::VideoFramePlan plan = vlm::plan_video_frames(e.total, e.fps);
    EXPECT_EQ(plan.frame_indices.size(), e.n) << e.total;
    EXPECT_DOUBLE_EQ(plan.sample_fps, e.sample_fps) << e.total;
    EXPECT_EQ(plan.frame_indices.front(), 0);
    EXPECT_EQ(plan.frame_indices.back(), e.total - 1);
  }
}

TEST(VideoPlan, RejectsBadInput) {
  EXPECT_THROW(vlm::plan_video_frames(0, 30), vlm::Error);
  EXPECT_THROW(vlm::plan_video_frames(-5, 30), vlm::Error);
  EXPECT_THROW(vlm::plan_video_frames(100, 0), vlm::Error);
  EXPECT_THROW(vlm::plan_video_frames(100, std::nan("")), vlm::Error);
  vlm::VideoSamplingOptions bad;
  bad.fps = -1;
  EXPECT_THROW(vlm::plan_video_frames(100, 30, bad), vlm::Error);
}

TEST(VideoFrameSize, SpecBudgetExamples) {
  // n <= 300: per-frame max 602112 (spec §3.2 table, video rows).
  vlm::ResizeTarget t = vlm::video_frame_size(1080, 1920, 20);
  EXPECT_EQ(t.height, 560);
  EXPECT_EQ(t.width, 1008);
  t = vlm::video_frame_size(360, 640, 300);
  EXPECT_EQ(t.height, 364);
  EXPECT_EQ(t.width, 644);
  // 768 frames: 90316800 / 768 * 2 = 235200 per frame.
  const vlm::ResizeTarget a = vlm::video_frame_size(1080, 1920, 768);
  const vlm::ResizeTarget b = vlm::smart_resize_qvu(1080, 1920, 28, 100352, 235200);
  EXPECT_EQ(a.height, b.height);
  EXPECT_EQ(a.width, b.width);
  EXPECT_LE(a.height * a.width, 235200);
  // A caller max_pixels only lowers the budget.
  vlm::VideoSamplingOptions opt;
  opt.max_pixels = 200000;
  t = vlm::video_frame_size(1080, 1920, 20, opt);
  EXPECT_LE(t.height * t.width, 200000);
  EXPECT_THROW(vlm::video_frame_size(1080, 1920, 0), vlm::Error);
}

// Real-valued budgets (n = 500: 361267.2; n = 768: 235200.0) against qvu smart_resize.
TEST(VideoFrameSize, MatchesReferenceWithRealValuedBudget) {
  const nlohmann::json fixture = vlm_test::load_fixture_json("smart_resize.json");
  int compared = 0;
  for (const auto& c : fixture.at("cases")) {
    const double max_pixels = c.at("max_pixels").get<double>();
    if (c.at("min_pixels").get<int64_t>() != 100352) continue;
    int64_t n = 0;
    if (max_pixels == 235200.0) n = 768;
    if (std::fabs(max_pixels - 361267.2) < 1e-6) n = 500;
    if (n == 0) continue;
    const int h = c.at("h").get<int>(), w = c.at("w").get<int>();
    const nlohmann::json& expected = c.at("qvu");
    if (!expected.is_array() || expected[0].get<int>() <= 0 || expected[1].get<int>() <= 0) {
      EXPECT_THROW(vlm::video_frame_size(h, w, n), vlm::Error) << h << "x" << w;
      continue;
    }
    const vlm::ResizeTarget t = vlm::video_frame_size(h, w, n);
    EXPECT_EQ(t.height, expected[0].get<int>()) << h << "x" << w << " n " << n;
    EXPECT_EQ(t.width, expected[1].get<int>()) << h << "x" << w << " n " << n;
    ++compared;
  }
  EXPECT_GE(compared, 100);
}

// The fixture script's frame formulas ("wrap": sharp edges, "smooth": clipped ramp).
vlm::ImageRgb8 formula_frame(int t, int w, int h, bool smooth = false) {
  vlm::ImageRgb8 im;
  im.width = w;
  im.height = h;
  im.pixels.resize(static_cast<size_t>(w) * h * 3);
  for (int y = 0; y < h; ++y)
    for (int x = 0; x < w; ++x)
      for (int c = 0; c < 3; ++c)
        im.pixels[(static_cast<size_t>(y) * w + x) * 3 + c] = static_cast<uint8_t>(
            smooth ? std::min(255, x + y + 2 * t + 20 * c)
                   : (x * 7 + y * 13 + t * 29 + c * 71 + (x * y % 17) * 5) % 256);
  return im;
}

TEST(VideoParity, MatchesReferenceProcessor) {
  const nlohmann::json fixture = vlm_test::load_fixture_json("videos.json");
  const int32_t video_token = fixture.at("video_token_id").get<int32_t>();
  const vlm::PreprocessorConfig cfg;
  int compared = 0;
  for (const auto& c : fixture.at("cases")) {
    const std::string name = c.at("name").get<std::string>();
    SCOPED_TRACE(name);
    const int64_t total = c.at("total_frames").get<int64_t>();
    const vlm::VideoSamplingOptions opt = options_from(c.at("options"));
    const vlm::VideoFramePlan plan = vlm::plan_video_frames(total, c.at("video_fps").get<double>(), opt);
    EXPECT_EQ(plan.frame_indices, c.at("frame_indices").get<std::vector<int64_t>>());
    EXPECT_EQ(plan.sample_fps, c.at("sample_fps").get<double>());
    const int w = c.at("width").get<int>(), h = c.at("height").get<int>();
    std::vector<vlm::ImageRgb8> frames;
    const bool smooth = c.at("frame_kind").get<std::string>() == "smooth";
    for (int64_t i : plan.frame_indices)
      frames.push_back(formula_frame(static_cast<int>(i), w, h, smooth));
    const vlm::ResizeTarget size = vlm::video_frame_size(h, w, static_cast<int64_t>(frames.size()), opt);
    EXPECT_EQ(size.height, c.at("resized_size")[0].get<int>());
    EXPECT_EQ(size.width, c.at("resized_size")[1].get<int>());

    const vlm::VisionInput out = vlm::preprocess_video(frames, plan.sample_fps, cfg, opt);
    EXPECT_EQ(out.grid.t, c.at("grid_thw")[0].get<int64_t>());
    EXPECT_EQ(out.grid.h, c.at("grid_thw")[1].get<int64_t>());
    EXPECT_EQ(out.grid.w, c.at("grid_thw")[2].get<int64_t>());
    EXPECT_EQ(out.second_per_grid_t, c.at("second_per_grid_ts")[0].get<float>());
    const auto& ids = c.at("input_ids");
    EXPECT_EQ(std::count(ids.begin(), ids.end(), video_token), out.grid.tokens());

    const vlm_test::DigestComparison d = vlm_test::compare_digest(out.pixel_values, c.at("pixel_values"));
    ASSERT_TRUE(d.count_matches);
    const bool resized = size.width != w || size.height != h;
    // One uint8 step after normalisation is 1 / (255 · std) ≈ 0.0146.
    const double lsb = 1.0 / (255.0 * 0.26130258);
    std::printf("[figure] video %s: resized %s, pixel_values sampled max |diff| %.3g (%.1f LSB), "
                "mean %.3g (%.3f LSB); reference Pillow-vs-torchvision u8 max %d mean %.3f\n",
                name.c_str(), resized ? "yes" : "no", d.max_sample_diff, d.max_sample_diff / lsb,
                d.mean_sample_diff, d.mean_sample_diff / lsb,
                c.at("pillow_vs_torchvision_max_abs_u8").get<int>(),
                c.at("pillow_vs_torchvision_mean_abs_u8").get<double>());
    if (!resized) {
      EXPECT_LE(d.max_sample_diff, 1e-6);
      EXPECT_LE(d.sum_diff, 1e-6);
      EXPECT_LE(d.weighted_sum_diff, 1e-6);
    } else {
      // torchvision's antialiased bicubic vs Pillow: bounded by the reference's own figure.
      const double ref_max_lsb = c.at("pillow_vs_torchvision_max_abs_u8").get<int>();
      EXPECT_LE(d.max_sample_diff, (ref_max_lsb + 0.5) * lsb * 1.2);
      EXPECT_LE(d.mean_sample_diff, 1.0 * lsb);
    }
    ++compared;
  }
  EXPECT_GE(compared, 5);
}

TEST(VideoParity, RejectsBadInput) {
  const vlm::PreprocessorConfig cfg;
  std::vector<vlm::ImageRgb8> none;
  EXPECT_THROW(vlm::preprocess_video(none, 2.0, cfg), vlm::Error);
  std::vector<vlm::ImageRgb8> mixed = {formula_frame(0, 56, 56), formula_frame(1, 28, 56)};
  EXPECT_THROW(vlm::preprocess_video(mixed, 2.0, cfg), vlm::Error);
  std::vector<vlm::ImageRgb8> ok = {formula_frame(0, 56, 56), formula_frame(1, 56, 56)};
  EXPECT_THROW(vlm::preprocess_video(ok, 0.0, cfg), vlm::Error);
  vlm::VideoSamplingOptions tiny;
  tiny.min_pixels = 784;
  tiny.max_pixels = 784;
  const vlm::VisionInput out = vlm::preprocess_video(ok, 2.0, cfg, tiny);
  // qvu budget 28x28; the processor (min_pixels 3136) resizes again to 56x56.
  EXPECT_EQ(out.grid.h, 4);
  EXPECT_EQ(out.grid.w, 4);
  EXPECT_EQ(out.second_per_grid_t, 1.0f);
}

}  // namespace
