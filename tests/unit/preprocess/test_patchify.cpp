// Patch rows (spec §3.5) and normalisation (§3.4) checked against an independent naive
// implementation written from the spec's index formulas, on small deterministic frames.
#include <gtest/gtest.h>

#include <cstdint>
#include <vector>

#include "vlm/error.h"
#include "vlm/preprocess.h"

namespace {

vlm::ImageRgb8 pattern_frame(int w, int h, int seed) {
  vlm::ImageRgb8 im;
  im.width = w;
  im.height = h;
  im.pixels.resize(static_cast<size_t>(w) * h * 3);
  uint32_t state = 2654435761u * (seed + 1);
  for (auto& p : im.pixels) {
    state = state * 1664525u + 1013904223u;
    p = static_cast<uint8_t>(state >> 24);
  }
  return im;
}

// Spec §3.4 written out: x = (float(p * (1/255)) - mean) / std in float32.
float normalise(uint8_t p, int c, const vlm::PreprocessorConfig& cfg) {
  const float x = static_cast<float>(p * (1.0 / 255.0));
  return (x - cfg.image_mean[c]) / cfg.image_std[c];
}

// Spec §3.5: P[r][j] = F[2gt+dt][c][(2bh+mh)14+py][(2bw+mw)14+px].
std::vector<float> naive_patchify(const std::vector<vlm::ImageRgb8>& frames_in,
                                  const vlm::PreprocessorConfig& cfg) {
  std::vector<vlm::ImageRgb8> frames = frames_in;
  while (frames.size() % 2 != 0) frames.push_back(frames.back());
  const int H = frames[0].height, W = frames[0].width;
  const int gt_n = static_cast<int>(frames.size()) / 2, gh = H / 14, gw = W / 14;
  std::vector<float> out(static_cast<size_t>(gt_n) * gh * gw * 1176);
  for (int gt = 0; gt < gt_n; ++gt)
    for (int bh = 0; bh < gh / 2; ++bh)
      for (int bw = 0; bw < gw / 2; ++bw)
        for (int mh = 0; mh < 2; ++mh)
          for (int mw = 0; mw < 2; ++mw) {
            const int r = (((gt * (gh / 2) + bh) * (gw / 2) + bw) * 2 + mh) * 2 + mw;
            for (int c = 0; c < 3; ++c)
              for (int dt = 0; dt < 2; ++dt)
                for (int py = 0; py < 14; ++py)
                  for (int px = 0; px < 14; ++px) {
                    const int j = ((c * 2 + dt) * 14 + py) * 14 + px;
                    const int y = (2 * bh + mh) * 14 + py, x = (2 * bw + mw) * 14 + px;
                    const uint8_t p = frames[2 * gt + dt].row(y)[x * 3 + c];
                    out[static_cast<size_t>(r) * 1176 + j] = normalise(p, c, cfg);
                  }
          }
  return out;
}

TEST(Patchify, MatchesTheSpecIndexFormula) {
  const vlm::PreprocessorConfig cfg;
  const std::vector<vlm::ImageRgb8> frames = {pattern_frame(84, 56, 1), pattern_frame(84, 56, 2),
                                              pattern_frame(84, 56, 3), pattern_frame(84, 56, 4)};
  const vlm::VisionInput out = vlm::patchify(frames, cfg);
  EXPECT_EQ(out.grid.t, 2);
  EXPECT_EQ(out.grid.h, 4);
  EXPECT_EQ(out.grid.w, 6);
  EXPECT_EQ(out.grid.tokens(), 12);
  EXPECT_EQ(out.second_per_grid_t, 0.0f);
  const std::vector<float> expected = naive_patchify(frames, cfg);
  ASSERT_EQ(out.pixel_values.size(), expected.size());
  for (size_t i = 0; i < expected.size(); ++i) {
    ASSERT_EQ(out.pixel_values[i], expected[i]) << "index " << i;  // tolerance 0: same formula
  }
}

TEST(Patchify, OddFrameCountRepeatsTheLastFrame) {
  const vlm::PreprocessorConfig cfg;
  const std::vector<vlm::ImageRgb8> frames = {pattern_frame(28, 56, 7), pattern_frame(28, 56, 8),
                                              pattern_frame(28, 56, 9)};
  const vlm::VisionInput out = vlm::patchify(frames, cfg);
  EXPECT_EQ(out.grid.t, 2);
  EXPECT_EQ(out.pixel_values, naive_patchify(frames, cfg));
  // In the last temporal group, the dt = 1 half of each channel block equals the dt = 0 half.
  const size_t first_row = static_cast<size_t>(out.grid.h * out.grid.w);
  for (size_t r = first_row; r < static_cast<size_t>(out.grid.patches()); ++r)
    for (int c = 0; c < 3; ++c)
      for (int k = 0; k < 196; ++k)
        ASSERT_EQ(out.pixel_values[r * 1176 + (c * 2 + 0) * 196 + k],
                  out.pixel_values[r * 1176 + (c * 2 + 1) * 196 + k]);
}

TEST(Patchify, SingleImageBecomesTwoIdenticalFrames) {
  const vlm::PreprocessorConfig cfg;
  const vlm::ImageRgb8 im = pattern_frame(56, 28, 5);
  const vlm::VisionInput out = vlm::patchify(std::span<const vlm::ImageRgb8>(&im, 1), cfg);
  EXPECT_EQ(out.grid.t, 1);
  EXPECT_EQ(out.grid.h, 2);
  EXPECT_EQ(out.grid.w, 4);
  EXPECT_EQ(out.pixel_values, naive_patchify({im}, cfg));
}

// Values computed by hand from the CLIP mean/std: p = 0 -> -mean/std, p = 255 -> (1-mean)/std.
TEST(Patchify, NormalisationEndpoints) {
  const vlm::PreprocessorConfig cfg;
  vlm::ImageRgb8 im;
  im.width = 28;
  im.height = 28;
  im.pixels.assign(28 * 28 * 3, 0);
  for (int i = 0; i < 28 * 28; ++i) im.pixels[i * 3 + 1] = 255;
  const vlm::VisionInput out = vlm::patchify(std::span<const vlm::ImageRgb8>(&im, 1), cfg);
  EXPECT_NEAR(out.pixel_values[0], -0.48145466 / 0.26862954, 1e-6);          // R = 0
  EXPECT_NEAR(out.pixel_values[2 * 196], (1 - 0.4578275) / 0.26130258, 1e-6);  // G = 255
}

TEST(Patchify, RejectsBadFrames) {
  const vlm::PreprocessorConfig cfg;
  EXPECT_THROW(vlm::patchify({}, cfg), vlm::Error);
  const std::vector<vlm::ImageRgb8> not_multiple = {pattern_frame(30, 28, 1)};
  try {
    vlm::patchify(not_multiple, cfg);
    FAIL() << "30x28 accepted";
  } catch (const vlm::Error& e) {
    EXPECT_NE(e.message().find("multiple of 28"), std::string::npos) << e.message();
  }
  const std::vector<vlm::ImageRgb8> mixed = {pattern_frame(28, 28, 1), pattern_frame(56, 28, 2)};
  EXPECT_THROW(vlm::patchify(mixed, cfg), vlm::Error);
  std::vector<vlm::ImageRgb8> short_buffer = {pattern_frame(28, 28, 1)};
  short_buffer[0].pixels.pop_back();
  EXPECT_THROW(vlm::patchify(short_buffer, cfg), vlm::Error);
}

}  // namespace
