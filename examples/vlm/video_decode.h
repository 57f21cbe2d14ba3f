// Decodes a video file with GStreamer (uridecodebin → videoconvert → RGB appsink) and keeps the
// frames that a vlm::FrameSampler picks by their real timestamps, one at a time, so a long file is
// never held in memory. Shared by `vlm describe --video` and other tools that read files.
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <string>

#include "vlm/image.h"

namespace vlm_cli {

struct SampledFrame {
  vlm::ImageRgb8 image;
  int64_t pts_ns = 0;  // stream time of the frame
};

struct DecodeSummary {
  int64_t frames_decoded = 0;
  int64_t frames_kept = 0;
  int64_t duration_ns = -1;  // -1 when unknown
};

// Calls on_frame for every kept frame, in order; on_frame returns false to stop early.
// Throws vlm::Error(Io/InvalidInput) naming the file when it cannot be decoded; frames delivered
// before a decoding error stay delivered.
DecodeSummary decode_video_sampled(const std::filesystem::path& path, double sample_fps,
                                   const std::function<bool(SampledFrame&&)>& on_frame);

}  // namespace vlm_cli
