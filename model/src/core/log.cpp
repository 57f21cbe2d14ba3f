// The process-wide log sink behind vlm::log(); guarded by a mutex so any thread may log.
#include "vlm/log.h"

#include <mutex>

#include "vlm/error.h"

namespace vlm {
namespace {
std::mutex g_log_mutex;
LogCallback g_log_callback;
std::atomic<int> g_min_level{static_cast<int>(LogLevel::Info)};
}  // namespace

void set_log_callback(LogCallback callback) {
  std::lock_guard<std::mutex> lock(g_log_mutex);
  g_log_callback = std::move(callback);
}

void set_log_level(LogLevel min_level) { g_min_level.store(static_cast<int>(min_level)); }

void log(LogLevel level, std::string_view message) {
  if (static_cast<int>(level) < g_min_level.load()) return;
  std::lock_guard<std::mutex> lock(g_log_mutex);
  if (g_log_callback) g_log_callback(level, message);
}

void CancelToken::throw_if_cancelled() const {
  if (cancelled()) throw Error(ErrorCode::Cancelled, "operation cancelled");
}

}  // namespace vlm
