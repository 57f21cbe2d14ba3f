// Test helper: the CPU backend with upload_weights_concat doing what the CUDA backend's does (one
// weight holding the parts' rows in order), so that the decoder and the vision encoder take their
// joined-projection paths (as on CUDA) on the CPU reference; the joined ops themselves are the
// base class's defaults, counted here so a test can tell the path was taken.
#pragma once

#include <cstring>
#include <span>

#include "backend_cpu/backend_cpu.h"
#include "vlm/backend_checks.h"

namespace vlm::test {

class JoiningCpuBackend : public CpuBackend {
 public:
  JoiningCpuBackend() : CpuBackend(2) {}
  Tensor upload_weights_concat(std::span<const Tensor> hosts) override {
    const int64_t rows = check_concat_weights_args(hosts);
    Tensor joined = alloc(hosts[0].dtype(), {rows, hosts[0].cols()});
    auto* at = joined.data_as<char>();
    for (const Tensor& host : hosts) {
      std::memcpy(at, host.data(), host.nbytes());
      at += host.nbytes();
    }
    ++concats;
    return joined;
  }
  void rope_append(const Tensor& qkv, const Tensor& cos, const Tensor& sin, Tensor& q,
                   Tensor& k_cache, Tensor& v_cache, int64_t n_past) override {
    ++rope_appends;
    Backend::rope_append(qkv, cos, sin, q, k_cache, v_cache, n_past);
  }
  void silu_mul_joined(const Tensor& gate_up, Tensor& y) override {
    ++silu_mul_joins;
    Backend::silu_mul_joined(gate_up, y);
  }
  void rope_attention_varlen_joined(const Tensor& qkv, const Tensor& cos, const Tensor& sin,
                                    std::span<const int32_t> cu_seqlens, float scale,
                                    Tensor& out) override {
    ++varlen_joins;
    Backend::rope_attention_varlen_joined(qkv, cos, sin, cu_seqlens, scale, out);
  }
  int concats = 0, rope_appends = 0, silu_mul_joins = 0, varlen_joins = 0;
};

}  // namespace vlm::test
