// The device-name registry with libvlm-cuda linked (runs on every machine, GPU or not): linking
// the library registers "cuda" through its static initializer; device names are validated before
// any CUDA call; without a usable GPU, "cuda" fails with a Device error that says so, and with
// one, an index past the last device fails with InvalidInput naming the device count; an Engine
// asked for cuda without a GPU stops with that Device error (callers such as the element fall back).
#include <gtest/gtest.h>

#include <string>

#include <cstdlib>
#include <filesystem>

#include "backend_cuda.h"
#include "vlm/backend.h"
#include "vlm/engine.h"
#include "vlm/error.h"

namespace vlm {
namespace {

ErrorCode code_of(const std::string& device, std::string* message = nullptr) {
  try {
    make_backend(device, 1);
  } catch (const Error& e) {
    if (message != nullptr) *message = e.what();
    return e.code();
  }
  ADD_FAILURE() << "device '" << device << "' opened";
  return ErrorCode::Internal;
}

TEST(CudaRegistry, LinkingRegistersCuda) {
  EXPECT_TRUE(backend_registered("cuda"));
  EXPECT_TRUE(backend_registered("cuda:1"));
  EXPECT_TRUE(backend_registered("cpu"));
  EXPECT_FALSE(backend_registered("tpu"));
  cuda::register_cuda_backend();  // explicit registration again is harmless
  EXPECT_TRUE(backend_registered("cuda"));
}

TEST(CudaRegistry, CpuStillComesFromLibvlm) {
  auto cpu = make_backend("cpu", 1);
  EXPECT_EQ(cpu->name().rfind("cpu", 0), 0u) << cpu->name();
  EXPECT_EQ(cpu->activation_dtype(), DType::F32);
}

TEST(CudaRegistry, MalformedDeviceNamesAreInvalidInput) {
  for (const char* device : {"cuda:", "cuda:x", "cuda:-1", "cuda:1x", "tpu", "cuda0"}) {
    EXPECT_EQ(code_of(device), ErrorCode::InvalidInput) << device;
  }
}

TEST(CudaRegistry, CudaWithoutGpuOrWithBadIndexFailsClearly) {
  const int devices = cuda::cuda_device_count();
  std::string message;
  if (devices == 0) {
    EXPECT_EQ(code_of("cuda", &message), ErrorCode::Device);
    EXPECT_TRUE(message.find("not usable") != std::string::npos ||
                message.find("no CUDA device") != std::string::npos)
        << message;
  } else {
    EXPECT_EQ(code_of("cuda:" + std::to_string(devices), &message), ErrorCode::InvalidInput);
    EXPECT_NE(message.find("does not exist"), std::string::npos) << message;
  }
}

TEST(CudaRegistry, EngineOnCudaWithoutGpuStopsWithDeviceError) {
  if (cuda::cuda_device_count() > 0) GTEST_SKIP() << "a GPU is present (tests/gpu/test_gpu_engine covers it)";
  const char* fixtures = std::getenv("VLM_FIXTURES");
  ASSERT_NE(fixtures, nullptr) << "VLM_FIXTURES is not set";
  EngineOptions options;
  options.device = "cuda:0";
  try {
    Engine::load(std::filesystem::path(fixtures) / "models" / "tiny-a", options);
    ADD_FAILURE() << "an engine opened on cuda without a GPU";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::Device) << e.what();
  }
}

TEST(CudaRegistry, RegistrationValidatesPrefixAndPassesTheWholeName) {
  EXPECT_THROW(register_backend_factory("", [](const std::string&) { return make_cpu_backend(1); }),
               Error);
  EXPECT_THROW(register_backend_factory("cpu", [](const std::string&) { return make_cpu_backend(1); }),
               Error);
  EXPECT_THROW(register_backend_factory("a:b", [](const std::string&) { return make_cpu_backend(1); }),
               Error);
  std::string seen;
  register_backend_factory("fake", [&seen](const std::string& device) {
    seen = device;
    return make_cpu_backend(1);
  });
  EXPECT_NE(make_backend("fake:3"), nullptr);
  EXPECT_EQ(seen, "fake:3");
}

}  // namespace
}  // namespace vlm
