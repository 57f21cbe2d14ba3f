// GStreamer-backed sampled video decoding for the CLI (see video_decode.h). Pull mode through
// appsink keeps back-pressure simple: the pipeline only decodes as fast as we consume.
#include "video_decode.h"

#include <gst/app/gstappsink.h>
#include <gst/gst.h>
#include <gst/video/video.h>

#include <cstring>
#include <memory>

#include "vlm/error.h"
#include "vlm/frame_sampler.h"

namespace vlm_cli {
namespace {

struct PipelineDeleter {
  void operator()(GstElement* pipeline) const {
    gst_element_set_state(pipeline, GST_STATE_NULL);
    gst_object_unref(pipeline);
  }
};

std::string bus_error_text(GstElement* pipeline) {
  GstBus* bus = gst_element_get_bus(pipeline);
  std::string text;
  while (GstMessage* message = gst_bus_pop_filtered(bus, GST_MESSAGE_ERROR)) {
    GError* error = nullptr;
    gchar* debug = nullptr;
    gst_message_parse_error(message, &error, &debug);
    if (text.empty() && error != nullptr) text = error->message;
    g_clear_error(&error);
    g_free(debug);
    gst_message_unref(message);
  }
  gst_object_unref(bus);
  return text;
}

vlm::ImageRgb8 copy_rgb(GstSample* sample) {
  GstCaps* caps = gst_sample_get_caps(sample);
  GstVideoInfo info;
  if (caps == nullptr || !gst_video_info_from_caps(&info, caps)) {
    VLM_THROW(InvalidInput, "decoder produced frames without usable video caps");
  }
  GstBuffer* buffer = gst_sample_get_buffer(sample);
  GstVideoFrame frame;
  if (!gst_video_frame_map(&frame, &info, buffer, GST_MAP_READ)) {
    VLM_THROW(Io, "cannot map a decoded video frame");
  }
  vlm::ImageRgb8 image;
  image.width = GST_VIDEO_FRAME_WIDTH(&frame);
  image.height = GST_VIDEO_FRAME_HEIGHT(&frame);
  image.pixels.resize(static_cast<size_t>(image.width) * image.height * 3);
  const auto* src = static_cast<const uint8_t*>(GST_VIDEO_FRAME_PLANE_DATA(&frame, 0));
  int stride = GST_VIDEO_FRAME_PLANE_STRIDE(&frame, 0);
  for (int y = 0; y < image.height; ++y) {
    std::memcpy(image.pixels.data() + static_cast<size_t>(y) * image.width * 3,
                src + static_cast<size_t>(y) * stride, static_cast<size_t>(image.width) * 3);
  }
  gst_video_frame_unmap(&frame);
  return image;
}

}  // namespace

DecodeSummary decode_video_sampled(const std::filesystem::path& path, double sample_fps,
                                   const std::function<bool(SampledFrame&&)>& on_frame) {
  VLM_CHECK(sample_fps > 0, InvalidInput, "sample fps must be positive, got " << sample_fps);
  std::error_code ec;
  VLM_CHECK(std::filesystem::is_regular_file(path, ec), NotFound,
            "video file not found: " << path.string());
  gst_init(nullptr, nullptr);

  std::filesystem::path absolute = std::filesystem::absolute(path);
  gchar* uri = gst_filename_to_uri(absolute.c_str(), nullptr);
  std::string description = std::string("uridecodebin uri=\"") + uri +
                            "\" ! videoconvert ! video/x-raw,format=RGB ! "
                            "appsink name=sink sync=false max-buffers=4";
  g_free(uri);
  GError* parse_error = nullptr;
  std::unique_ptr<GstElement, PipelineDeleter> pipeline(
      gst_parse_launch(description.c_str(), &parse_error));
  if (parse_error != nullptr) {
    std::string message = parse_error->message;
    g_clear_error(&parse_error);
    VLM_THROW(Unsupported, "cannot build a decoding pipeline for " << path.string() << ": " << message);
  }
  GstElement* sink = gst_bin_get_by_name(GST_BIN(pipeline.get()), "sink");
  std::unique_ptr<GstElement, decltype(&gst_object_unref)> sink_ref(sink, gst_object_unref);

  if (gst_element_set_state(pipeline.get(), GST_STATE_PLAYING) == GST_STATE_CHANGE_FAILURE) {
    VLM_THROW(Io, "cannot start decoding " << path.string() << ": " << bus_error_text(pipeline.get()));
  }

  vlm::FrameSampler sampler(sample_fps);
  DecodeSummary summary;
  GstBus* bus = gst_element_get_bus(pipeline.get());
  std::unique_ptr<GstBus, decltype(&gst_object_unref)> bus_ref(bus, gst_object_unref);
  while (true) {
    // A bounded wait, then a look at the bus: an error that never reaches EOS (an unopenable or
    // damaged file) ends the loop instead of blocking forever.
    GstSample* sample = gst_app_sink_try_pull_sample(GST_APP_SINK(sink), 100 * GST_MSECOND);
    if (sample == nullptr) {
      if (gst_app_sink_is_eos(GST_APP_SINK(sink))) break;
      GstMessage* error = gst_bus_peek(bus);
      bool failed = false;
      while (error != nullptr && !failed) {
        failed = GST_MESSAGE_TYPE(error) == GST_MESSAGE_ERROR;
        gst_message_unref(error);
        if (failed) break;
        gst_message_unref(gst_bus_pop(bus));  // drop a non-error message we looked at
        error = gst_bus_peek(bus);
      }
      if (failed) break;
      continue;
    }
    std::unique_ptr<GstSample, decltype(&gst_sample_unref)> sample_ref(sample, gst_sample_unref);
    GstBuffer* buffer = gst_sample_get_buffer(sample);
    GstSegment* segment = gst_sample_get_segment(sample);
    GstClockTime pts = GST_BUFFER_PTS(buffer);
    if (!GST_CLOCK_TIME_IS_VALID(pts)) continue;
    guint64 stream_time = segment != nullptr
                              ? gst_segment_to_stream_time(segment, GST_FORMAT_TIME, pts)
                              : pts;
    if (!GST_CLOCK_TIME_IS_VALID(stream_time)) stream_time = pts;
    ++summary.frames_decoded;
    if (!sampler.offer(static_cast<int64_t>(stream_time))) continue;
    SampledFrame frame{copy_rgb(sample), static_cast<int64_t>(stream_time)};
    ++summary.frames_kept;
    if (!on_frame(std::move(frame))) break;
  }
  gint64 duration = -1;
  if (gst_element_query_duration(pipeline.get(), GST_FORMAT_TIME, &duration)) {
    summary.duration_ns = duration;
  }
  std::string error = bus_error_text(pipeline.get());
  if (!error.empty()) {
    VLM_THROW(Io, "decoding " << path.string() << " failed after " << summary.frames_decoded
                              << " frames: " << error);
  }
  VLM_CHECK(summary.frames_decoded > 0, InvalidInput,
            "no video frames could be decoded from " << path.string());
  return summary;
}

}  // namespace vlm_cli
