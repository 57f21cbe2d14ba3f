// A small fixed-size worker pool for the CPU backend, created once per backend.
// parallel_for hands out task indices dynamically (an atomic counter), so uneven tasks (attention
// segments of different lengths, matmul panels at the edge) balance themselves. The calling thread
// works too, which is why a pool of n threads starts n - 1 workers. Every task also receives the
// index of the thread running it, so ops can keep per-thread scratch buffers.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <exception>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

namespace vlm {

class CpuThreadPool {
 public:
  // n_threads <= 0 selects std::thread::hardware_concurrency().
  explicit CpuThreadPool(int n_threads);
  ~CpuThreadPool();
  CpuThreadPool(const CpuThreadPool&) = delete;
  CpuThreadPool& operator=(const CpuThreadPool&) = delete;

  int size() const { return n_threads_; }

  // Runs fn(task, thread) for task in [0, n_tasks) across the pool and returns when all are done.
  // thread is in [0, size()). The first exception thrown by a task is rethrown here (remaining
  // tasks are skipped). Calls from several threads at once are serialised; a call made from inside
  // a task runs inline on the calling thread.
  void parallel_for(int64_t n_tasks, const std::function<void(int64_t task, int thread)>& fn);

 private:
  void worker_loop(int thread);
  void run_tasks(int thread);

  int n_threads_;
  std::vector<std::thread> workers_;
  std::mutex call_mutex_;  // one parallel_for at a time

  std::mutex mutex_;
  std::condition_variable start_cv_;
  std::condition_variable done_cv_;
  uint64_t generation_ = 0;  // bumped per parallel_for; workers wait for a new value
  bool stopping_ = false;
  int active_workers_ = 0;

  const std::function<void(int64_t, int)>* job_ = nullptr;
  int64_t n_tasks_ = 0;
  std::atomic<int64_t> next_task_{0};
  std::atomic<bool> failed_{false};
  std::exception_ptr error_;
};

}  // namespace vlm
