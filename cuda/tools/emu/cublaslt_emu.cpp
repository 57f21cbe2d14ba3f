// CPU implementation of the fake cuBLASLt (cublasLt.h): descriptors are plain structs, the
// heuristic validates the problem the way cuBLASLt documents it (dimensions of op(A)·op(B) vs D,
// ld >= the stored dimension, supported type combinations, bias type) and returns up to three
// algorithms (kCandidates) that record the minimum alignments and workspace they assume;
// cublasLtMatmul re-checks the shapes, that every operand's full extent (from rows, cols, ld,
// order) lies inside one device allocation, the alignments and the workspace, then computes
// D = alpha·op(A)·op(B) + beta·C (+ bias[row]) with f32 accumulation and round-to-nearest-even
// output. Problems are reported as "emu: cublasLt..." on stderr plus the status cuBLASLt returns.
#include "cublasLt.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdarg>
#include <cstdio>
#include <cstring>
#include <vector>

struct cublasLtContext {
  int magic = 0x1717;
};
struct cublasLtMatmulDescOpaque_t {
  cublasComputeType_t compute;
  cudaDataType_t scale;
  int32_t trans_a = CUBLAS_OP_N, trans_b = CUBLAS_OP_N;
  uint32_t epilogue = CUBLASLT_EPILOGUE_DEFAULT;
  const void* bias = nullptr;
  int32_t bias_type = -1;  // -1: same as D
};
struct cublasLtMatrixLayoutOpaque_t {
  cudaDataType_t type;
  uint64_t rows, cols;
  int64_t ld;
  int32_t order = CUBLASLT_ORDER_COL;
};
struct cublasLtMatmulPreferenceOpaque_t {
  uint64_t max_workspace = 0;
  uint32_t align[4] = {256, 256, 256, 256};  // A, B, C, D (cuBLASLt's default assumption)
};

