// task=query in a pipeline: the two passes of `vlm localize` (vlm/localize.h) applied to each
// window as it closes, since a stream cannot be re-read. The coarse question ("does this clip show
// the query?", scored from the model's own yes/no probabilities) is asked on every other sampled
// frame; only windows scoring at least query-threshold get the refine question (start and end
// times, spec §9.1) on all their frames, at sample-fps. The same LocalizeModel interface and
// prompts as the CLI, so the engine-backed and the scripted models serve both.
#pragma once

#include <vector>

#include "vlm/localize.h"
#include "window.h"
#include "window_runner.h"

namespace vlm::gst {

// The window's frames as a localisation clip: media order, seconds of stream time, images shared.
std::vector<TimedFrame> window_clip(const Window& window);

// The coarse pass's frames: every other frame of the clip (the first always), at least two when
// the clip has two.
std::vector<TimedFrame> coarse_frames(const std::vector<TimedFrame>& clip);

// Scores the window with `coarse`; refines it with `refine` when the score reaches the job's
// query_threshold. Throws what the models throw.
WindowAnswer answer_query_window(LocalizeModel& coarse, LocalizeModel& refine, const WindowJob& job);

}  // namespace vlm::gst
