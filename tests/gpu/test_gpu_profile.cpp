// VLM_CUDA_PROFILE=FILE (cuda/op_profile.h): when the backend is destroyed, FILE gets one row per
// op label with its call count, matmuls labelled with their shape; a synchronising call hands the
// time that follows to the host; ops recorded into a graph are not rows of their own, the
// replays are.
#include <gtest/gtest.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include <unistd.h>

#include "parity.h"

namespace vlm::gpu_test {
namespace {

namespace fs = std::filesystem;

std::string read_file(const fs::path& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

// The call count of the row whose label is `label` (followed by spaces), or -1.
long calls_of(const std::string& table, const std::string& label) {
  std::istringstream lines(table);
  std::string line;
  while (std::getline(lines, line)) {
    if (line.rfind(label + "  ", 0) != 0) continue;
    return std::stol(line.substr(label.size()));
  }
  return -1;
}

TEST(GpuProfile, EachOpIsARowWithItsCallsAndRecordedOpsCountAsReplays) {
  const fs::path file = fs::temp_directory_path() / ("vlm_profile_" + std::to_string(::getpid()) + ".txt");
  fs::remove(file);
  ASSERT_EQ(setenv("VLM_CUDA_PROFILE", file.c_str(), 1), 0);
  {
    Backends b;
    unsetenv("VLM_CUDA_PROFILE");
    const auto xv = random_bf16(3 * 8, 1), wv = random_bf16(5 * 8, 2, -0.1f, 0.1f);
    const Tensor x = b.gpu_act(xv, {3, 8});
    const Tensor w = b.gpu->upload_weight(host_bf16(wv, {5, 8}));
    Tensor y = b.gpu->alloc(DType::BF16, {3, 5});
    for (int i = 0; i < 3; ++i) b.gpu->matmul(x, w, Tensor(), y);
    Tensor sum = b.gpu->alloc(DType::BF16, {3, 5});
    b.gpu->add(y, y, sum);
    (void)b.gpu->to_host_f32(sum);
    Tensor z = b.gpu_act(random_bf16(4, 3), {4});
    auto recorded = b.gpu->record([&] { b.gpu->gelu(z, z); });
    recorded->replay();
    recorded->replay();
    b.gpu->synchronize();
  }
  const std::string table = read_file(file);
  fs::remove(file);
  ASSERT_FALSE(table.empty()) << "no profile written to " << file;
  std::printf("%s", table.c_str());
  EXPECT_EQ(calls_of(table, "matmul 3x5x8"), 3) << table;
  EXPECT_EQ(calls_of(table, "add"), 1) << table;
  EXPECT_EQ(calls_of(table, "to_host_f32"), 1) << table;
  EXPECT_EQ(calls_of(table, "recorded steps (graph replay)"), 2) << table;
  EXPECT_EQ(calls_of(table, "gelu"), -1) << "an op inside a recording got a row of its own\n" << table;
  EXPECT_GE(calls_of(table, "(host; the GPU idle)"), 2) << table;
  EXPECT_NE(table.find("profiled GPU time"), std::string::npos) << table;
}

}  // namespace
}  // namespace vlm::gpu_test
