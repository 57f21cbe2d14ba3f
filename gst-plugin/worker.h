// Inference off the streaming thread: one thread per element and a bounded queue of windows.
// File mode: submit() waits while the queue is full (upstream is held back, nothing is lost).
// Live mode: submit() never waits; when full, the oldest pending window is dropped and counted.
// A flush discards pending windows and cancels the running generation; results of a window that
// belongs to an earlier flush epoch are never delivered. Callbacks run on the worker thread.
// The queue and counters live in a block shared by the Worker and its thread, so stop() may be
// called from inside a callback (an application's bus sync handler setting the pipeline to NULL
// runs on the worker thread): the thread is then detached instead of joining itself, and it
// finishes its loop on the shared block after the Worker object is gone.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <thread>

#include "vlm/error.h"
#include "window_runner.h"

namespace vlm::gst {

struct WorkerStats {
  uint64_t submitted = 0;  // windows accepted into the queue
  uint64_t done = 0;       // windows answered and delivered
  uint64_t dropped = 0;    // live mode: pending windows dropped because the queue was full
  uint64_t discarded = 0;  // pending windows thrown away by a flush
  uint64_t cancelled = 0;  // running generations stopped by a flush or a stop
  uint64_t failed = 0;     // runner errors
  uint64_t pending = 0;    // waiting in the queue now
  bool busy = false;       // a window is being answered now
};

class Worker {
 public:
  using OnResult = std::function<void(const WindowJob& job, const WindowAnswer& answer)>;
  using OnFailure = std::function<void(const WindowJob& job, const Error& error)>;

  enum class Submitted { Queued, QueuedDroppingOldest, Refused };

  Worker(std::shared_ptr<SharedRunner> runner, size_t max_queue, OnResult on_result,
         OnFailure on_failure);
  ~Worker();
  Worker(const Worker&) = delete;
  Worker& operator=(const Worker&) = delete;

  // Stamps the job with the current epoch and queues it. Refused while flushing or stopped.
  Submitted submit(WindowJob job, bool live);
  // true: discard pending windows, cancel the running one, release waiting submitters and
  // drainers. false: start a new epoch and accept windows again.
  void set_flushing(bool flushing);
  // Waits until every queued window has been answered; false when a flush or stop interrupted.
  bool drain();
  // Cancels and joins the thread (idempotent).
  void stop();
  void set_max_queue(size_t max_queue);
  WorkerStats stats() const;

 private:
  struct Shared {
    std::shared_ptr<SharedRunner> runner;
    OnResult on_result;
    OnFailure on_failure;
    mutable std::mutex mutex;
    std::condition_variable changed;
    std::deque<WindowJob> queue;
    size_t max_queue = 1;
    bool flushing = false;
    bool stopping = false;
    uint64_t epoch = 0;
    CancelToken cancel;
    WorkerStats stats;
  };
  static void loop(const std::shared_ptr<Shared>& shared);

  std::shared_ptr<Shared> shared_;
  std::thread thread_;
};

}  // namespace vlm::gst
