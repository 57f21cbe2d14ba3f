// Worker thread and bounded queue (see worker.h). Popping a job and re-arming the cancel token
// happen under the same lock a flush takes to fire it, so a flush can never miss the window that
// is just starting.
#include "worker.h"

#include <algorithm>
#include <exception>
#include <utility>

namespace vlm::gst {

Worker::Worker(std::shared_ptr<SharedRunner> runner, size_t max_queue, OnResult on_result,
               OnFailure on_failure)
    : shared_(std::make_shared<Shared>()) {
  shared_->runner = std::move(runner);
  shared_->on_result = std::move(on_result);
  shared_->on_failure = std::move(on_failure);
  shared_->max_queue = std::max<size_t>(1, max_queue);
  thread_ = std::thread([shared = shared_] { loop(shared); });
}

Worker::~Worker() { stop(); }

Worker::Submitted Worker::submit(WindowJob job, bool live) {
  Shared& s = *shared_;
  std::unique_lock<std::mutex> lock(s.mutex);
  Submitted outcome = Submitted::Queued;
  if (live) {
    if (s.flushing || s.stopping) return Submitted::Refused;
    while (s.queue.size() >= s.max_queue) {
      s.queue.pop_front();
      ++s.stats.dropped;
      outcome = Submitted::QueuedDroppingOldest;
    }
  } else {
    s.changed.wait(lock, [&] { return s.flushing || s.stopping || s.queue.size() < s.max_queue; });
    if (s.flushing || s.stopping) return Submitted::Refused;
  }
  job.epoch = s.epoch;
  s.queue.push_back(std::move(job));
  ++s.stats.submitted;
  s.stats.pending = s.queue.size();
  lock.unlock();
  s.changed.notify_all();
  return outcome;
}

void Worker::set_flushing(bool flushing) {
  Shared& s = *shared_;
  {
    std::lock_guard<std::mutex> lock(s.mutex);
    s.flushing = flushing;
    if (flushing) {
      s.stats.discarded += s.queue.size();
      s.queue.clear();
      s.stats.pending = 0;
      s.cancel.cancel();
    } else {
      ++s.epoch;
    }
  }
  s.changed.notify_all();
}

bool Worker::drain() {
  Shared& s = *shared_;
  std::unique_lock<std::mutex> lock(s.mutex);
  s.changed.wait(lock, [&] { return s.flushing || s.stopping || (s.queue.empty() && !s.stats.busy); });
  return !s.flushing && !s.stopping;
}

void Worker::stop() {
  Shared& s = *shared_;
  {
    std::lock_guard<std::mutex> lock(s.mutex);
    s.stopping = true;
    s.stats.discarded += s.queue.size();
    s.queue.clear();
    s.stats.pending = 0;
    s.cancel.cancel();
  }
  s.changed.notify_all();
  if (!thread_.joinable()) return;
  if (thread_.get_id() == std::this_thread::get_id()) {
    thread_.detach();  // called from a callback: the loop ends on its own copy of the shared block
  } else {
    thread_.join();
  }
}

void Worker::set_max_queue(size_t max_queue) {
  Shared& s = *shared_;
  {
    std::lock_guard<std::mutex> lock(s.mutex);
    s.max_queue = std::max<size_t>(1, max_queue);
  }
  s.changed.notify_all();
}

WorkerStats Worker::stats() const {
  std::lock_guard<std::mutex> lock(shared_->mutex);
  return shared_->stats;
}

void Worker::loop(const std::shared_ptr<Shared>& shared) {
  Shared& s = *shared;
  while (true) {
    WindowJob job;
    {
      std::unique_lock<std::mutex> lock(s.mutex);
      s.changed.wait(lock, [&] { return s.stopping || (!s.flushing && !s.queue.empty()); });
      if (s.stopping) return;
      job = std::move(s.queue.front());
      s.queue.pop_front();
      s.stats.pending = s.queue.size();
      s.stats.busy = true;
      s.cancel.reset();
    }
    s.changed.notify_all();  // room in the queue for a waiting submitter

    enum class Outcome { Done, Cancelled, Failed } outcome = Outcome::Done;
    try {
      const WindowAnswer answer = s.runner->run(job, s.cancel);
      bool current;
      {
        std::lock_guard<std::mutex> lock(s.mutex);
        current = job.epoch == s.epoch && !s.flushing && !s.stopping;
      }
      if (current) {
        s.on_result(job, answer);
      } else {
        outcome = Outcome::Cancelled;
      }
    } catch (const Error& error) {
      if (error.code() == ErrorCode::Cancelled) {
        outcome = Outcome::Cancelled;
      } else {
        outcome = Outcome::Failed;
        s.on_failure(job, error);
      }
    } catch (const std::exception& error) {
      outcome = Outcome::Failed;
      s.on_failure(job, Error(ErrorCode::Internal, error.what()));
    }

    {
      std::lock_guard<std::mutex> lock(s.mutex);
      s.stats.busy = false;
      if (outcome == Outcome::Done) ++s.stats.done;
      if (outcome == Outcome::Cancelled) ++s.stats.cancelled;
      if (outcome == Outcome::Failed) ++s.stats.failed;
    }
    s.changed.notify_all();
  }
}

}  // namespace vlm::gst
