// get_rope_index (spec §7.2–7.3) and its timestamped variant. Both share one walk over the prompt
// that mirrors HF 4.51's loop (next image/video pad found from the current start, text runs
// continuing from max+1); they differ only in how a video's temporal group becomes a time id.
#include "vlm/rope_index.h"

#include <algorithm>
#include <cmath>
#include <functional>

#include "vlm/error.h"

namespace vlm {

RopeIndexOptions RopeIndexOptions::from_config(const ModelConfig& config, bool integer_temporal_ids) {
  RopeIndexOptions options;
  options.image_token_id = config.image_token_id;
  options.video_token_id = config.video_token_id;
  options.vision_start_token_id = config.vision_start_token_id;
  options.spatial_merge_size = config.vision.spatial_merge_size;
  options.tokens_per_second = config.vision.tokens_per_second;
  options.time_scaled = config.family == ModelFamily::Qwen2_5VL;
  options.integer_temporal_ids = integer_temporal_ids;
  return options;
}

namespace {

// Time id of temporal group `a` of video `video` (images always get 0 since their t is 1).
using TemporalId = std::function<int64_t(size_t video, int64_t a)>;

int64_t float_rule(int64_t a, float seconds_per_grid, float tokens_per_second) {
  const float scaled = static_cast<float>(a) * seconds_per_grid;  // one float32 rounding
  return static_cast<int64_t>(std::trunc(scaled * tokens_per_second));
}

int64_t integer_rule(int64_t a, float seconds_per_grid, float tokens_per_second) {
  const int64_t whole = static_cast<int64_t>(std::trunc(seconds_per_grid));
  return static_cast<int64_t>(std::trunc(static_cast<float>(a * whole) * tokens_per_second));
}

size_t find_from(std::span<const int32_t> ids, size_t start, int32_t token) {
  for (size_t i = start; i < ids.size(); ++i) {
    if (ids[i] == token) return i;
  }
  return ids.size() + 1;
}

RopeIndex walk(std::span<const int32_t> ids, std::span<const GridThw> image_grids,
               std::span<const GridThw> video_grids, const RopeIndexOptions& options,
               const TemporalId& temporal_id) {
  RopeIndex out;
  out.t.reserve(ids.size());
  out.h.reserve(ids.size());
  out.w.reserve(ids.size());
  int64_t max_pos = -1;
  auto push = [&](int64_t t, int64_t h, int64_t w) {
    out.t.push_back(t);
    out.h.push_back(h);
    out.w.push_back(w);
    max_pos = std::max({max_pos, t, h, w});
  };
  auto push_text = [&](size_t count) {
    const int64_t base = max_pos + 1;
    for (size_t k = 0; k < count; ++k) {
      const int64_t p = base + static_cast<int64_t>(k);
      push(p, p, p);
    }
  };

  size_t n_images = 0, n_videos = 0;
  for (size_t i = 0; i + 1 < ids.size(); ++i) {
    if (ids[i] != options.vision_start_token_id) continue;
    if (ids[i + 1] == options.image_token_id) ++n_images;
    if (ids[i + 1] == options.video_token_id) ++n_videos;
  }
  VLM_CHECK(n_images <= image_grids.size(), InvalidInput,
            "get_rope_index: the prompt has " << n_images << " image blocks but only "
                                              << image_grids.size() << " image grids were given");
  VLM_CHECK(n_videos <= video_grids.size(), InvalidInput,
            "get_rope_index: the prompt has " << n_videos << " video blocks but only "
                                              << video_grids.size() << " video grids were given");

  const int64_t merge = options.spatial_merge_size;
  size_t st = 0, image_index = 0, video_index = 0;
  size_t remain_images = n_images, remain_videos = n_videos;
  for (size_t block = 0; block < n_images + n_videos; ++block) {
    const size_t ed_image =
        remain_images > 0 ? find_from(ids, st, options.image_token_id) : ids.size() + 1;
    const size_t ed_video =
        remain_videos > 0 ? find_from(ids, st, options.video_token_id) : ids.size() + 1;
    GridThw grid;
    bool is_video = false;
    size_t video = 0;
    size_t ed = 0;
    if (ed_image < ed_video) {
      grid = image_grids[image_index++];
      --remain_images;
      ed = ed_image;
    } else {
      VLM_CHECK(ed_video <= ids.size(), InvalidInput,
                "get_rope_index: no vision pad token after position " << st);
      video = video_index;
      grid = video_grids[video_index++];
      --remain_videos;
      is_video = true;
      ed = ed_video;
    }
    VLM_CHECK(grid.t > 0 && grid.h > 0 && grid.w > 0 && grid.h % merge == 0 && grid.w % merge == 0,
              InvalidInput,
              "get_rope_index: grid (" << grid.t << ", " << grid.h << ", " << grid.w
                                       << ") is empty or not divisible by the merge size " << merge);
    const int64_t lt = grid.t, lh = grid.h / merge, lw = grid.w / merge;
    push_text(ed - st);
    const int64_t block_base = max_pos + 1;  // == text base + text length, as in HF
    for (int64_t a = 0; a < lt; ++a) {
      const int64_t tid = is_video ? temporal_id(video, a) : 0;
      for (int64_t b = 0; b < lh; ++b) {
        for (int64_t c = 0; c < lw; ++c) push(block_base + tid, block_base + b, block_base + c);
      }
    }
    st = ed + static_cast<size_t>(lt * lh * lw);
    VLM_CHECK(st <= ids.size(), InvalidInput,
              "get_rope_index: vision block of " << lt * lh * lw << " tokens starting at " << ed
                                                 << " runs past the prompt end " << ids.size());
  }
  if (st < ids.size()) push_text(ids.size() - st);
  out.rope_delta = max_pos + 1 - static_cast<int64_t>(ids.size());
  return out;
}

}  // namespace

RopeIndex get_rope_index(std::span<const int32_t> ids, std::span<const GridThw> image_grids,
                         std::span<const GridThw> video_grids,
                         std::span<const float> second_per_grid_ts, const RopeIndexOptions& options) {
  return get_rope_index_timed(ids, image_grids, video_grids, second_per_grid_ts, {}, options);
}

RopeIndex get_rope_index_timed(std::span<const int32_t> ids, std::span<const GridThw> image_grids,
                               std::span<const GridThw> video_grids,
                               std::span<const float> second_per_grid_ts,
                               std::span<const std::vector<double>> patch_start_seconds,
                               const RopeIndexOptions& options) {
  VLM_CHECK(patch_start_seconds.empty() || patch_start_seconds.size() == video_grids.size(),
            InvalidInput,
            "get_rope_index_timed: " << patch_start_seconds.size() << " timestamp lists for "
                                     << video_grids.size() << " videos");
  for (size_t v = 0; v < patch_start_seconds.size(); ++v) {
    const auto& starts = patch_start_seconds[v];
    if (starts.empty()) continue;
    VLM_CHECK(static_cast<int64_t>(starts.size()) == video_grids[v].t, InvalidInput,
              "get_rope_index_timed: video " << v << " has " << starts.size()
                                             << " patch start times but grid t = " << video_grids[v].t);
    for (size_t a = 0; a < starts.size(); ++a) {
      VLM_CHECK(std::isfinite(starts[a]) && starts[a] >= 0.0 && (a == 0 || starts[a] >= starts[a - 1]),
                InvalidInput,
                "get_rope_index_timed: video " << v << " patch " << a << " start " << starts[a]
                                               << " s is negative, not finite or decreasing");
    }
  }
  const TemporalId temporal_id = [&](size_t video, int64_t a) -> int64_t {
    if (!options.time_scaled) return a;
    if (video < patch_start_seconds.size() && !patch_start_seconds[video].empty()) {
      const float start = static_cast<float>(patch_start_seconds[video][static_cast<size_t>(a)]);
      return static_cast<int64_t>(std::trunc(start * options.tokens_per_second));
    }
    const float s = video < second_per_grid_ts.size() ? second_per_grid_ts[video] : 1.0f;
    return options.integer_temporal_ids ? integer_rule(a, s, options.tokens_per_second)
                                        : float_rule(a, s, options.tokens_per_second);
  };
  return walk(ids, image_grids, video_grids, options, temporal_id);
}

}  // namespace vlm