namespace {

constexpr uint64_t kAlgoMagic = 0xe3a1f00dull;
constexpr size_t kAlgoWorkspace = size_t{1} << 20;  // what the emulated algorithm asks for
// The heuristic offers up to kCandidates algorithms (algo.data[6] = rank), all computing the same,
// so that callers timing candidates (gemm_cublaslt_tuning.cpp) have a choice to make: the one
// ranked kRefusingCandidate returns NOT_SUPPORTED when run, as a real candidate may; and when more
// than one was asked for, the first (data[7] = 1) takes kSlowFirstMicroseconds longer per call, as
// the heuristic's first may be slower than another on a GPU, so timing keeps the second.
constexpr int kCandidates = 3;
constexpr uint64_t kRefusingCandidate = 2;
constexpr int kSlowFirstMicroseconds = 1000;
std::atomic<long> g_calls{0};

cublasStatus_t report(cublasStatus_t status, const char* format, ...) __attribute__((format(printf, 2, 3)));
cublasStatus_t report(cublasStatus_t status, const char* format, ...) {
  va_list args;
  va_start(args, format);
  std::fprintf(stderr, "emu: ");
  std::vfprintf(stderr, format, args);
  std::fprintf(stderr, "\n");
  va_end(args);
  return status;
}

size_t type_size(int type) {
  switch (type) {
    case CUDA_R_32F: return 4;
    case CUDA_R_64F: return 8;
    case CUDA_R_16F:
    case CUDA_R_16BF: return 2;
    default: return 0;
  }
}

float read(const void* base, int type, size_t i) {
  switch (type) {
    case CUDA_R_32F: return static_cast<const float*>(base)[i];
    case CUDA_R_64F: return static_cast<float>(static_cast<const double*>(base)[i]);
    case CUDA_R_16F: return static_cast<float>(static_cast<const _Float16*>(base)[i]);
    default: {
      const uint32_t word = static_cast<uint32_t>(static_cast<const uint16_t*>(base)[i]) << 16;
      float f;
      std::memcpy(&f, &word, 4);
      return f;
    }
  }
}

uint16_t to_bf16(float value) {
  uint32_t word;
  std::memcpy(&word, &value, 4);
  if ((word & 0x7f800000u) == 0x7f800000u && (word & 0x007fffffu) != 0) return static_cast<uint16_t>((word >> 16) | 0x40);
  return static_cast<uint16_t>((word + 0x7fffu + ((word >> 16) & 1u)) >> 16);
}

void write(void* base, int type, size_t i, float value) {
  switch (type) {
    case CUDA_R_32F: static_cast<float*>(base)[i] = value; break;
    case CUDA_R_64F: static_cast<double*>(base)[i] = value; break;
    case CUDA_R_16F: static_cast<_Float16*>(base)[i] = static_cast<_Float16>(value); break;
    default: static_cast<uint16_t*>(base)[i] = to_bf16(value); break;
  }
}

size_t index_of(const cublasLtMatrixLayoutOpaque_t& l, uint64_t r, uint64_t c) {
  return l.order == CUBLASLT_ORDER_COL ? static_cast<size_t>(r + c * static_cast<uint64_t>(l.ld))
                                       : static_cast<size_t>(r * static_cast<uint64_t>(l.ld) + c);
}

// Elements from the first to one past the last addressed element.
size_t extent(const cublasLtMatrixLayoutOpaque_t& l) {
  if (l.rows == 0 || l.cols == 0) return 0;
  return index_of(l, l.rows - 1, l.cols - 1) + 1;
}

bool ld_ok(const cublasLtMatrixLayoutOpaque_t& l) {
  return l.order == CUBLASLT_ORDER_COL ? l.ld >= static_cast<int64_t>(std::max<uint64_t>(l.rows, 1))
                                       : l.ld >= static_cast<int64_t>(std::max<uint64_t>(l.cols, 1));
}

// The checks shared by the heuristic and the matmul: shapes, ld, types, bias type.
cublasStatus_t check_problem(const cublasLtMatmulDescOpaque_t& desc, const cublasLtMatrixLayoutOpaque_t& a,
                             const cublasLtMatrixLayoutOpaque_t& b, const cublasLtMatrixLayoutOpaque_t& c,
                             const cublasLtMatrixLayoutOpaque_t& d) {
  const bool ta = desc.trans_a != CUBLAS_OP_N, tb = desc.trans_b != CUBLAS_OP_N;
  const uint64_t a_rows = ta ? a.cols : a.rows, a_cols = ta ? a.rows : a.cols;
  const uint64_t b_rows = tb ? b.cols : b.rows, b_cols = tb ? b.rows : b.cols;
  if (a_rows != d.rows || b_cols != d.cols || a_cols != b_rows) {
    return report(CUBLAS_STATUS_INVALID_VALUE,
                  "cublasLt: op(A) is %llux%llu, op(B) %llux%llu, D %llux%llu: not a product",
                  (unsigned long long)a_rows, (unsigned long long)a_cols, (unsigned long long)b_rows,
                  (unsigned long long)b_cols, (unsigned long long)d.rows, (unsigned long long)d.cols);
  }
  if (c.rows != d.rows || c.cols != d.cols || c.type != d.type) {
    return report(CUBLAS_STATUS_INVALID_VALUE, "cublasLt: C and D layouts differ in shape or type");
  }
  for (const auto* l : {&a, &b, &c, &d}) {
    if (!ld_ok(*l)) {
      return report(CUBLAS_STATUS_INVALID_VALUE, "cublasLt: ld %lld below the %s dimension (%llux%llu)",
                    (long long)l->ld, l->order == CUBLASLT_ORDER_COL ? "row" : "column",
                    (unsigned long long)l->rows, (unsigned long long)l->cols);
    }
  }
  if (desc.trans_a == CUBLAS_OP_C || desc.trans_b == CUBLAS_OP_C) {
    return report(CUBLAS_STATUS_NOT_SUPPORTED, "cublasLt(emu): CUBLAS_OP_C is not emulated");
  }
  // cuBLASLt's documented combinations for real types with CUBLAS_COMPUTE_32F.
  bool types_ok = false;
  if ((desc.compute == CUBLAS_COMPUTE_32F || desc.compute == CUBLAS_COMPUTE_32F_FAST_16BF) &&
      desc.scale == CUDA_R_32F && a.type == b.type) {
    if (a.type == CUDA_R_16BF || a.type == CUDA_R_16F) types_ok = d.type == a.type || d.type == CUDA_R_32F;
    if (a.type == CUDA_R_32F) types_ok = d.type == CUDA_R_32F;
  }
  if (!types_ok) {
    return report(CUBLAS_STATUS_NOT_SUPPORTED,
                  "cublasLt: compute %d, scale %d, A %d, B %d, D %d is not a supported combination",
                  desc.compute, desc.scale, a.type, b.type, d.type);
  }
  if (desc.epilogue != CUBLASLT_EPILOGUE_DEFAULT && desc.epilogue != CUBLASLT_EPILOGUE_BIAS) {
    return report(CUBLAS_STATUS_NOT_SUPPORTED, "cublasLt(emu): epilogue %u is not emulated", desc.epilogue);
  }
  if (desc.epilogue == CUBLASLT_EPILOGUE_BIAS && desc.bias_type != -1 && desc.bias_type != d.type &&
      !(d.type == CUDA_R_16BF && desc.bias_type == CUDA_R_32F)) {
    return report(CUBLAS_STATUS_NOT_SUPPORTED, "cublasLt: bias type %d with D type %d", desc.bias_type, d.type);
  }
  return CUBLAS_STATUS_SUCCESS;
}

template <typename T>
cublasStatus_t set(void* field, const void* buf, size_t size, const char* what) {
  if (buf == nullptr || size != sizeof(T)) {
    return report(CUBLAS_STATUS_INVALID_VALUE, "cublasLt: attribute %s takes %zu bytes, got %zu", what,
                  sizeof(T), size);
  }
  std::memcpy(field, buf, sizeof(T));
  return CUBLAS_STATUS_SUCCESS;
}

bool aligned(const void* p, uint64_t alignment) {
  return alignment == 0 || reinterpret_cast<uintptr_t>(p) % alignment == 0;
}

}  // namespace

