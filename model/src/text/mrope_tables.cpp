// MRoPE cos/sin tables; see mrope_tables.h. Float32 throughout, matching HF's fp32 rotary path:
// inv_freq from a float32 exponent, angles as a single float32 product, accurate cosf/sinf
// (positions reach 1e4–1e5 rad, so fast approximations are not acceptable).
#include "text/mrope_tables.h"

#include <cmath>

#include "vlm/error.h"

namespace vlm {

std::vector<float> rope_inverse_frequencies(int head_dim, double theta) {
  VLM_CHECK(head_dim > 0 && head_dim % 2 == 0, InvalidModel,
            "rope: head_dim " << head_dim << " must be positive and even");
  std::vector<float> inv(static_cast<size_t>(head_dim / 2));
  for (int j = 0; j < head_dim / 2; ++j) {
    const float exponent = static_cast<float>(2 * j) / static_cast<float>(head_dim);
    const float power = static_cast<float>(std::pow(theta, static_cast<double>(exponent)));
    inv[static_cast<size_t>(j)] = 1.0f / power;
  }
  return inv;
}

RopeTables mrope_tables(std::span<const int64_t> pos_t, std::span<const int64_t> pos_h,
                        std::span<const int64_t> pos_w, std::span<const float> inv_freq,
                        const std::array<int, 3>& mrope_section) {
  const size_t half = inv_freq.size();
  VLM_CHECK(static_cast<size_t>(mrope_section[0] + mrope_section[1] + mrope_section[2]) == half,
            InvalidModel,
            "rope: mrope_section [" << mrope_section[0] << ", " << mrope_section[1] << ", "
                                    << mrope_section[2] << "] does not sum to head_dim/2 = " << half);
  VLM_CHECK(pos_h.size() == pos_t.size() && pos_w.size() == pos_t.size(), Internal,
            "rope: position axes have different lengths");
  const size_t n = pos_t.size();
  const size_t head_dim = 2 * half;
  // Which axis feeds frequency j.
  std::vector<int> axis(half);
  for (size_t j = 0; j < half; ++j) {
    const int jj = static_cast<int>(j);
    axis[j] = jj < mrope_section[0] ? 0 : (jj < mrope_section[0] + mrope_section[1] ? 1 : 2);
  }
  RopeTables tables;
  tables.cos.resize(n * head_dim);
  tables.sin.resize(n * head_dim);
  for (size_t i = 0; i < n; ++i) {
    const float pos[3] = {static_cast<float>(pos_t[i]), static_cast<float>(pos_h[i]),
                          static_cast<float>(pos_w[i])};
    float* c = tables.cos.data() + i * head_dim;
    float* s = tables.sin.data() + i * head_dim;
    for (size_t j = 0; j < half; ++j) {
      const float angle = pos[axis[j]] * inv_freq[j];
      c[j] = c[j + half] = std::cos(angle);
      s[j] = s[j + half] = std::sin(angle);
    }
  }
  return tables;
}

}  // namespace vlm
