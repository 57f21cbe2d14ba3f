// The vlm CLI's log sink (cli_log.h).
#include "cli_log.h"

#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

#include "vlm/log.h"

namespace vlm_cli {
namespace {

const char* level_name(vlm::LogLevel level) {
  switch (level) {
    case vlm::LogLevel::Debug: return "debug";
    case vlm::LogLevel::Info: return "info";
    case vlm::LogLevel::Warning: return "warning";
    case vlm::LogLevel::Error: return "error";
  }
  return "log";
}

}  // namespace

bool install_log_sink() {
  vlm::LogLevel min_level = vlm::LogLevel::Warning;
  if (const char* set = std::getenv("VLM_LOG_LEVEL"); set != nullptr && *set != '\0') {
    const std::string value = set;
    bool known = false;
    for (vlm::LogLevel level : {vlm::LogLevel::Debug, vlm::LogLevel::Info, vlm::LogLevel::Warning,
                                vlm::LogLevel::Error}) {
      if (value == level_name(level)) {
        min_level = level;
        known = true;
      }
    }
    if (!known) {
      std::fprintf(stderr, "vlm: VLM_LOG_LEVEL=%s: expected debug, info, warning or error\n", set);
      return false;
    }
  }
  vlm::set_log_level(min_level);
  vlm::set_log_callback([](vlm::LogLevel level, std::string_view message) {
    std::fprintf(stderr, "vlm: %s: %.*s\n", level_name(level), static_cast<int>(message.size()),
                 message.data());
  });
  return true;
}

}  // namespace vlm_cli
