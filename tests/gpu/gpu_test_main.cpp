// main() of the GPU test programs: exits 77 (meson's SKIP) when there is no usable CUDA device,
// so CI machines without a GPU stay green; otherwise runs every test.
#include <gtest/gtest.h>

#include <cstdio>

#include "backend_cuda.h"

int main(int argc, char** argv) {
  const int devices = vlm::cuda::cuda_device_count();
  if (devices == 0) {
    std::printf("no usable CUDA device (no driver or no GPU): skipping the GPU tests\n");
    return 77;
  }
  ::testing::InitGoogleTest(&argc, argv);
  return RUN_ALL_TESTS();
}
