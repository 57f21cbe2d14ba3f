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
    : runner_(std::move(runner)),
      on_result_(std::move(on_result)),
      on_failure_(std::move(on_failure)),
      max_queue_(std::max<size_t>(1, max_queue)) {
  thread_ = std::thread([this] { loop(); });
}

Worker::~Worker() { stop(); }

Worker::Submitted Worker::submit(WindowJob job, bool live) {
  std::unique_lock<std::mutex> lock(mutex_);
  Submitted outcome = Submitted::Queued;
  if (live) {
    if (flushing_ || stopping_) return Submitted::Refused;
    while (queue_.size() >= max_queue_) {
      queue_.pop_front();
      ++stats_.dropped;
      outcome = Submitted::QueuedDroppingOldest;
    }
  } else {
    changed_.wait(lock, [&] { return flushing_ || stopping_ || queue_.size() < max_queue_; });
    if (flushing_ || stopping_) return Submitted::Refused;
  }
  job.epoch = epoch_;
  queue_.push_back(std::move(job));
  ++stats_.submitted;
  stats_.pending = queue_.size();
  lock.unlock();
  changed_.notify_all();
  return outcome;
}

void Worker::set_flushing(bool flushing) {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    flushing_ = flushing;
    if (flushing) {
      stats_.discarded += queue_.size();
      queue_.clear();
      stats_.pending = 0;
      cancel_.cancel();
    } else {
      ++epoch_;
    }
  }
  changed_.notify_all();
}

bool Worker::drain() {
  std::unique_lock<std::mutex> lock(mutex_);
  changed_.wait(lock, [&] { return flushing_ || stopping_ || (queue_.empty() && !stats_.busy); });
  return !flushing_ && !stopping_;
}

void Worker::stop() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stopping_ = true;
    stats_.discarded += queue_.size();
    queue_.clear();
    stats_.pending = 0;
    cancel_.cancel();
  }
  changed_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void Worker::set_max_queue(size_t max_queue) {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    max_queue_ = std::max<size_t>(1, max_queue);
  }
  changed_.notify_all();
}

WorkerStats Worker::stats() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return stats_;
}

void Worker::loop() {
  while (true) {
    WindowJob job;
    {
      std::unique_lock<std::mutex> lock(mutex_);
      changed_.wait(lock, [&] { return stopping_ || (!flushing_ && !queue_.empty()); });
      if (stopping_) return;
      job = std::move(queue_.front());
      queue_.pop_front();
      stats_.pending = queue_.size();
      stats_.busy = true;
      cancel_.reset();
    }
    changed_.notify_all();  // room in the queue for a waiting submitter

    enum class Outcome { Done, Cancelled, Failed } outcome = Outcome::Done;
    try {
      const std::string text = runner_->run(job, cancel_);
      bool current;
      {
        std::lock_guard<std::mutex> lock(mutex_);
        current = job.epoch == epoch_ && !flushing_ && !stopping_;
      }
      if (current) {
        on_result_(job, text);
      } else {
        outcome = Outcome::Cancelled;
      }
    } catch (const Error& error) {
      if (error.code() == ErrorCode::Cancelled) {
        outcome = Outcome::Cancelled;
      } else {
        outcome = Outcome::Failed;
        on_failure_(job, error);
      }
    } catch (const std::exception& error) {
      outcome = Outcome::Failed;
      on_failure_(job, Error(ErrorCode::Internal, error.what()));
    }

    {
      std::lock_guard<std::mutex> lock(mutex_);
      stats_.busy = false;
      if (outcome == Outcome::Done) ++stats_.done;
      if (outcome == Outcome::Cancelled) ++stats_.cancelled;
      if (outcome == Outcome::Failed) ++stats_.failed;
    }
    changed_.notify_all();
  }
}

}  // namespace vlm::gst
