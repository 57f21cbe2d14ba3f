// A scripted WindowRunner for the GStreamer tests: records every window it is asked about and
// answers with a test-chosen function; it can be held at a gate (a "slow engine" whose slowness
// is controlled by the test, not by a clock) or made to fail. For task=query it plays the model's
// two questions and lets the element's two-pass logic choose. Installed for the whole process
// with vlm::gst::set_runner_factory, so the element under test takes its normal path through the
// registry, the worker and the queue.
#pragma once

#include <chrono>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <string>
#include <vector>

#include "window_runner.h"

namespace vlm::gst::test_support {

struct Script {
  std::mutex mutex;
  std::condition_variable changed;
  std::vector<WindowJob> jobs;  // every job run() received, in order
  std::vector<RunnerConfig> factory_calls;
  std::function<std::string(const WindowJob&)> answer;  // default: "window <index>"
  // task=query: the coarse question's score (default 1.0); `answer` then answers the refine one.
  std::function<double(const WindowJob&)> score;
  std::vector<size_t> coarse_frames, refine_frames;  // frames given to each question, in order
  bool gate_open = true;       // closed: run() waits until opened or cancelled
  bool fail = false;           // run() throws InvalidInput
  int started = 0;
  int cancelled = 0;

  void reset();
  void set_gate(bool open);
  // Waits (up to `limit`, a hang guard, not a timing check) until run() was entered n times.
  bool wait_started(int n, std::chrono::seconds limit = std::chrono::seconds(30));
  std::vector<WindowJob> jobs_copy();
};

Script& script();
// Installs the scripted factory (idempotent).
void install_scripted_runner();

// Polls `done` until true or `limit` passes (a guard against hangs, not a timing assertion).
bool wait_until(const std::function<bool()>& done, std::chrono::seconds limit = std::chrono::seconds(30));

}  // namespace vlm::gst::test_support
