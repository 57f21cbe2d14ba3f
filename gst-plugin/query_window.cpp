// Query windows (see query_window.h).
#include "query_window.h"

#include "vlm/error.h"

namespace vlm::gst {

std::vector<TimedFrame> window_clip(const Window& window) {
  std::vector<TimedFrame> clip;
  for (const FramePtr& frame : window.media_order()) {
    TimedFrame timed;
    timed.seconds = static_cast<double>(frame->stream_ns) / 1e9;
    timed.pixels = std::shared_ptr<const RawFrame>(frame, &frame->pixels);  // shares the frame
    clip.push_back(std::move(timed));
  }
  return clip;
}

std::vector<TimedFrame> coarse_frames(const std::vector<TimedFrame>& clip) {
  std::vector<TimedFrame> coarse;
  for (size_t i = 0; i < clip.size(); i += 2) coarse.push_back(clip[i]);
  if (coarse.size() < 2 && clip.size() >= 2) coarse.push_back(clip.back());
  return coarse;
}

WindowAnswer answer_query_window(LocalizeModel& coarse, LocalizeModel& refine, const WindowJob& job) {
  const std::vector<TimedFrame> clip = window_clip(job.window);
  VLM_CHECK(!clip.empty(), InvalidInput, "window " << job.window.index << " has no frames");
  VLM_CHECK(!job.task.user_prompt.empty(), InvalidInput,
            "task=query needs the event to find in the prompt property");
  WindowAnswer answer;
  answer.score = coarse.score(coarse_frames(clip), job.task.user_prompt);
  if (*answer.score >= job.task.query_threshold)
    answer.text = refine.locate(clip, job.task.user_prompt);
  return answer;
}

}  // namespace vlm::gst
