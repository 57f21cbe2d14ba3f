// Element types of tensors and the exact scalar conversions between them.
// bf16/f16 <-> f32 round to nearest even, like PyTorch's .to(), so bf16 parity tests can reproduce
// the reference's quantisation bit for bit.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string_view>

namespace vlm {

enum class DType : uint8_t { F32, F16, BF16, I32, I64, U8 };

size_t dtype_size(DType dtype);
const char* dtype_name(DType dtype);
// Parses safetensors dtype names ("F32", "BF16", ...); returns false for unknown names.
bool dtype_from_safetensors(std::string_view name, DType* out);

inline float bf16_to_f32(uint16_t bits) {
  uint32_t word = static_cast<uint32_t>(bits) << 16;
  float value;
  std::memcpy(&value, &word, sizeof value);
  return value;
}

inline uint16_t f32_to_bf16(float value) {
  uint32_t word;
  std::memcpy(&word, &value, sizeof word);
  if ((word & 0x7f800000u) == 0x7f800000u && (word & 0x007fffffu) != 0) {
    return static_cast<uint16_t>((word >> 16) | 0x0040u);  // quiet NaN, keep sign
  }
  uint32_t rounding_bias = 0x7fffu + ((word >> 16) & 1u);
  return static_cast<uint16_t>((word + rounding_bias) >> 16);
}

float f16_to_f32(uint16_t bits);
uint16_t f32_to_f16(float value);

// Converts n elements of src (dtype) to float32.
void convert_to_f32(const void* src, DType dtype, float* dst, size_t n);
// Converts n float32 values to dtype (F32, F16 or BF16).
void convert_from_f32(const float* src, DType dtype, void* dst, size_t n);

}  // namespace vlm