namespace emu {
long cublaslt_matmul_calls() { return g_calls.load(); }
}  // namespace emu

cublasStatus_t cublasLtCreate(cublasLtHandle_t* handle) {
  if (handle == nullptr) return CUBLAS_STATUS_INVALID_VALUE;
  *handle = new cublasLtContext;
  return CUBLAS_STATUS_SUCCESS;
}

cublasStatus_t cublasLtDestroy(cublasLtHandle_t handle) {
  if (handle == nullptr || handle->magic != 0x1717) return report(CUBLAS_STATUS_NOT_INITIALIZED, "cublasLtDestroy: bad handle");
  handle->magic = 0;
  delete handle;
  return CUBLAS_STATUS_SUCCESS;
}

const char* cublasLtGetStatusName(cublasStatus_t status) {
  switch (status) {
    case CUBLAS_STATUS_SUCCESS: return "CUBLAS_STATUS_SUCCESS";
    case CUBLAS_STATUS_NOT_INITIALIZED: return "CUBLAS_STATUS_NOT_INITIALIZED";
    case CUBLAS_STATUS_ALLOC_FAILED: return "CUBLAS_STATUS_ALLOC_FAILED";
    case CUBLAS_STATUS_INVALID_VALUE: return "CUBLAS_STATUS_INVALID_VALUE";
    case CUBLAS_STATUS_NOT_SUPPORTED: return "CUBLAS_STATUS_NOT_SUPPORTED";
    case CUBLAS_STATUS_EXECUTION_FAILED: return "CUBLAS_STATUS_EXECUTION_FAILED";
    default: return "CUBLAS_STATUS_(other)";
  }
}

const char* cublasLtGetStatusString(cublasStatus_t status) { return cublasLtGetStatusName(status); }

cublasStatus_t cublasLtMatmulDescCreate(cublasLtMatmulDesc_t* desc, cublasComputeType_t compute,
                                        cudaDataType_t scale) {
  if (desc == nullptr) return CUBLAS_STATUS_INVALID_VALUE;
  *desc = new cublasLtMatmulDescOpaque_t{compute, scale};
  return CUBLAS_STATUS_SUCCESS;
}

cublasStatus_t cublasLtMatmulDescDestroy(cublasLtMatmulDesc_t desc) {
  delete desc;
  return CUBLAS_STATUS_SUCCESS;
}

