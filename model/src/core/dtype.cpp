// Scalar type table and f16/bf16 conversions (see dtype.h).
#include "vlm/dtype.h"

#include <cmath>

#include "vlm/error.h"

namespace vlm {

size_t dtype_size(DType dtype) {
  switch (dtype) {
    case DType::F32: return 4;
    case DType::F16: return 2;
    case DType::BF16: return 2;
    case DType::I32: return 4;
    case DType::I64: return 8;
    case DType::U8: return 1;
  }
  return 0;
}

const char* dtype_name(DType dtype) {
  switch (dtype) {
    case DType::F32: return "F32";
    case DType::F16: return "F16";
    case DType::BF16: return "BF16";
    case DType::I32: return "I32";
    case DType::I64: return "I64";
    case DType::U8: return "U8";
  }
  return "?";
}

bool dtype_from_safetensors(std::string_view name, DType* out) {
  struct Entry { const char* name; DType dtype; };
  static const Entry kEntries[] = {{"F32", DType::F32}, {"F16", DType::F16}, {"BF16", DType::BF16},
                                   {"I32", DType::I32}, {"I64", DType::I64}, {"U8", DType::U8}};
  for (const Entry& entry : kEntries) {
    if (name == entry.name) {
      *out = entry.dtype;
      return true;
    }
  }
  return false;
}

float f16_to_f32(uint16_t bits) {
  uint32_t sign = static_cast<uint32_t>(bits & 0x8000u) << 16;
  uint32_t exponent = (bits >> 10) & 0x1fu;
  uint32_t mantissa = bits & 0x3ffu;
  uint32_t word;
  if (exponent == 0) {
    if (mantissa == 0) {
      word = sign;
    } else {  // subnormal: renormalise
      float value = std::ldexp(static_cast<float>(mantissa), -24);
      std::memcpy(&word, &value, sizeof word);
      word |= sign;
    }
  } else if (exponent == 31) {
    word = sign | 0x7f800000u | (mantissa << 13);
  } else {
    word = sign | ((exponent + 112) << 23) | (mantissa << 13);
  }
  float value;
  std::memcpy(&value, &word, sizeof value);
  return value;
}

uint16_t f32_to_f16(float value) {
  uint32_t word;
  std::memcpy(&word, &value, sizeof word);
  uint16_t sign = static_cast<uint16_t>((word >> 16) & 0x8000u);
  uint32_t abs = word & 0x7fffffffu;
  if (abs >= 0x7f800000u) return sign | (abs > 0x7f800000u ? 0x7e00u : 0x7c00u);
  if (abs >= 0x477ff000u) return sign | 0x7c00u;  // rounds to infinity
  if (abs < 0x38800000u) {                        // subnormal or zero in f16
    float magnitude;
    std::memcpy(&magnitude, &abs, sizeof magnitude);
    float scaled = std::nearbyint(magnitude * 16777216.0f);  // 2^24, round half even
    return sign | static_cast<uint16_t>(scaled);
  }
  uint32_t rounding = 0xfffu + ((abs >> 13) & 1u);
  abs += rounding;
  return sign | static_cast<uint16_t>(((abs >> 13) - (112u << 10)) & 0x7fffu);
}

void convert_to_f32(const void* src, DType dtype, float* dst, size_t n) {
  switch (dtype) {
    case DType::F32:
      std::memcpy(dst, src, n * sizeof(float));
      return;
    case DType::BF16: {
      const uint16_t* in = static_cast<const uint16_t*>(src);
      for (size_t i = 0; i < n; ++i) dst[i] = bf16_to_f32(in[i]);
      return;
    }
    case DType::F16: {
      const uint16_t* in = static_cast<const uint16_t*>(src);
      for (size_t i = 0; i < n; ++i) dst[i] = f16_to_f32(in[i]);
      return;
    }
    default:
      VLM_THROW(Unsupported, "cannot convert " << dtype_name(dtype) << " to F32");
  }
}

void convert_from_f32(const float* src, DType dtype, void* dst, size_t n) {
  switch (dtype) {
    case DType::F32:
      std::memcpy(dst, src, n * sizeof(float));
      return;
    case DType::BF16: {
      uint16_t* out = static_cast<uint16_t*>(dst);
      for (size_t i = 0; i < n; ++i) out[i] = f32_to_bf16(src[i]);
      return;
    }
    case DType::F16: {
      uint16_t* out = static_cast<uint16_t*>(dst);
      for (size_t i = 0; i < n; ++i) out[i] = f32_to_f16(src[i]);
      return;
    }
    default:
      VLM_THROW(Unsupported, "cannot convert F32 to " << dtype_name(dtype));
  }
}

}  // namespace vlm
