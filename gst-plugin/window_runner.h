// What answers a window: the WindowRunner interface, the process-wide registry that shares one
// runner (one loaded engine) per (model, device) between every vlmdescribe instance with fair,
// first-come-first-served turns, and the factory hook tests use to replace the engine with a
// scripted runner. The element only ever talks to SharedRunner, so the real engine and the test
// runner take exactly the same path through the worker, the queue and the registry.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>

#include "vlm/log.h"
#include "window.h"

namespace vlm::gst {

// What a window's question produced: the model's text (kept even when it parses to nothing) and,
// for task=query, the coarse question's probability that the window shows the query (the text is
// empty when that score stayed under the threshold and no refine question was asked).
struct WindowAnswer {
  std::string text;
  std::optional<double> score;
};

// Answers one window. run() is called by one worker thread at a time per runner (the registry
// serialises); it throws vlm::Error on failure and Error(Cancelled) when `cancel` fired.
class WindowRunner {
 public:
  virtual ~WindowRunner() = default;
  virtual WindowAnswer run(const WindowJob& job, const CancelToken& cancel) = 0;
};

struct RunnerConfig {
  std::string model;   // checkpoint folder
  std::string device;  // "cpu", "cuda", "cuda:N"
};

// Creates a runner; throws vlm::Error (NotFound / InvalidModel naming the file) when it cannot.
using RunnerFactory = std::function<std::unique_ptr<WindowRunner>(const RunnerConfig&)>;

// Test hook: replaces the engine-backed factory for the whole process (nullptr restores it).
// Tests register vlmdescribe statically and install a scripted runner through this.
void set_runner_factory(RunnerFactory factory);

// First-come-first-served turns with abandonment: a waiter whose CancelToken fires leaves the
// line without blocking the ones behind it.
class FairTurns {
 public:
  // Waits for this caller's turn; false when cancelled while waiting (no turn held then).
  bool acquire(const CancelToken& cancel);
  void release();
  // Callers waiting for a turn now (for tests and stats).
  uint64_t waiting();

 private:
  void advance_locked();
  std::mutex mutex_;
  std::condition_variable changed_;
  uint64_t next_ticket_ = 0;
  uint64_t serving_ = 0;
  std::set<uint64_t> abandoned_;
};

// A runner shared by all elements using the same (model, device).
class SharedRunner {
 public:
  explicit SharedRunner(std::unique_ptr<WindowRunner> runner) : runner_(std::move(runner)) {}
  // Takes a turn, runs, releases. Throws like WindowRunner::run.
  WindowAnswer run(const WindowJob& job, const CancelToken& cancel);

 private:
  std::unique_ptr<WindowRunner> runner_;
  FairTurns turns_;
};

// The runner for `config`, loading it on first use; later callers with the same (model, device)
// get the same object while any holder keeps it alive. Throws vlm::Error from loading.
std::shared_ptr<SharedRunner> acquire_runner(const RunnerConfig& config);

}  // namespace vlm::gst