cublasStatus_t cublasLtMatmulDescSetAttribute(cublasLtMatmulDesc_t desc,
                                              cublasLtMatmulDescAttributes_t attr, const void* buf,
                                              size_t size) {
  if (desc == nullptr) return CUBLAS_STATUS_INVALID_VALUE;
  switch (attr) {
    case CUBLASLT_MATMUL_DESC_TRANSA: return set<int32_t>(&desc->trans_a, buf, size, "TRANSA");
    case CUBLASLT_MATMUL_DESC_TRANSB: return set<int32_t>(&desc->trans_b, buf, size, "TRANSB");
    case CUBLASLT_MATMUL_DESC_EPILOGUE: return set<uint32_t>(&desc->epilogue, buf, size, "EPILOGUE");
    case CUBLASLT_MATMUL_DESC_BIAS_POINTER: return set<const void*>(&desc->bias, buf, size, "BIAS_POINTER");
    case CUBLASLT_MATMUL_DESC_BIAS_DATA_TYPE: return set<int32_t>(&desc->bias_type, buf, size, "BIAS_DATA_TYPE");
    default: return report(CUBLAS_STATUS_NOT_SUPPORTED, "cublasLt(emu): descriptor attribute %d is not emulated", attr);
  }
}

cublasStatus_t cublasLtMatrixLayoutCreate(cublasLtMatrixLayout_t* layout, cudaDataType_t type,
                                          uint64_t rows, uint64_t cols, int64_t ld) {
  if (layout == nullptr || type_size(type) == 0) return CUBLAS_STATUS_INVALID_VALUE;
  *layout = new cublasLtMatrixLayoutOpaque_t{type, rows, cols, ld};
  return CUBLAS_STATUS_SUCCESS;
}

cublasStatus_t cublasLtMatrixLayoutDestroy(cublasLtMatrixLayout_t layout) {
  delete layout;
  return CUBLAS_STATUS_SUCCESS;
}

cublasStatus_t cublasLtMatrixLayoutSetAttribute(cublasLtMatrixLayout_t layout,
                                                cublasLtMatrixLayoutAttribute_t attr,
                                                const void* buf, size_t size) {
  if (layout == nullptr) return CUBLAS_STATUS_INVALID_VALUE;
  switch (attr) {
    case CUBLASLT_MATRIX_LAYOUT_ORDER: return set<int32_t>(&layout->order, buf, size, "ORDER");
    case CUBLASLT_MATRIX_LAYOUT_LD: return set<int64_t>(&layout->ld, buf, size, "LD");
    case CUBLASLT_MATRIX_LAYOUT_ROWS: return set<uint64_t>(&layout->rows, buf, size, "ROWS");
    case CUBLASLT_MATRIX_LAYOUT_COLS: return set<uint64_t>(&layout->cols, buf, size, "COLS");
    default: return report(CUBLAS_STATUS_NOT_SUPPORTED, "cublasLt(emu): layout attribute %d is not emulated", attr);
  }
}

cublasStatus_t cublasLtMatmulPreferenceCreate(cublasLtMatmulPreference_t* pref) {
  if (pref == nullptr) return CUBLAS_STATUS_INVALID_VALUE;
  *pref = new cublasLtMatmulPreferenceOpaque_t;
  return CUBLAS_STATUS_SUCCESS;
}

cublasStatus_t cublasLtMatmulPreferenceDestroy(cublasLtMatmulPreference_t pref) {
  delete pref;
  return CUBLAS_STATUS_SUCCESS;
}

cublasStatus_t cublasLtMatmulPreferenceSetAttribute(cublasLtMatmulPreference_t pref,
                                                    cublasLtMatmulPreferenceAttributes_t attr,
                                                    const void* buf, size_t size) {
  if (pref == nullptr) return CUBLAS_STATUS_INVALID_VALUE;
  switch (attr) {
    case CUBLASLT_MATMUL_PREF_MAX_WORKSPACE_BYTES: return set<uint64_t>(&pref->max_workspace, buf, size, "MAX_WORKSPACE_BYTES");
    case CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_A_BYTES: return set<uint32_t>(&pref->align[0], buf, size, "MIN_ALIGNMENT_A_BYTES");
    case CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_B_BYTES: return set<uint32_t>(&pref->align[1], buf, size, "MIN_ALIGNMENT_B_BYTES");
    case CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_C_BYTES: return set<uint32_t>(&pref->align[2], buf, size, "MIN_ALIGNMENT_C_BYTES");
    case CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_D_BYTES: return set<uint32_t>(&pref->align[3], buf, size, "MIN_ALIGNMENT_D_BYTES");
    default: return report(CUBLAS_STATUS_NOT_SUPPORTED, "cublasLt(emu): preference attribute %d is not emulated", attr);
  }
}

