// vlm::Error — the one exception type of libvlm, and the check macros that raise it.
// Library code never exits or aborts: every failure becomes an Error carrying a code (so callers
// such as the GStreamer element can map it) and the file:line where it was raised.
#pragma once

#include <sstream>
#include <stdexcept>
#include <string>

namespace vlm {

enum class ErrorCode {
  NotFound,      // a file, tensor or key that must exist does not
  InvalidModel,  // a checkpoint/config/tokenizer that breaks a rule
  InvalidInput,  // caller-provided data (images, prompts, options) that cannot be used
  Unsupported,   // valid, but not implemented by this build or backend
  OutOfMemory,
  Device,        // accelerator failures (CUDA, cuBLAS, cuDNN)
  Io,            // read/write/mmap failures
  Cancelled,     // a CancelToken fired
  Internal,      // a broken invariant inside libvlm
};

const char* error_code_name(ErrorCode code);

class Error : public std::runtime_error {
 public:
  Error(ErrorCode code, const std::string& message, const char* file = nullptr, int line = 0);
  ErrorCode code() const { return code_; }
  // The message without the "[Code] " prefix and location suffix.
  const std::string& message() const { return message_; }

 private:
  ErrorCode code_;
  std::string message_;
};

}  // namespace vlm

// VLM_THROW(ErrorCode::X, "text " << value) — stream-formatted message.
#define VLM_THROW(code_, msg_)                                              \
  do {                                                                      \
    std::ostringstream vlm_os_;                                             \
    vlm_os_ << msg_;                                                        \
    throw ::vlm::Error(::vlm::ErrorCode::code_, vlm_os_.str(), __FILE__, __LINE__); \
  } while (0)

// VLM_CHECK(cond, Code, "message " << detail) — throws when cond is false.
#define VLM_CHECK(cond_, code_, msg_)   \
  do {                                  \
    if (!(cond_)) VLM_THROW(code_, msg_); \
  } while (0)
