// libFuzzer target for the safetensors header parser: any byte string must either validate or be
// refused with vlm::Error — never crash, hang, overflow or read outside the buffer (run under
// AddressSanitizer). Accepted inputs are exercised further: every tensor view must lie inside the
// buffer and its byte count must match its shape and dtype.
#include <cstddef>
#include <cstdint>
#include <cstdlib>

#include "vlm/error.h"
#include "vlm/safetensors.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  try {
    auto file = vlm::SafetensorsFile::from_memory(data, size, "fuzz-input");
    for (const vlm::TensorInfo& info : file->tensors()) {
      vlm::Tensor view = file->tensor(info.name);
      const uint8_t* begin = static_cast<const uint8_t*>(view.data());
      if (begin < data || begin + view.nbytes() > data + size) std::abort();
      if (view.nbytes() != info.data_end - info.data_begin) std::abort();
      // Touch the first and last byte so ASan checks the range really is inside the input.
      if (view.nbytes() > 0) {
        volatile uint8_t first = begin[0];
        volatile uint8_t last = begin[view.nbytes() - 1];
        (void)first;
        (void)last;
      }
    }
  } catch (const vlm::Error&) {
    // Refused input: the expected outcome for almost every mutation.
  }
  return 0;
}