cublasStatus_t cublasLtMatmulAlgoGetHeuristic(cublasLtHandle_t handle, cublasLtMatmulDesc_t desc,
                                              cublasLtMatrixLayout_t a, cublasLtMatrixLayout_t b,
                                              cublasLtMatrixLayout_t c, cublasLtMatrixLayout_t d,
                                              cublasLtMatmulPreference_t pref, int requested,
                                              cublasLtMatmulHeuristicResult_t* results,
                                              int* returned) {
  if (handle == nullptr || desc == nullptr || a == nullptr || b == nullptr || c == nullptr ||
      d == nullptr || pref == nullptr || requested < 1 || results == nullptr || returned == nullptr) {
    return report(CUBLAS_STATUS_INVALID_VALUE, "cublasLtMatmulAlgoGetHeuristic: null argument or requested < 1");
  }
  *returned = 0;
  const cublasStatus_t problem = check_problem(*desc, *a, *b, *c, *d);
  if (problem != CUBLAS_STATUS_SUCCESS) return problem;
  // Real bf16 kernels need at least element alignment of every operand.
  for (int i = 0; i < 4; ++i) {
    const size_t element = type_size(i == 0 ? a->type : i == 1 ? b->type : i == 2 ? c->type : d->type);
    if (pref->align[i] % element != 0) return CUBLAS_STATUS_SUCCESS;  // no algorithm: 0 returned
  }
  const int offered = std::min(requested, kCandidates);
  for (int index = 0; index < offered; ++index) {
    cublasLtMatmulHeuristicResult_t r{};
    r.algo.data[0] = kAlgoMagic;
    for (int i = 0; i < 4; ++i) r.algo.data[1 + i] = pref->align[i];
    r.workspaceSize = std::min<size_t>(kAlgoWorkspace, pref->max_workspace);
    r.algo.data[5] = r.workspaceSize;
    r.algo.data[6] = static_cast<uint64_t>(index);
    r.algo.data[7] = offered > 1 && index == 0 ? 1 : 0;  // slow: see kSlowFirstMicroseconds
    r.state = CUBLAS_STATUS_SUCCESS;
    r.wavesCount = 1.0f;
    results[index] = r;
  }
  *returned = offered;
  return CUBLAS_STATUS_SUCCESS;
}

