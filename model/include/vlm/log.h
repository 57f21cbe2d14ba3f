// Logging, progress and cancellation as callbacks: the engine never prints by itself, so the
// GStreamer element can route messages to GST_DEBUG and the CLI to stderr. A CancelToken is polled
// by long loops (generation, encoding) and turns into ErrorCode::Cancelled.
#pragma once

#include <atomic>
#include <functional>
#include <string>
#include <string_view>

namespace vlm {

enum class LogLevel { Debug = 0, Info = 1, Warning = 2, Error = 3 };

using LogCallback = std::function<void(LogLevel, std::string_view)>;
// fraction in [0,1]; stage names what is being done ("vision", "prefill", "decode").
using ProgressCallback = std::function<void(double fraction, std::string_view stage)>;

// Process-wide sink; nullptr silences. Thread-safe to call log() concurrently.
void set_log_callback(LogCallback callback);
void set_log_level(LogLevel min_level);
void log(LogLevel level, std::string_view message);

class CancelToken {
 public:
  void cancel() { cancelled_.store(true, std::memory_order_relaxed); }
  void reset() { cancelled_.store(false, std::memory_order_relaxed); }
  bool cancelled() const { return cancelled_.load(std::memory_order_relaxed); }
  // Throws Error(Cancelled) when cancel() was called.
  void throw_if_cancelled() const;

 private:
  std::atomic<bool> cancelled_{false};
};

}  // namespace vlm
