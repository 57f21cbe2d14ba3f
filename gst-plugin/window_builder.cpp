// Window grid over sampled frames (see window_builder.h). All arithmetic is in integer
// nanoseconds so window boundaries are exact for the usual rates (30 fps frames at 2 fps samples
// land exactly on 0.5 s boundaries).
#include "window_builder.h"

#include <algorithm>

#include "vlm/error.h"

namespace vlm::gst {

WindowBuilder::WindowBuilder(const WindowSpec& spec) : spec_(spec), sampler_(spec.sample_fps) {
  VLM_CHECK(spec.window_ns > 0, InvalidInput, "window must be positive, got " << spec.window_ns << " ns");
  VLM_CHECK(spec.stride_ns > 0, InvalidInput, "stride must be positive, got " << spec.stride_ns << " ns");
}

Window WindowBuilder::collect(int64_t k) const {
  Window window;
  window.direction = direction_;
  window.stride_ns = spec_.stride_ns;
  window.start_rt_ns = start_of(k);
  window.end_rt_ns = end_of(k);
  for (const FramePtr& frame : frames_)
    if (frame->running_ns >= window.start_rt_ns && frame->running_ns < window.end_rt_ns)
      window.frames.push_back(frame);
  return window;
}

void WindowBuilder::emit(Window window, std::vector<Window>& out) {
  window.index = next_index_++;
  const int64_t last = window.frames.back()->running_ns;
  covered_until_ns_ = std::max(covered_until_ns_.value_or(last), last);
  out.push_back(std::move(window));
}

void WindowBuilder::prune() {
  if (!origin_ns_) return;
  const int64_t keep_from = start_of(next_k_);
  while (!frames_.empty() && frames_.front()->running_ns < keep_from) frames_.pop_front();
}

std::vector<Window> WindowBuilder::advance(int64_t running_ns) {
  std::vector<Window> out;
  if (!origin_ns_) return out;
  while (running_ns >= end_of(next_k_)) {
    Window window = collect(next_k_);
    if (!window.frames.empty()) emit(std::move(window), out);
    ++next_k_;
    prune();
    if (frames_.empty() && running_ns >= end_of(next_k_)) {
      // Nothing pending: jump straight to the first window still open at running_ns.
      const int64_t past = running_ns - *origin_ns_ - spec_.window_ns;
      next_k_ = std::max(next_k_, past / spec_.stride_ns + 1);
    }
  }
  return out;
}

void WindowBuilder::add(FramePtr frame) {
  if (!origin_ns_) {
    origin_ns_ = frame->running_ns;
    next_k_ = 0;
  }
  frames_.push_back(std::move(frame));
}

std::vector<Window> WindowBuilder::finish() {
  std::vector<Window> out;
  if (origin_ns_ && !frames_.empty()) {
    const int64_t last_frame = frames_.back()->running_ns;
    for (int64_t k = next_k_; start_of(k) <= last_frame; ++k) {
      Window window = collect(k);
      if (window.frames.empty()) continue;
      const int64_t newest = window.frames.back()->running_ns;
      if (covered_until_ns_ && newest <= *covered_until_ns_) continue;  // nothing new in it
      window.partial = true;
      window.end_rt_ns = std::min(window.end_rt_ns, newest + sampler_.interval_ns());
      emit(std::move(window), out);
    }
  }
  reset();
  return out;
}

void WindowBuilder::reset() {
  sampler_.reset();
  origin_ns_.reset();
  next_k_ = 0;
  frames_.clear();
  covered_until_ns_.reset();
}

std::vector<double> patch_start_seconds(const Window& window, int temporal_patch_size) {
  std::vector<int64_t> times;
  times.reserve(window.frames.size());
  for (const FramePtr& frame : window.media_order()) times.push_back(frame->stream_ns);
  if (times.empty()) return {};
  return temporal_patch_starts(times, times.front(), temporal_patch_size);
}

}  // namespace vlm::gst
