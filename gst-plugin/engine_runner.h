// The production WindowRunner: a vlm::Engine loaded from a checkpoint folder. It preprocesses a
// window's frames like qwen-vl-utils does for a frame list (one size for the clip, per-frame pixel
// budget) and hands the engine each temporal patch's real start time, so the model's time ids
// follow the stream's timestamps even with variable frame rate or gaps.
#pragma once

#include <memory>

#include "window_runner.h"

namespace vlm::gst {

// Throws vlm::Error naming the folder or file when the checkpoint is missing or invalid.
std::unique_ptr<WindowRunner> make_engine_runner(const RunnerConfig& config);

}  // namespace vlm::gst
