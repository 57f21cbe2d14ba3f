// The default fused ops (vlm/backend.h: the one-row rmsnorm_matmul, matmul_add,
// silu_mul_matmul_add, and rope_attention_varlen): the op sequences they stand for, one op after
// another, with their intermediates allocated in the activation dtype. A backend that fuses them
// (CUDA: one GEMV kernel each; the rope inside the tensor-core attention) must give the same
// values; the CPU keeps these, so its recorded decode step stays bit-identical to the eager path.
#include "vlm/backend.h"
#include "vlm/error.h"

namespace vlm {

namespace {

void check_one_matrix(const Tensor& w, const char* op) {
  VLM_CHECK(w.rank() == 2, InvalidInput, op << ": w " << w.describe() << " must be [N, K]");
}

}  // namespace

void Backend::rmsnorm_matmul(const Tensor& x, const Tensor& norm_weight, float eps, const Tensor& w,
                             const Tensor& bias, Tensor& y) {
  check_one_matrix(w, "rmsnorm_matmul");
  Tensor normed = alloc(activation_dtype(), {x.rows(), x.cols()});
  rmsnorm(x, norm_weight, eps, normed);
  matmul(normed, w, bias, y);
}

void Backend::matmul_add(const Tensor& x, const Tensor& w, Tensor& residual) {
  check_one_matrix(w, "matmul_add");
  Tensor product = alloc(activation_dtype(), {x.rows(), w.rows()});
  matmul(x, w, Tensor(), product);
  add(residual, product, residual);
}

void Backend::silu_mul_matmul_add(const Tensor& gate_up, const Tensor& w, Tensor& residual) {
  check_one_matrix(w, "silu_mul_matmul_add");
  VLM_CHECK(gate_up.rank() == 2 && gate_up.rows() == 1 && gate_up.cols() % 2 == 0, InvalidInput,
            "silu_mul_matmul_add: gate_up " << gate_up.describe() << " must be [1, 2K]");
  const int64_t half = gate_up.cols() / 2;
  const Tensor halves = gate_up.reshape({2, half});
  Tensor act = alloc(activation_dtype(), {1, half});
  silu_mul(halves.slice_rows(0, 1), halves.slice_rows(1, 1), act);
  Tensor product = alloc(activation_dtype(), {1, w.rows()});
  matmul(act, w, Tensor(), product);
  add(residual, product, residual);
}

void Backend::rope_attention_varlen(Tensor& q, Tensor& k, const Tensor& v, const Tensor& cos,
                                    const Tensor& sin, std::span<const int32_t> cu_seqlens,
                                    float scale, Tensor& out) {
  rope(q, cos, sin);
  rope(k, cos, sin);
  attention_varlen(q, k, v, cu_seqlens, scale, out);
}

}  // namespace vlm
