// Worker pool of the CPU backend (see cpu_threads.h): workers sleep on a condition variable
// between calls and pull task indices from a shared atomic counter while a call is running.
#include "backend_cpu/cpu_threads.h"

namespace vlm {
namespace {
// The pool whose task the current thread is running, so a nested parallel_for runs inline
// instead of waiting for workers that are busy with the outer call.
thread_local const CpuThreadPool* tls_running_pool = nullptr;
thread_local int tls_thread_index = 0;

struct RunningPoolScope {
  RunningPoolScope(const CpuThreadPool* pool, int thread)
      : previous_pool(tls_running_pool), previous_thread(tls_thread_index) {
    tls_running_pool = pool;
    tls_thread_index = thread;
  }
  ~RunningPoolScope() {
    tls_running_pool = previous_pool;
    tls_thread_index = previous_thread;
  }
  const CpuThreadPool* previous_pool;
  int previous_thread;
};
}  // namespace

CpuThreadPool::CpuThreadPool(int n_threads) {
  if (n_threads <= 0) n_threads = static_cast<int>(std::thread::hardware_concurrency());
  if (n_threads <= 0) n_threads = 1;
  n_threads_ = n_threads;
  workers_.reserve(static_cast<size_t>(n_threads_ - 1));
  for (int t = 1; t < n_threads_; ++t) workers_.emplace_back([this, t] { worker_loop(t); });
}

CpuThreadPool::~CpuThreadPool() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stopping_ = true;
  }
  start_cv_.notify_all();
  for (std::thread& worker : workers_) worker.join();
}

void CpuThreadPool::run_tasks(int thread) {
  RunningPoolScope scope(this, thread);
  for (;;) {
    if (failed_.load(std::memory_order_relaxed)) return;
    int64_t task = next_task_.fetch_add(1, std::memory_order_relaxed);
    if (task >= n_tasks_) return;
    try {
      (*job_)(task, thread);
    } catch (...) {
      std::lock_guard<std::mutex> lock(mutex_);
      if (!failed_.exchange(true)) error_ = std::current_exception();
      return;
    }
  }
}

void CpuThreadPool::worker_loop(int thread) {
  uint64_t seen = 0;
  for (;;) {
    {
      std::unique_lock<std::mutex> lock(mutex_);
      start_cv_.wait(lock, [&] { return stopping_ || generation_ != seen; });
      if (stopping_) return;
      seen = generation_;
    }
    run_tasks(thread);
    {
      std::lock_guard<std::mutex> lock(mutex_);
      if (--active_workers_ == 0) done_cv_.notify_one();
    }
  }
}

void CpuThreadPool::parallel_for(int64_t n_tasks,
                                 const std::function<void(int64_t task, int thread)>& fn) {
  if (n_tasks <= 0) return;
  if (tls_running_pool == this) {  // nested call from one of our tasks: run it on this thread
    for (int64_t task = 0; task < n_tasks; ++task) fn(task, tls_thread_index);
    return;
  }
  std::lock_guard<std::mutex> call_lock(call_mutex_);
  if (n_threads_ == 1 || n_tasks == 1) {
    RunningPoolScope scope(this, 0);
    for (int64_t task = 0; task < n_tasks; ++task) fn(task, 0);
    return;
  }
  {
    std::lock_guard<std::mutex> lock(mutex_);
    job_ = &fn;
    n_tasks_ = n_tasks;
    next_task_.store(0, std::memory_order_relaxed);
    failed_.store(false, std::memory_order_relaxed);
    error_ = nullptr;
    active_workers_ = static_cast<int>(workers_.size());
    ++generation_;
  }
  start_cv_.notify_all();
  run_tasks(0);
  std::exception_ptr error;
  {
    std::unique_lock<std::mutex> lock(mutex_);
    done_cv_.wait(lock, [&] { return active_workers_ == 0; });
    job_ = nullptr;
    error = error_;
    error_ = nullptr;
  }
  if (error) std::rethrow_exception(error);
}

}  // namespace vlm
