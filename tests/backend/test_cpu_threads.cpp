// The CPU backend's worker pool: every task runs exactly once with a valid thread index, for any
// pool size and task count, nested calls run inline on the same thread, and a task's exception
// reaches the caller without hanging the pool.
#include <gtest/gtest.h>

#include <atomic>
#include <stdexcept>
#include <vector>

#include "backend_cpu/cpu_threads.h"

namespace vlm {
namespace {

TEST(CpuThreadPool, RunsEveryTaskExactlyOnce) {
  for (int threads : {1, 2, 5}) {
    CpuThreadPool pool(threads);
    EXPECT_EQ(pool.size(), threads);
    for (int64_t n_tasks : {0, 1, 3, 1000}) {
      std::vector<std::atomic<int>> hits(static_cast<size_t>(n_tasks));
      std::atomic<bool> bad_thread{false};
      pool.parallel_for(n_tasks, [&](int64_t task, int thread) {
        if (thread < 0 || thread >= threads) bad_thread = true;
        hits[static_cast<size_t>(task)]++;
      });
      EXPECT_FALSE(bad_thread);
      for (int64_t t = 0; t < n_tasks; ++t) ASSERT_EQ(hits[static_cast<size_t>(t)].load(), 1) << t;
    }
  }
}

TEST(CpuThreadPool, NestedCallsRunInlineWithoutDeadlock) {
  CpuThreadPool pool(3);
  std::vector<std::atomic<int>> hits(64);
  pool.parallel_for(8, [&](int64_t outer, int thread) {
    pool.parallel_for(8, [&](int64_t inner, int inner_thread) {
      if (inner_thread == thread) hits[static_cast<size_t>(outer * 8 + inner)]++;
    });
  });
  for (size_t i = 0; i < hits.size(); ++i) ASSERT_EQ(hits[i].load(), 1) << i;
}

TEST(CpuThreadPool, ZeroMeansHardwareConcurrency) {
  CpuThreadPool pool(0);
  EXPECT_GE(pool.size(), 1);
}

TEST(CpuThreadPool, PropagatesTaskExceptionsAndStaysUsable) {
  CpuThreadPool pool(3);
  EXPECT_THROW(pool.parallel_for(100, [](int64_t task, int) {
    if (task == 42) throw std::runtime_error("task 42");
  }), std::runtime_error);
  std::atomic<int64_t> sum{0};
  pool.parallel_for(10, [&](int64_t task, int) { sum += task; });
  EXPECT_EQ(sum.load(), 45);
}

}  // namespace
}  // namespace vlm
