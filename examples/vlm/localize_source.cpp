// Video file source and file facts for `vlm localize` (see localize_source.h). The duration probe
// prerolls a decode-less pipeline (uridecodebin to fakesink) and asks the pipeline for its length;
// it never fails the run — an unknown duration only costs the progress bar its ETA.
#include "localize_source.h"

#include <gst/gst.h>

#include <algorithm>
#include <cmath>
#include <memory>

#include "video_decode.h"
#include "vlm/error.h"
#include "vlm/preprocess.h"

namespace vlm_cli {

void VideoFileSource::read(double fps, const std::function<bool(vlm::TimedFrame&&)>& on_frame) {
  VLM_CHECK(probe_error_.empty(), InvalidInput, "cannot decode " << path_.string() << ": " << probe_error_);
  bool stopped = false;
  double last_seconds = -1;
  decode_video_sampled(path_, fps, [&](SampledFrame&& frame) {
    vlm::TimedFrame timed;
    timed.seconds = static_cast<double>(frame.pts_ns) / 1e9;
    last_seconds = timed.seconds;
    const int64_t pixels = static_cast<int64_t>(frame.image.width) * frame.image.height;
    if (max_frame_pixels_ > 0 && pixels > max_frame_pixels_) {
      double scale = std::sqrt(static_cast<double>(max_frame_pixels_) / static_cast<double>(pixels));
      int width = std::max(1, static_cast<int>(frame.image.width * scale));
      int height = std::max(1, static_cast<int>(frame.image.height * scale));
      frame.image = vlm::resize_bicubic(frame.image, width, height);
    }
    timed.pixels = std::make_shared<const vlm::RawFrame>(std::move(frame.image));
    stopped = !on_frame(std::move(timed));
    return !stopped;
  });
  const double slack = std::max(1.0, 2.0 / fps);
  if (!stopped && expected_seconds_ > 0 && last_seconds + slack < expected_seconds_) {
    VLM_THROW(Io, "the stream of " << path_.string() << " ends at " << last_seconds
                                   << " s but the container says " << expected_seconds_
                                   << " s: the file is truncated or damaged");
  }
}

namespace {

std::string first_bus_error(GstElement* pipeline) {
  GstBus* bus = gst_element_get_bus(pipeline);
  std::string text;
  while (GstMessage* message = gst_bus_pop_filtered(bus, GST_MESSAGE_ERROR)) {
    GError* error = nullptr;
    gst_message_parse_error(message, &error, nullptr);
    if (text.empty() && error != nullptr) text = error->message;
    g_clear_error(&error);
    gst_message_unref(message);
  }
  gst_object_unref(bus);
  return text;
}

}  // namespace

ProbeResult probe_video(const std::filesystem::path& path) {
  ProbeResult probe;
  std::error_code exists_ec;
  if (!std::filesystem::is_regular_file(path, exists_ec)) {
    probe.error = "no such file";
    return probe;
  }
  gst_init(nullptr, nullptr);
  std::error_code ec;
  std::filesystem::path absolute = std::filesystem::absolute(path, ec);
  gchar* uri = gst_filename_to_uri(absolute.c_str(), nullptr);
  if (uri == nullptr) return probe;
  std::string description = std::string("uridecodebin uri=\"") + uri + "\" ! fakesink sync=false";
  g_free(uri);
  GError* error = nullptr;
  GstElement* pipeline = gst_parse_launch(description.c_str(), &error);
  if (error != nullptr) {
    g_clear_error(&error);
    if (pipeline != nullptr) gst_object_unref(pipeline);
    return probe;
  }
  GstStateChangeReturn change = gst_element_set_state(pipeline, GST_STATE_PAUSED);
  if (change != GST_STATE_CHANGE_FAILURE) {
    change = gst_element_get_state(pipeline, nullptr, nullptr, 10 * GST_SECOND);
  }
  if (change == GST_STATE_CHANGE_SUCCESS) {
    gint64 duration = -1;
    if (gst_element_query_duration(pipeline, GST_FORMAT_TIME, &duration) && duration > 0) {
      probe.duration_seconds = static_cast<double>(duration) / 1e9;
    }
  } else if (change == GST_STATE_CHANGE_FAILURE) {
    probe.error = first_bus_error(pipeline);
    if (probe.error.empty()) probe.error = "the file cannot be prerolled";
  }
  gst_element_set_state(pipeline, GST_STATE_NULL);
  gst_object_unref(pipeline);
  return probe;
}

std::string file_identity(const std::filesystem::path& path) {
  std::error_code ec;
  std::filesystem::path absolute = std::filesystem::absolute(path, ec);
  auto size = std::filesystem::file_size(path, ec);
  auto mtime = std::filesystem::last_write_time(path, ec);
  return absolute.string() + "|" + std::to_string(ec ? 0 : size) + "|" +
         std::to_string(mtime.time_since_epoch().count());
}

}  // namespace vlm_cli
