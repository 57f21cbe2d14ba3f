// Runner registry and fair turns (see window_runner.h). Loading happens under the registry lock so
// two elements asking for the same model at once load it once; the registry holds weak references
// so the engine is freed when the last element stops.
#include "window_runner.h"

#include <chrono>
#include <map>
#include <utility>

#include "engine_runner.h"
#include "vlm/error.h"

namespace vlm::gst {
namespace {

std::mutex& registry_mutex() {
  static std::mutex mutex;
  return mutex;
}

RunnerFactory& factory_override() {
  static RunnerFactory factory;
  return factory;
}

std::map<std::pair<std::string, std::string>, std::weak_ptr<SharedRunner>>& registry() {
  static std::map<std::pair<std::string, std::string>, std::weak_ptr<SharedRunner>> map;
  return map;
}

}  // namespace

void set_runner_factory(RunnerFactory factory) {
  std::lock_guard<std::mutex> lock(registry_mutex());
  factory_override() = std::move(factory);
  registry().clear();  // runners made by the previous factory are not handed out again
}

bool FairTurns::acquire(const CancelToken& cancel) {
  std::unique_lock<std::mutex> lock(mutex_);
  const uint64_t ticket = next_ticket_++;
  while (serving_ != ticket) {
    if (cancel.cancelled()) {
      abandoned_.insert(ticket);
      return false;
    }
    changed_.wait_for(lock, std::chrono::milliseconds(5));
  }
  return true;
}

void FairTurns::advance_locked() {
  ++serving_;
  while (abandoned_.erase(serving_) > 0) ++serving_;
}

uint64_t FairTurns::waiting() {
  std::lock_guard<std::mutex> lock(mutex_);
  const uint64_t queued = next_ticket_ - serving_;  // includes the holder, if any
  uint64_t abandoned_ahead = 0;
  for (const uint64_t t : abandoned_) abandoned_ahead += t >= serving_ ? 1 : 0;
  return queued - abandoned_ahead - (queued > abandoned_ahead ? 1 : 0);
}

void FairTurns::release() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    advance_locked();
  }
  changed_.notify_all();
}

WindowAnswer SharedRunner::run(const WindowJob& job, const CancelToken& cancel) {
  if (!turns_.acquire(cancel)) VLM_THROW(Cancelled, "window " << job.window.index << " cancelled while waiting");
  struct Release {
    FairTurns& turns;
    ~Release() { turns.release(); }
  } release{turns_};
  cancel.throw_if_cancelled();
  return runner_->run(job, cancel);
}

std::shared_ptr<SharedRunner> acquire_runner(const RunnerConfig& config) {
  std::lock_guard<std::mutex> lock(registry_mutex());
  auto key = std::make_pair(config.model, config.device);
  if (auto existing = registry()[key].lock()) return existing;
  std::unique_ptr<WindowRunner> runner =
      factory_override() ? factory_override()(config) : make_engine_runner(config);
  VLM_CHECK(runner != nullptr, Internal, "runner factory returned nothing for model " << config.model);
  auto shared = std::make_shared<SharedRunner>(std::move(runner));
  registry()[key] = shared;
  return shared;
}

}  // namespace vlm::gst