cublasStatus_t cublasLtMatmul(cublasLtHandle_t handle, cublasLtMatmulDesc_t desc, const void* alpha,
                              const void* A, cublasLtMatrixLayout_t a, const void* B,
                              cublasLtMatrixLayout_t b, const void* beta, const void* C,
                              cublasLtMatrixLayout_t c, void* D, cublasLtMatrixLayout_t d,
                              const cublasLtMatmulAlgo_t* algo, void* workspace,
                              size_t workspace_bytes, cudaStream_t stream) {
  if (handle == nullptr || handle->magic != 0x1717 || desc == nullptr || alpha == nullptr ||
      beta == nullptr || a == nullptr || b == nullptr || c == nullptr || d == nullptr) {
    return report(CUBLAS_STATUS_INVALID_VALUE, "cublasLtMatmul: null or dead argument");
  }
  if (!emu::is_live_stream(stream)) return report(CUBLAS_STATUS_INVALID_VALUE, "cublasLtMatmul: dead or unknown stream");
  const cublasStatus_t problem = check_problem(*desc, *a, *b, *c, *d);
  if (problem != CUBLAS_STATUS_SUCCESS) return problem;
  if (algo != nullptr) {
    if (algo->data[0] != kAlgoMagic) return report(CUBLAS_STATUS_INVALID_VALUE, "cublasLtMatmul: the algo is not from the heuristic");
    const void* operands[4] = {A, B, C, D};
    for (int i = 0; i < 4; ++i) {
      if (!aligned(operands[i], algo->data[1 + i])) {
        return report(CUBLAS_STATUS_NOT_SUPPORTED,
                      "cublasLtMatmul: operand %c at %p is less aligned than the %llu bytes its "
                      "algorithm was chosen for", "ABCD"[i], operands[i], (unsigned long long)algo->data[1 + i]);
      }
    }
    if (algo->data[6] == kRefusingCandidate) return CUBLAS_STATUS_NOT_SUPPORTED;  // on purpose
    if (algo->data[7] == 1) {
      const auto until = std::chrono::steady_clock::now() + std::chrono::microseconds(kSlowFirstMicroseconds);
      while (std::chrono::steady_clock::now() < until) {
      }
    }
    if (workspace_bytes < algo->data[5]) {
      return report(CUBLAS_STATUS_INVALID_VALUE, "cublasLtMatmul: workspace %zu bytes < the %llu the algorithm needs",
                    workspace_bytes, (unsigned long long)algo->data[5]);
    }
  }
  if (workspace_bytes > 0 && !emu::is_device_range(workspace, workspace_bytes)) {
    return report(CUBLAS_STATUS_INVALID_VALUE, "cublasLtMatmul: workspace is not %zu bytes of device memory", workspace_bytes);
  }
  const struct { const void* p; const cublasLtMatrixLayoutOpaque_t* l; char name; } operands[] = {
      {A, a, 'A'}, {B, b, 'B'}, {C, c, 'C'}, {D, d, 'D'}};
  const float alpha_v = *static_cast<const float*>(alpha), beta_v = *static_cast<const float*>(beta);
  for (const auto& op : operands) {
    if (op.name == 'C' && beta_v == 0.0f) continue;  // C is not read when beta = 0
    const size_t bytes = extent(*op.l) * type_size(op.l->type);
    if (bytes > 0 && !emu::is_device_range(op.p, bytes)) {
      return report(CUBLAS_STATUS_EXECUTION_FAILED,
                    "cublasLtMatmul: operand %c (%llux%llu, ld %lld, %s order) at %p: its %zu bytes "
                    "are not inside one device allocation (the GPU would fault)", op.name,
                    (unsigned long long)op.l->rows, (unsigned long long)op.l->cols, (long long)op.l->ld,
                    op.l->order == CUBLASLT_ORDER_COL ? "column" : "row", op.p, bytes);
    }
  }
  const bool has_bias = desc->epilogue == CUBLASLT_EPILOGUE_BIAS;
  const int bias_type = desc->bias_type == -1 ? d->type : desc->bias_type;
  if (has_bias && (desc->bias == nullptr || !emu::is_device_range(desc->bias, d->rows * type_size(bias_type)))) {
    return report(CUBLAS_STATUS_EXECUTION_FAILED, "cublasLtMatmul: bias epilogue with bias %p not %llu device elements",
                  desc->bias, (unsigned long long)d->rows);
  }
  ++g_calls;
  // The product runs now, or at cudaGraphLaunch when the stream is capturing: everything it reads
  // is copied here, as the real call copies its descriptors and host scalars.
  const bool ta = desc->trans_a != CUBLAS_OP_N, tb = desc->trans_b != CUBLAS_OP_N;
  const void* bias = desc->bias;
  emu::enqueue(stream, [=, la = *a, lb = *b, lc = *c, ld = *d] {
    const uint64_t M = ld.rows, N = ld.cols, K = ta ? la.rows : la.cols;
    // op(A) as [M][K] and op(B)ᵀ as [N][K], contiguous, so the inner loop is a dot product.
    std::vector<float> a_rows(M * K), b_cols(N * K);
    for (uint64_t i = 0; i < M; ++i)
      for (uint64_t k = 0; k < K; ++k) a_rows[i * K + k] = read(A, la.type, ta ? index_of(la, k, i) : index_of(la, i, k));
    for (uint64_t j = 0; j < N; ++j)
      for (uint64_t k = 0; k < K; ++k) b_cols[j * K + k] = read(B, lb.type, tb ? index_of(lb, j, k) : index_of(lb, k, j));
    for (uint64_t j = 0; j < N; ++j) {
      for (uint64_t i = 0; i < M; ++i) {
        const float* x = &a_rows[i * K];
        const float* y = &b_cols[j * K];
        float acc = 0.0f;
        for (uint64_t k = 0; k < K; ++k) acc += x[k] * y[k];
        float value = alpha_v * acc;
        if (beta_v != 0.0f) value += beta_v * read(C, lc.type, index_of(lc, i, j));
        if (has_bias) value += read(bias, bias_type, i);
        write(D, ld.type, index_of(ld, i, j), value);
      }
    }
  });
  return CUBLAS_STATUS_SUCCESS;
}
