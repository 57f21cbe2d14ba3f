// Core types: error formatting, dtype conversions (round to nearest even like PyTorch), tensor views.
#include <gtest/gtest.h>

#include <cmath>
#include <limits>

#include "vlm/dtype.h"
#include "vlm/error.h"
#include "vlm/log.h"
#include "vlm/tensor.h"

namespace {

TEST(Error, CarriesCodeMessageAndLocation) {
  try {
    VLM_THROW(InvalidModel, "tensor " << "x" << " has shape " << 3);
    FAIL() << "no throw";
  } catch (const vlm::Error& e) {
    EXPECT_EQ(e.code(), vlm::ErrorCode::InvalidModel);
    EXPECT_EQ(e.message(), "tensor x has shape 3");
    std::string what = e.what();
    EXPECT_NE(what.find("[InvalidModel]"), std::string::npos);
    EXPECT_NE(what.find("test_core.cpp:"), std::string::npos);
  }
}

TEST(Error, CheckPassesWhenTrue) { EXPECT_NO_THROW(VLM_CHECK(1 + 1 == 2, Internal, "math")); }

TEST(DType, Bf16RoundsToNearestEven) {
  EXPECT_EQ(vlm::f32_to_bf16(1.0f), 0x3f80);
  // 1 + 2^-8 is exactly halfway between bf16 1.0 and 1.0078125: ties to even (1.0).
  EXPECT_EQ(vlm::f32_to_bf16(1.0f + 1.0f / 256.0f), 0x3f80);
  // 1 + 3·2^-8 is halfway between 1.0078125 (odd) and 1.015625 (even): rounds up.
  EXPECT_EQ(vlm::f32_to_bf16(1.0f + 3.0f / 256.0f), 0x3f82);
  EXPECT_EQ(vlm::bf16_to_f32(0xc000), -2.0f);
  EXPECT_TRUE(std::isnan(vlm::bf16_to_f32(vlm::f32_to_bf16(std::numeric_limits<float>::quiet_NaN()))));
}

TEST(DType, F16RoundTripsAndRounds) {
  for (float v : {0.0f, 1.0f, -2.5f, 65504.0f, 6.103515625e-05f, 5.960464477539063e-08f}) {
    EXPECT_EQ(vlm::f16_to_f32(vlm::f32_to_f16(v)), v) << v;
  }
  EXPECT_EQ(vlm::f32_to_f16(1.0f), 0x3c00);
  EXPECT_EQ(vlm::f32_to_f16(1.0f + 1.0f / 2048.0f), 0x3c00);  // tie to even
  EXPECT_EQ(vlm::f32_to_f16(1e6f), 0x7c00);                   // overflow to infinity
}

TEST(DType, ParsesSafetensorsNames) {
  vlm::DType d;
  EXPECT_TRUE(vlm::dtype_from_safetensors("BF16", &d));
  EXPECT_EQ(d, vlm::DType::BF16);
  EXPECT_FALSE(vlm::dtype_from_safetensors("F8_E4M3", &d));
}

TEST(Tensor, SliceRowsSharesMemory) {
  std::vector<float> data(12);
  for (int i = 0; i < 12; ++i) data[i] = static_cast<float>(i);
  vlm::Tensor t(data.data(), vlm::DType::F32, {4, 3});
  vlm::Tensor s = t.slice_rows(1, 2);
  EXPECT_EQ(s.shape(), (std::vector<int64_t>{2, 3}));
  EXPECT_EQ(s.data_as<float>()[0], 3.0f);
  EXPECT_THROW(t.slice_rows(3, 2), vlm::Error);
  EXPECT_THROW(t.reshape({5, 2}), vlm::Error);
  EXPECT_EQ(t.reshape({2, 2, 3}).rows(), 4);
}

TEST(CancelToken, ThrowsCancelledOnceCancelled) {
  vlm::CancelToken token;
  EXPECT_NO_THROW(token.throw_if_cancelled());
  token.cancel();
  try {
    token.throw_if_cancelled();
    FAIL();
  } catch (const vlm::Error& e) {
    EXPECT_EQ(e.code(), vlm::ErrorCode::Cancelled);
  }
}

}  // namespace
