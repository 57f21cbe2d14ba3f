// Error formatting: "[Code] message (file:line)" so logs name both the problem and the place.
#include "vlm/error.h"

#include <cstring>

namespace vlm {

const char* error_code_name(ErrorCode code) {
  switch (code) {
    case ErrorCode::NotFound: return "NotFound";
    case ErrorCode::InvalidModel: return "InvalidModel";
    case ErrorCode::InvalidInput: return "InvalidInput";
    case ErrorCode::Unsupported: return "Unsupported";
    case ErrorCode::OutOfMemory: return "OutOfMemory";
    case ErrorCode::Device: return "Device";
    case ErrorCode::Io: return "Io";
    case ErrorCode::Cancelled: return "Cancelled";
    case ErrorCode::Internal: return "Internal";
  }
  return "Unknown";
}

namespace {
std::string format(ErrorCode code, const std::string& message, const char* file, int line) {
  std::string out = std::string("[") + error_code_name(code) + "] " + message;
  if (file != nullptr) {
    const char* base = std::strrchr(file, '/');
    out += std::string(" (") + (base ? base + 1 : file) + ":" + std::to_string(line) + ")";
  }
  return out;
}
}  // namespace

Error::Error(ErrorCode code, const std::string& message, const char* file, int line)
    : std::runtime_error(format(code, message, file, line)), code_(code), message_(message) {}

}  // namespace vlm
