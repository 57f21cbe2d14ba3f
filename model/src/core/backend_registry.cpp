// Device-name -> backend factory registry (backend.h). libvlm knows only the CPU backend; other
// libraries (cuda/: libvlm-cuda) register a factory for their prefix, from a static initializer or
// an explicit call, so that libvlm never depends on CUDA headers or libraries. The table lives in a
// function-local static so registrations from other translation units' static initializers are
// safe whatever the initialisation order.
#include <map>
#include <mutex>

#include "vlm/backend.h"
#include "vlm/error.h"

namespace vlm {

namespace {

struct Registry {
  std::mutex mutex;
  std::map<std::string, BackendFactory> factories;
};

Registry& registry() {
  static Registry instance;
  return instance;
}

// "cuda:1" -> "cuda"; "cpu" -> "cpu".
std::string device_prefix(const std::string& device) {
  size_t colon = device.find(':');
  return colon == std::string::npos ? device : device.substr(0, colon);
}

}  // namespace

void register_backend_factory(std::string prefix, BackendFactory factory) {
  VLM_CHECK(!prefix.empty() && prefix.find(':') == std::string::npos && prefix != "cpu",
            InvalidInput, "register_backend_factory: prefix '" << prefix
                              << "' must be non-empty, without ':' and not 'cpu'");
  VLM_CHECK(static_cast<bool>(factory), InvalidInput,
            "register_backend_factory: empty factory for '" << prefix << "'");
  Registry& r = registry();
  std::lock_guard<std::mutex> lock(r.mutex);
  r.factories[std::move(prefix)] = std::move(factory);
}

bool backend_registered(const std::string& device) {
  if (device == "cpu") return true;
  Registry& r = registry();
  std::lock_guard<std::mutex> lock(r.mutex);
  return r.factories.count(device_prefix(device)) != 0;
}

std::unique_ptr<Backend> make_backend(const std::string& device, int n_threads) {
  if (device == "cpu") return make_cpu_backend(n_threads);
  const std::string prefix = device_prefix(device);
  BackendFactory factory;
  {
    Registry& r = registry();
    std::lock_guard<std::mutex> lock(r.mutex);
    auto it = r.factories.find(prefix);
    if (it != r.factories.end()) factory = it->second;
  }
  if (factory) return factory(device);
  if (prefix == "cuda") {
    VLM_THROW(Unsupported, "device '" << device << "': CUDA backend not built (this program was "
                                      << "built or linked without libvlm-cuda)");
  }
  VLM_THROW(InvalidInput, "device '" << device << "' is not one of cpu, cuda, cuda:N");
}

}  // namespace vlm
