// The video file as `vlm localize` reads it: a vlm::FrameSource over decode_video_sampled (each
// pass streams the file again; only sampled frames reach the search), plus the two facts the CLI
// wants before it starts: the duration (for progress and ETA) and an identity of the file for
// the resume checkpoint.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>

#include "vlm/localize.h"

namespace vlm_cli {

class VideoFileSource : public vlm::FrameSource {
 public:
  // expected_seconds > 0: the container's duration; a read that ends well before it (more than
  // one second or two samples) is reported as a truncated file, since demuxers often just stop.
  // probe_error non-empty: the file is known to be unreadable; read() reports it without decoding.
  // max_frame_pixels > 0: larger frames are scaled down (bicubic, aspect kept) as they arrive, so
  // the frames a window or refine clip holds stay small; the model never uses more per frame.
  VideoFileSource(std::filesystem::path path, double expected_seconds, std::string probe_error,
                  int64_t max_frame_pixels = 0)
      : path_(std::move(path)), expected_seconds_(expected_seconds),
        probe_error_(std::move(probe_error)), max_frame_pixels_(max_frame_pixels) {}
  void read(double fps, const std::function<bool(vlm::TimedFrame&&)>& on_frame) override;

 private:
  std::filesystem::path path_;
  double expected_seconds_;
  std::string probe_error_;
  int64_t max_frame_pixels_;
};

struct ProbeResult {
  double duration_seconds = -1;  // -1 when GStreamer cannot tell in a few seconds
  std::string error;             // non-empty when the file cannot be opened or typed at all
};
// Prerolls the file (no frames decoded beyond the first) to read its duration.
ProbeResult probe_video(const std::filesystem::path& path);
// Absolute path, size and modification time: a changed or different file gives another id.
std::string file_identity(const std::filesystem::path& path);

}  // namespace vlm_cli
