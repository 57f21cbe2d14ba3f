// Row-wise and elementwise ops of the CPU backend: rmsnorm, rope (rotate-half with per-row
// cos/sin tables, which covers the vision 2D RoPE and the decoder's MRoPE alike: the model code
// builds the tables), silu_mul, exact gelu and add. All in f32, split into row/element ranges over
// the backend's pool; each op is written so its output may alias the inputs backend.h allows.
#include <cmath>
#include <vector>

#include "backend_cpu/backend_cpu.h"
#include "backend_cpu/cpu_simd.h"

namespace vlm {

void CpuBackend::rmsnorm(const Tensor& x, const Tensor& weight, float eps, Tensor& y) {
  check_elementwise_args(kCpuDTypes, "rmsnorm", {{x, "x"}, {y, "y"}});
  const int64_t rows = x.rows(), dim = x.cols();
  check_norm_weight(weight, dim, kCpuDTypes, "rmsnorm");
  std::vector<float> gain(static_cast<size_t>(dim));
  cpu::convert_to_f32_fast(weight.data(), weight.dtype(), gain.data(), dim);
  const float* in = x.data_as<const float>();
  float* out = y.data_as<float>();
  parallel_ranges(rows, 4, [&](int64_t begin, int64_t end, int) {
    for (int64_t r = begin; r < end; ++r) {
      const float* xr = in + r * dim;
      float* yr = out + r * dim;
      double sum_squares = 0.0;
      for (int64_t i = 0; i < dim; ++i) sum_squares += static_cast<double>(xr[i]) * xr[i];
      const float inv_rms =
          static_cast<float>(1.0 / std::sqrt(sum_squares / static_cast<double>(dim) + eps));
      for (int64_t i = 0; i < dim; ++i) yr[i] = (xr[i] * inv_rms) * gain[static_cast<size_t>(i)];
    }
  });
}

void CpuBackend::rope(Tensor& x, const Tensor& cos, const Tensor& sin) {
  const RopeShape shape = check_rope_args(x, cos, sin, kCpuDTypes);
  const int64_t rows = shape.rows, heads = shape.heads, head_dim = shape.head_dim;
  if (rows == 0) return;
  const int64_t half = head_dim / 2;
  float* data = x.data_as<float>();
  const float* cos_table = cos.data_as<const float>();
  const float* sin_table = sin.data_as<const float>();
  parallel_ranges(rows, 4, [&](int64_t begin, int64_t end, int) {
    for (int64_t r = begin; r < end; ++r) {
      const float* c = cos_table + r * head_dim;
      const float* s = sin_table + r * head_dim;
      for (int64_t h = 0; h < heads; ++h) {
        float* v = data + (r * heads + h) * head_dim;
        for (int64_t p = 0; p < half; ++p) {
          const float lo = v[p], hi = v[p + half];
          v[p] = lo * c[p] - hi * s[p];
          v[p + half] = hi * c[p + half] + lo * s[p + half];
        }
      }
    }
  });
}

void CpuBackend::silu_mul(const Tensor& gate, const Tensor& up, Tensor& y) {
  check_elementwise_args(kCpuDTypes, "silu_mul", {{gate, "gate"}, {up, "up"}, {y, "y"}});
  const float* g = gate.data_as<const float>();
  const float* u = up.data_as<const float>();
  float* out = y.data_as<float>();
  parallel_ranges(gate.numel(), 4096, [&](int64_t begin, int64_t end, int) {
    for (int64_t i = begin; i < end; ++i) out[i] = g[i] / (1.0f + std::exp(-g[i])) * u[i];
  });
}

void CpuBackend::gelu(const Tensor& x, Tensor& y) {
  check_elementwise_args(kCpuDTypes, "gelu", {{x, "x"}, {y, "y"}});
  const float* in = x.data_as<const float>();
  float* out = y.data_as<float>();
  const float inv_sqrt2 = 0.70710678118654752440f;
  parallel_ranges(x.numel(), 4096, [&](int64_t begin, int64_t end, int) {
    for (int64_t i = begin; i < end; ++i) out[i] = 0.5f * in[i] * (1.0f + std::erf(in[i] * inv_sqrt2));
  });
}

void CpuBackend::add(const Tensor& a, const Tensor& b, Tensor& y) {
  check_elementwise_args(kCpuDTypes, "add", {{a, "a"}, {b, "b"}, {y, "y"}});
  const float* pa = a.data_as<const float>();
  const float* pb = b.data_as<const float>();
  float* out = y.data_as<float>();
  parallel_ranges(a.numel(), 8192, [&](int64_t begin, int64_t end, int) {
    for (int64_t i = begin; i < end; ++i) out[i] = pa[i] + pb[i];
  });
}

}  // namespace vlm
