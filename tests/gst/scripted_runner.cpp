// Scripted runner implementation (see scripted_runner.h).
#include "scripted_runner.h"

#include <thread>

#include "query_window.h"
#include "vlm/error.h"

namespace vlm::gst::test_support {
namespace {

// task=query: the script's score and answer stand in for the model's two questions, and the
// element's own two-pass logic (answer_query_window) decides which windows are refined.
class ScriptedLocalizeModel final : public LocalizeModel {
 public:
  ScriptedLocalizeModel(Script& s, const WindowJob& job) : s_(s), job_(job) {}
  double score(std::span<const TimedFrame> clip, const std::string&) override {
    s_.coarse_frames.push_back(clip.size());
    return s_.score ? s_.score(job_) : 1.0;
  }
  std::string locate(std::span<const TimedFrame> clip, const std::string&) override {
    s_.refine_frames.push_back(clip.size());
    return s_.answer ? s_.answer(job_) : "window " + std::to_string(job_.window.index);
  }

 private:
  Script& s_;
  const WindowJob& job_;
};

class ScriptedRunner final : public WindowRunner {
 public:
  WindowAnswer run(const WindowJob& job, const CancelToken& cancel) override {
    Script& s = script();
    std::unique_lock<std::mutex> lock(s.mutex);
    s.jobs.push_back(job);
    ++s.started;
    s.changed.notify_all();
    while (!s.gate_open && !cancel.cancelled()) s.changed.wait_for(lock, std::chrono::milliseconds(2));
    if (cancel.cancelled()) {
      ++s.cancelled;
      s.changed.notify_all();
      VLM_THROW(Cancelled, "scripted window " << job.window.index << " cancelled");
    }
    if (s.fail) VLM_THROW(InvalidInput, "scripted failure for window " << job.window.index);
    if (job.task.task == Task::Query) {
      ScriptedLocalizeModel model(s, job);
      return answer_query_window(model, model, job);
    }
    WindowAnswer answer;
    answer.text = s.answer ? s.answer(job) : "window " + std::to_string(job.window.index);
    return answer;
  }
};

}  // namespace

Script& script() {
  static Script s;
  return s;
}

void Script::reset() {
  std::lock_guard<std::mutex> lock(mutex);
  jobs.clear();
  factory_calls.clear();
  answer = nullptr;
  score = nullptr;
  coarse_frames.clear();
  refine_frames.clear();
  gate_open = true;
  fail = false;
  started = 0;
  cancelled = 0;
}

void Script::set_gate(bool open) {
  std::lock_guard<std::mutex> lock(mutex);
  gate_open = open;
  changed.notify_all();
}

bool Script::wait_started(int n, std::chrono::seconds limit) {
  std::unique_lock<std::mutex> lock(mutex);
  return changed.wait_for(lock, limit, [&] { return started >= n; });
}

std::vector<WindowJob> Script::jobs_copy() {
  std::lock_guard<std::mutex> lock(mutex);
  return jobs;
}

void install_scripted_runner() {
  set_runner_factory([](const RunnerConfig& config) -> std::unique_ptr<WindowRunner> {
    {
      std::lock_guard<std::mutex> lock(script().mutex);
      script().factory_calls.push_back(config);
    }
    return std::make_unique<ScriptedRunner>();
  });
}

bool wait_until(const std::function<bool()>& done, std::chrono::seconds limit) {
  const auto deadline = std::chrono::steady_clock::now() + limit;
  while (!done()) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  return true;
}

}  // namespace vlm::gst::test_support
