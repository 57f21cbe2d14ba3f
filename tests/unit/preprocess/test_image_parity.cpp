// Image parity with the reference pipeline (qwen-vl-utils 0.0.14 fetch_image + transformers
// 4.51.3 Qwen2VLImageProcessor, slow): images that need no resize, need one, are below
// min_pixels, above max_pixels, extremely elongated (accepted and rejected), RGBA, greyscale, and
// the case where the processor resizes again. Grid and token count must be identical, the
// qvu-resized uint8 image bit-identical, pixel_values within 1e-6 (sampled values and sums).
#include <gtest/gtest.h>

#include <algorithm>
#include <string>

#include "fixtures.h"
#include "vlm/error.h"
#include "vlm/image.h"
#include "vlm/preprocess.h"

namespace {

TEST(ImageParity, MatchesReferenceProcessor) {
  const nlohmann::json fixture = vlm_test::load_fixture_json("images.json");
  const int32_t image_token = fixture.at("image_token_id").get<int32_t>();
  int compared = 0;
  double worst_sample = 0, worst_sum = 0;
  for (const auto& c : fixture.at("cases")) {
    const std::string name = c.at("name").get<std::string>();
    SCOPED_TRACE(name);
    const vlm::ImageRgb8 image =
        vlm::load_image(vlm_test::preprocess_fixture(c.at("input").get<std::string>()));
    vlm::PreprocessorConfig cfg;  // the Qwen2.5-VL preprocessor_config.json values
    if (c.contains("preprocessor_config")) {
      cfg.min_pixels = c.at("preprocessor_config").value("min_pixels", cfg.min_pixels);
      cfg.max_pixels = c.at("preprocessor_config").value("max_pixels", cfg.max_pixels);
    }
    // qvu's fetch_image defaults are its own constants: 4 and 16384 merged tokens.
    const nlohmann::json& opts = c.at("fetch_image");
    const bool qvu_defaults = !opts.contains("min_pixels") && !opts.contains("max_pixels");
    const int64_t min_pixels = opts.value("min_pixels", int64_t{4 * 28 * 28});
    const int64_t max_pixels = opts.value("max_pixels", int64_t{16384 * 28 * 28});
    if (c.contains("error")) {
      try {
        vlm::preprocess_image(image, cfg, min_pixels, max_pixels);
        ADD_FAILURE() << "reference rejected it: " << c.at("error").get<std::string>();
      } catch (const vlm::Error& e) {
        EXPECT_EQ(e.code(), vlm::ErrorCode::InvalidInput);
        EXPECT_NE(e.message().find("aspect ratio"), std::string::npos) << e.message();
      }
      continue;
    }
    // qvu step alone: size and the uint8 image.
    const vlm::ResizeTarget t =
        vlm::smart_resize_qvu(image.height, image.width, 28, min_pixels, max_pixels);
    EXPECT_EQ(t.height, c.at("qvu_size")[0].get<int>());
    EXPECT_EQ(t.width, c.at("qvu_size")[1].get<int>());
    const vlm::ImageRgb8 expected_resized =
        vlm::load_image(vlm_test::preprocess_fixture(c.at("qvu_resized").get<std::string>()));
    const vlm::ImageRgb8 resized = vlm::resize_bicubic(image, t.width, t.height);
    EXPECT_EQ(resized.pixels, expected_resized.pixels) << "qvu resize differs";

    const vlm::VisionInput out = qvu_defaults
                                     ? vlm::preprocess_image(image, cfg)
                                     : vlm::preprocess_image(image, cfg, min_pixels, max_pixels);
    EXPECT_EQ(out.grid.t, c.at("grid_thw")[0].get<int64_t>());
    EXPECT_EQ(out.grid.h, c.at("grid_thw")[1].get<int64_t>());
    EXPECT_EQ(out.grid.w, c.at("grid_thw")[2].get<int64_t>());
    const auto& ids = c.at("input_ids");
    const auto pads = std::count(ids.begin(), ids.end(), image_token);
    EXPECT_EQ(pads, out.grid.tokens()) << "placeholder count != grid tokens";
    const vlm_test::DigestComparison d = vlm_test::compare_digest(out.pixel_values, c.at("pixel_values"));
    ASSERT_TRUE(d.count_matches);
    EXPECT_LE(d.max_sample_diff, 1e-6);
    EXPECT_LE(d.sum_diff, 1e-6);
    EXPECT_LE(d.weighted_sum_diff, 1e-6);
    worst_sample = std::max(worst_sample, d.max_sample_diff);
    worst_sum = std::max({worst_sum, d.sum_diff, d.weighted_sum_diff});
    ++compared;
  }
  EXPECT_GE(compared, 9);
  std::printf("[figure] image pixel_values vs HF: %d images, max sample |diff| %.3g, max sum diff %.3g\n",
              compared, worst_sample, worst_sum);
}

// The config's min_pixels acts in the processor step: a 28x28 image goes to 56x56 under the qvu
// constants, then the processor (min 12544) upsizes it again to 112x112 (hand-computed).
TEST(ImageParity, ConfigLimitsActInTheProcessorStep) {
  vlm::PreprocessorConfig cfg;
  cfg.min_pixels = 56 * 56 * 4;
  vlm::ImageRgb8 image;
  image.width = 28;
  image.height = 28;
  image.pixels.assign(28 * 28 * 3, 77);
  const vlm::VisionInput out = vlm::preprocess_image(image, cfg);
  EXPECT_EQ(out.grid.h, 8);
  EXPECT_EQ(out.grid.w, 8);
}

TEST(ImageParity, BadImagesAreRejectedWithAReason) {
  const vlm::PreprocessorConfig cfg;
  vlm::ImageRgb8 empty;
  try {
    vlm::preprocess_image(empty, cfg);
    FAIL() << "empty image accepted";
  } catch (const vlm::Error& e) {
    EXPECT_NE(e.message().find("empty"), std::string::npos) << e.message();
  }
  vlm::ImageRgb8 thin;
  thin.width = 300;
  thin.height = 1;
  thin.pixels.assign(300 * 3, 0);
  try {
    vlm::preprocess_image(thin, cfg);
    FAIL() << "aspect 300 accepted";
  } catch (const vlm::Error& e) {
    EXPECT_NE(e.message().find("aspect ratio"), std::string::npos) << e.message();
  }
  // Limits so small that the qvu rule produces an empty side (reference: floor to 0).
  vlm::ImageRgb8 wide;
  wide.width = 190;
  wide.height = 1;
  wide.pixels.assign(190 * 3, 0);
  try {
    vlm::preprocess_image(wide, cfg, 28, 784);
    FAIL() << "empty resize accepted";
  } catch (const vlm::Error& e) {
    EXPECT_NE(e.message().find("resizes to an empty"), std::string::npos) << e.message();
  }
  vlm::PreprocessorConfig bilinear;
  bilinear.resample = 2;
  vlm::ImageRgb8 ok;
  ok.width = ok.height = 28;
  ok.pixels.assign(28 * 28 * 3, 1);
  EXPECT_THROW(vlm::preprocess_image(ok, bilinear), vlm::Error);
}

}  // namespace
