// MRoPE position ids for a prompt (spec §7.2–7.4): HF's get_rope_index for Qwen2.5-VL (and the
// Qwen2-VL rule), with the float temporal rule of HF 4.49–4.51 as default and a switch for the
// integer rule of later versions (§7.3). A second entry point takes the real start time of each
// temporal patch of each video, so a streaming caller with uneven frame spacing gets temporal ids
// from actual timestamps; with even spacing it reproduces the reference exactly.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "vlm/config.h"
#include "vlm/preprocess.h"

namespace vlm {

struct RopeIndexOptions {
  int32_t image_token_id = 151655;
  int32_t video_token_id = 151656;
  int32_t vision_start_token_id = 151652;
  int spatial_merge_size = 2;
  float tokens_per_second = 2.0f;
  // Qwen2-VL: the temporal id of group a is a itself (no time scaling).
  bool time_scaled = true;
  // HF ≥ 4.52 rule: a·trunc(s)·tps instead of trunc(a·s·tps) (spec §7.3).
  bool integer_temporal_ids = false;

  static RopeIndexOptions from_config(const ModelConfig& config, bool integer_temporal_ids = false);
};

// Positions on the three axes (T, H, W), one entry per prompt token, and the decoding offset.
struct RopeIndex {
  std::vector<int64_t> t, h, w;
  int64_t rope_delta = 0;  // max(position) + 1 − len(ids)
  size_t size() const { return t.size(); }
};

// The reference algorithm. second_per_grid_ts: one per video (missing entries count as 1.0, as HF
// does when the list is absent). Throws InvalidInput when the ids and grids disagree (a vision
// block running past the end, more blocks than grids).
RopeIndex get_rope_index(std::span<const int32_t> ids, std::span<const GridThw> image_grids,
                         std::span<const GridThw> video_grids,
                         std::span<const float> second_per_grid_ts, const RopeIndexOptions& options);

// Same, with each video's temporal ids taken from real timestamps: patch_start_seconds[v][a] is the
// start of temporal patch a of video v in seconds from that clip's start (non-negative,
// non-decreasing, grid.t entries). An empty list for a video falls back to even spacing from its
// second_per_grid_ts entry. The id of patch a is trunc(float32(float32(start_a) · tps)), which equals
// the reference's trunc(float32(a · float32(s)) · tps) when start_a = a · s with s a float32.
// The integer rule does not apply to timestamped videos.
RopeIndex get_rope_index_timed(std::span<const int32_t> ids, std::span<const GridThw> image_grids,
                               std::span<const GridThw> video_grids,
                               std::span<const float> second_per_grid_ts,
                               std::span<const std::vector<double>> patch_start_seconds,
                               const RopeIndexOptions& options);

// Positions of decoding steps: the token at absolute sequence index c sits at c + rope_delta on
// all three axes (spec §7.4).
inline int64_t decode_position(int64_t sequence_index, int64_t rope_delta) {
  return sequence_index + rope_delta;
}

}  // namespace vlm
