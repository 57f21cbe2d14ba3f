// Rescale + normalise (spec §3.4, the transformers 4.51.3 slow Qwen2VLImageProcessor: p·(1/255)
// in double cast to float32, then (x − mean_f32) / std_f32 in float32 — a 256-entry table per
// channel gives identical values) and the merge-window patch order (spec §3.5). preprocess_image
// chains qwen-vl-utils fetch_image (its smart_resize + Pillow bicubic) with the HF processor,
// whose own smart_resize is normally a no-op but upsizes when qvu's limits left the image below
// the processor's min_pixels (then it resizes again with Pillow bicubic, as the slow processor).
#include <algorithm>
#include <array>
#include <cstddef>
#include <vector>

#include "preprocess/patch_tables.h"
#include "preprocess/smart_resize.h"
#include "vlm/error.h"
#include "vlm/preprocess.h"

namespace vlm {

namespace detail {

ChannelTables normalisation_tables(const PreprocessorConfig& config) {
  ChannelTables tables{};
  for (int c = 0; c < 3; ++c) {
    VLM_CHECK(config.image_std[c] != 0.0f, InvalidModel,
              "preprocessor_config: image_std[" << c << "] is zero");
    for (int p = 0; p < 256; ++p) {
      const float rescaled = static_cast<float>(static_cast<double>(p) * config.rescale_factor);
      tables[c][p] = (rescaled - config.image_mean[c]) / config.image_std[c];
    }
  }
  return tables;
}

}  // namespace detail

namespace {

void check_frames(std::span<const ImageRgb8> frames, const PreprocessorConfig& config) {
  VLM_CHECK(!frames.empty(), InvalidInput, "patchify: no frames");
  const int factor = config.factor();
  VLM_CHECK(config.patch_size > 0 && config.merge_size > 0 && config.temporal_patch_size > 0,
            InvalidModel,
            "preprocessor_config: patch_size, merge_size and temporal_patch_size must be positive");
  const ImageRgb8& first = frames.front();
  VLM_CHECK(first.width > 0 && first.height > 0 && first.width % factor == 0 &&
                first.height % factor == 0,
            InvalidInput,
            "patchify: frame size " << first.width << "x" << first.height
                                    << " is not a positive multiple of " << factor);
  for (size_t i = 0; i < frames.size(); ++i) {
    const ImageRgb8& f = frames[i];
    VLM_CHECK(f.width == first.width && f.height == first.height, InvalidInput,
              "patchify: frame " << i << " is " << f.width << "x" << f.height << ", frame 0 is "
                                 << first.width << "x" << first.height);
    VLM_CHECK(f.pixels.size() == static_cast<size_t>(f.width) * f.height * 3, InvalidInput,
              "patchify: frame " << i << " holds " << f.pixels.size() << " bytes, not w*h*3");
  }
}

}  // namespace

VisionInput patchify(std::span<const ImageRgb8> frames, const PreprocessorConfig& config) {
  check_frames(frames, config);
  const int ps = config.patch_size, ms = config.merge_size, tps = config.temporal_patch_size;
  const int width = frames.front().width, height = frames.front().height;
  const int64_t frames_padded = (static_cast<int64_t>(frames.size()) + tps - 1) / tps * tps;
  VisionInput out;
  out.grid = GridThw{frames_padded / tps, height / ps, width / ps};
  const int64_t row_size = 3LL * tps * ps * ps;
  out.pixel_values.resize(static_cast<size_t>(out.grid.patches() * row_size));
  const detail::ChannelTables tables = detail::normalisation_tables(config);
  const int64_t bh_n = out.grid.h / ms, bw_n = out.grid.w / ms;

  float* dst = out.pixel_values.data();
  for (int64_t gt = 0; gt < out.grid.t; ++gt) {
    for (int64_t bh = 0; bh < bh_n; ++bh) {
      for (int64_t bw = 0; bw < bw_n; ++bw) {
        for (int mh = 0; mh < ms; ++mh) {
          for (int mw = 0; mw < ms; ++mw) {
            const int64_t y0 = (bh * ms + mh) * ps, x0 = (bw * ms + mw) * ps;
            for (int c = 0; c < 3; ++c) {
              for (int dt = 0; dt < tps; ++dt) {
                // Temporal padding repeats the last frame.
                const size_t k = static_cast<size_t>(
                    std::min<int64_t>(gt * tps + dt, static_cast<int64_t>(frames.size()) - 1));
                const ImageRgb8& frame = frames[k];
                for (int py = 0; py < ps; ++py) {
                  const uint8_t* src = frame.row(static_cast<int>(y0 + py)) + x0 * 3 + c;
                  for (int px = 0; px < ps; ++px) *dst++ = tables[c][src[px * 3]];
                }
              }
            }
          }
        }
      }
    }
  }
  return out;
}

namespace detail {

// The HF processor's own resize step on an image that is already at the qvu size.
ImageRgb8 processor_resize(ImageRgb8 image, const PreprocessorConfig& config) {
  const ResizeTarget t = smart_resize(image.height, image.width, config.factor(),
                                      config.min_pixels, config.max_pixels);
  if (t.width == image.width && t.height == image.height) return image;
  return resize_bicubic(image, t.width, t.height);
}

}  // namespace detail

VisionInput preprocess_image(const ImageRgb8& image, const PreprocessorConfig& config,
                             int64_t min_pixels, int64_t max_pixels) {
  VLM_CHECK(config.resample == 3, Unsupported,
            "preprocessor_config: resample " << config.resample << " is not bicubic (3)");
  VLM_CHECK(image.width > 0 && image.height > 0, InvalidInput,
            "preprocess_image: image " << image.width << "x" << image.height << " is empty");
  const ResizeTarget t =
      smart_resize_qvu(image.height, image.width, config.factor(), min_pixels, max_pixels);
  ImageRgb8 resized = detail::processor_resize(resize_bicubic(image, t.width, t.height), config);
  return patchify(std::span<const ImageRgb8>(&resized, 1), config);
}

// qvu's fetch_image uses its own constants (IMAGE_MIN_TOKEN_NUM = 4 and IMAGE_MAX_TOKEN_NUM =
// 16384 merged tokens), not preprocessor_config.json; the config's limits act in the processor
// step, which resizes a second time when they are tighter.
VisionInput preprocess_image(const ImageRgb8& image, const PreprocessorConfig& config) {
  const int64_t factor = config.factor();
  return preprocess_image(image, config, 4 * factor * factor, 16384 * factor * factor);
}

}  // namespace vlm
