// The streaming safetensors writer (multi-GB benchmark checkpoints): data produced chunk by chunk
// must read back exactly, across the writer's 8 MiB chunk boundary, with offsets from the fill
// callback that add up; bad specs are refused like SafetensorsWriter refuses them.
#include <gtest/gtest.h>

#include <cstring>

#include "io_test_util.h"
#include "vlm/safetensors.h"

namespace vlm {
namespace {

TEST(SafetensorsStreamWriter, ChunkedDataReadsBackExactly) {
  test::TempDir dir;
  // 3 Mi floats = 12 MiB: crosses one 8 MiB chunk boundary.
  const int64_t kBig = 3 * 1024 * 1024;
  std::vector<TensorSpec> specs = {{"small", DType::BF16, {3, 5}}, {"big", DType::F32, {kBig}}};
  std::vector<std::pair<size_t, uint64_t>> calls;
  write_safetensors_streaming(
      dir / "s.safetensors", specs,
      [&](const TensorSpec& spec, size_t index, uint64_t offset, uint8_t* dst, size_t n) {
        calls.emplace_back(index, offset);
        size_t elem = dtype_size(spec.dtype);
        for (size_t i = 0; i < n / elem; ++i) {
          uint64_t k = offset / elem + i;
          if (spec.dtype == DType::F32) {
            float v = static_cast<float>(k % 1000) * 0.5f;
            std::memcpy(dst + i * 4, &v, 4);
          } else {
            uint16_t v = f32_to_bf16(static_cast<float>(k));
            std::memcpy(dst + i * 2, &v, 2);
          }
        }
      },
      {{"format", "pt"}});
  auto file = SafetensorsFile::open(dir / "s.safetensors");
  EXPECT_EQ(file->metadata().at("format"), "pt");
  Tensor small = file->tensor("small");
  EXPECT_EQ(small.shape(), (std::vector<int64_t>{3, 5}));
  for (int i = 0; i < 15; ++i) EXPECT_EQ(bf16_to_f32(small.data_as<uint16_t>()[i]), static_cast<float>(i));
  Tensor big = file->tensor("big");
  const float* values = big.data_as<float>();
  for (int64_t k : {int64_t{0}, int64_t{999}, int64_t{2 * 1024 * 1024 - 1}, int64_t{2 * 1024 * 1024},
                    kBig - 1}) {
    EXPECT_EQ(values[k], static_cast<float>(k % 1000) * 0.5f) << k;
  }
  // small in one call, big in two (8 MiB then 4 MiB).
  ASSERT_EQ(calls.size(), 3u);
  EXPECT_EQ(calls[1], (std::pair<size_t, uint64_t>{1, 0}));
  EXPECT_EQ(calls[2], (std::pair<size_t, uint64_t>{1, 8u << 20}));
}

TEST(SafetensorsStreamWriter, RefusesDuplicateNamesAndNegativeDims) {
  test::TempDir dir;
  auto fill = [](const TensorSpec&, size_t, uint64_t, uint8_t* dst, size_t n) { std::memset(dst, 0, n); };
  test::expect_error(
      [&] { write_safetensors_streaming(dir / "d.safetensors", {{"a", DType::U8, {1}}, {"a", DType::U8, {1}}}, fill); },
      ErrorCode::InvalidInput, {"'a'", "twice"});
  test::expect_error(
      [&] { write_safetensors_streaming(dir / "n.safetensors", {{"b", DType::U8, {-1}}}, fill); },
      ErrorCode::InvalidInput, {"'b'", "negative"});
}

}  // namespace
}  // namespace vlm
