// Runs the real kernel sources (rewritten by emulate_kernels.sh to call emu::launch instead of
// <<<...>>>) on the host against naive double-precision references: elementwise ops, conversions,
// rmsnorm (+ fused residual), rope, embedding, gather, argmax ties, the one-row matmul with each
// prologue and the residual epilogue (and that the emulation refuses its misaligned loads), varlen
// and causal GQA attention including the split-K decode path and its combine, on both attention
// kernels (attention.cu, and the tensor-core attention_mma.cu through the fake <mma.h> and
// attention_flash.cu through the emulated mma.sync and ldmatrix), n_past also read on the device.
// Tolerance: one or two bf16 roundings (the tensor-core kernels: see attention_case).
#include <cmath>
#include <cstring>
#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <random>
#include <stdexcept>
#include <vector>
#include "launch.h"
using namespace vlm::cuda;
static uint16_t f2b(float v) { uint32_t w; std::memcpy(&w, &v, 4); return (uint16_t)((w + 0x7fffu + ((w >> 16) & 1u)) >> 16); }
static float b2f(uint16_t b) { uint32_t w = (uint32_t)b << 16; float f; std::memcpy(&f, &w, 4); return f; }
static std::mt19937 rng(1);
static std::vector<uint16_t> rnd(size_t n, float a = 1) { std::uniform_real_distribution<float> d(-a, a); std::vector<uint16_t> v(n); for (auto& x : v) x = f2b(d(rng)); return v; }
static int fails = 0;
static void check(const char* what, double err, double tol) { std::printf("%-40s err %.3g (tol %.3g) %s\n", what, err, tol, err <= tol ? "ok" : "FAIL"); if (!(err <= tol)) ++fails; }

// The tensor-core kernels: WMMA (attention_mma.cu) and mma.sync with registers (attention_flash.cu).
enum class TensorCoreKernel { None, Wmma, Flash };

static void attention_case_with(TensorCoreKernel tc, int nq, int heads, int kv, int hd, bool causal, int n_past, int cap, std::vector<int> cu, int sm, bool ramp, bool device_n_past, int out_offset = 0);

// mma: each tensor-core kernel in turn, on the same operands (the generator is reseeded), else
// the CUDA-core kernel. ramp: key rows scaled by (j+1)/4 so the row maxima keep growing along the
// sweep (the tensor-core kernels' rescale paths). device_n_past: n_past passed through n_past_at
// (a recorded step), the field set to 0.
static void attention_case(int nq, int heads, int kv, int hd, bool causal, int n_past, int cap, std::vector<int> cu, int sm, bool mma = false, bool ramp = false, bool device_n_past = false) {
  if (!mma) { attention_case_with(TensorCoreKernel::None, nq, heads, kv, hd, causal, n_past, cap, cu, sm, ramp, device_n_past); return; }
  const auto state = rng;
  attention_case_with(TensorCoreKernel::Wmma, nq, heads, kv, hd, causal, n_past, cap, cu, sm, ramp, device_n_past);
  rng = state;
  attention_case_with(TensorCoreKernel::Flash, nq, heads, kv, hd, causal, n_past, cap, cu, sm, ramp, device_n_past);
}

// out_offset: the output written that many elements into its buffer (1: not 4-byte aligned).
static void attention_case_with(TensorCoreKernel tc, int nq, int heads, int kv, int hd, bool causal, int n_past, int cap, std::vector<int> cu, int sm, bool ramp, bool device_n_past, int out_offset) {
  const bool mma = tc != TensorCoreKernel::None;
  const int tile_rows = mma ? kAttentionMmaTileRows : kAttentionTileRows;
  const int group = heads / kv;
  auto q = rnd((size_t)nq * heads * hd, 2), k = rnd((size_t)cap * kv * hd, 2), v = rnd((size_t)cap * kv * hd);
  if (ramp) for (int j = 0; j < cap; ++j) for (int i = 0; i < kv * hd; ++i) { uint16_t& x = k[(size_t)j * kv * hd + i]; x = f2b(b2f(x) * (j + 1) / 4.0f); }
  std::vector<uint16_t> out_buffer((size_t)nq * heads * hd + out_offset, 0);
  uint16_t* const out = out_buffer.data() + out_offset;
  std::vector<AttentionTile> tiles;
  int splits = 1;
  int total_keys = causal ? n_past + nq : nq;
  if (causal) {
    const int F = nq * group;
    for (int f0 = 0; f0 < F; f0 += tile_rows) { int f1 = std::min(F, f0 + tile_rows); int last = (f1 - 1) / group; tiles.push_back({f0, f1, 0, n_past + last + 1}); }
    long blocks = (long)tiles.size() * kv, wanted = 2L * sm;
    if (blocks < wanted) splits = (int)std::min<long>({(wanted + blocks - 1) / blocks, std::max<long>(1, total_keys / (2 * kAttentionKeyStep)), 64});
  } else {
    for (size_t s = 0; s + 1 < cu.size(); ++s) for (int r = cu[s]; r < cu[s + 1]; r += tile_rows) tiles.push_back({r, std::min(cu[s + 1], r + tile_rows), cu[s], cu[s + 1]});
  }
  AttentionParams p;
  p.q = q.data(); p.k = k.data(); p.v = v.data(); p.out = out; p.n_tiles = (int)tiles.size();
  p.tiles = causal ? nullptr : tiles.data();  // causal tiles are computed in the kernel
  p.n_queries = nq; p.n_heads = heads; p.n_heads_kv = kv; p.head_dim = hd; p.causal = causal; p.n_past = device_n_past ? 0 : n_past; p.scale = 1.0f / std::sqrt((float)hd); p.n_splits = splits;
  const int32_t n_past_value = n_past;
  if (device_n_past) p.n_past_at = &n_past_value;
  std::vector<float> pa, pm, ps;
  if (splits > 1) { size_t items = (size_t)splits * nq * heads; pa.resize(items * hd); pm.resize(items); ps.resize(items); p.part_acc = pa.data(); p.part_max = pm.data(); p.part_sum = ps.data(); }
  if (tc == TensorCoreKernel::Wmma) launch_attention_mma(p, nullptr);
  else if (tc == TensorCoreKernel::Flash) launch_attention_flash(p, nullptr);
  else launch_attention(p, nullptr);
  if (splits > 1) launch_attention_combine(p, nullptr);
  double max_err = 0, max_ref = 0, max_abs = 0, max_v = 0;
  for (uint16_t x : v) max_v = std::max(max_v, (double)std::abs(b2f(x)));
  for (int i = 0; i < nq; ++i) for (int h = 0; h < heads; ++h) {
    int kvh = h / group; int lo = 0, hi = 0;
    if (causal) { lo = 0; hi = n_past + i + 1; } else { for (size_t s = 0; s + 1 < cu.size(); ++s) if (i >= cu[s] && i < cu[s + 1]) { lo = cu[s]; hi = cu[s + 1]; } }
    std::vector<double> sc(hi - lo); double m = -1e300;
    for (int j = lo; j < hi; ++j) { double s = 0; for (int d = 0; d < hd; ++d) s += (double)b2f(q[((size_t)i * heads + h) * hd + d]) * b2f(k[((size_t)j * kv + kvh) * hd + d]); sc[j - lo] = s * p.scale; m = std::max(m, sc[j - lo]); }
    double sum = 0; for (auto& s : sc) { s = std::exp(s - m); sum += s; }
    for (int d = 0; d < hd; ++d) { double o = 0; for (int j = lo; j < hi; ++j) o += sc[j - lo] * b2f(v[((size_t)j * kv + kvh) * hd + d]); o /= sum;
      max_ref = std::max(max_ref, std::abs(o)); max_abs = std::max(max_abs, std::abs(o - b2f(out[((size_t)i * heads + h) * hd + d]))); const double e = std::abs(o - b2f(out[((size_t)i * heads + h) * hd + d]));
      max_err = std::max(max_err, mma ? e / (std::abs(o) / 256 + max_v / 256) : e / (std::abs(o) + 1e-2)); }
  }
  char what[160]; std::snprintf(what, sizeof what, "attn%s %s nq=%d h=%d/%d hd=%d past=%d%s splits=%d%s%s", tc == TensorCoreKernel::Wmma ? "-mma" : tc == TensorCoreKernel::Flash ? "-flash" : "", causal ? "causal" : "varlen", nq, heads, kv, hd, n_past, device_n_past ? " (n_past_at)" : "", splits, ramp ? " ramp" : "", out_offset ? " out off 4-byte alignment" : "");
  if (!mma) { check(what, max_err, 1.0 / 128); return; }
  // Tensor cores: P enters P·V as bf16 (relative error <= 2^-9 per weight, normalised by the sum
  // of the rounded weights), so |err| <= 2^-9·max|v - o| <= 2^-8·max|v| on top of the output's
  // own rounding (2^-9·|o|): checked as |err| <= 2^-8·(|o| + max|v|); the figure printed is
  // max|err| / max|v|.
  std::printf("  (%s: max|err| %.3g, relative to max|v| %.3g)\n", tc == TensorCoreKernel::Wmma ? "mma" : "flash", max_abs, max_abs / max_v);
  check(what, max_err, 1.0);
}

int main() {
  // convert + elementwise
  { auto a = rnd(1000, 4), b = rnd(1000, 4); std::vector<uint16_t> y(1000); launch_add(a.data(), b.data(), y.data(), 1000, nullptr);
    double e = 0; for (int i = 0; i < 1000; ++i) e = std::max(e, (double)std::abs(b2f(y[i]) - b2f(f2b(b2f(a[i]) + b2f(b[i]))))); check("add exact", e, 0);
    launch_silu_mul(a.data(), b.data(), y.data(), 1000, nullptr); e = 0;
    for (int i = 0; i < 1000; ++i) { double g = b2f(a[i]); double r = g / (1 + std::exp(-g)) * b2f(b[i]); e = std::max(e, std::abs(b2f(y[i]) - r) / (std::abs(r) + 1e-3)); } check("silu_mul", e, 1.0 / 128);
    launch_gelu(a.data(), y.data(), 1000, nullptr); e = 0;
    for (int i = 0; i < 1000; ++i) { double g = b2f(a[i]); double r = 0.5 * g * (1 + std::erf(g / std::sqrt(2.0))); e = std::max(e, std::abs(b2f(y[i]) - r) / (std::abs(r) + 1e-3)); } check("gelu", e, 1.0 / 256);
    std::vector<float> f(1000); launch_convert(a.data(), ElemType::BF16, f.data(), ElemType::F32, 1000, nullptr); e = 0;
    for (int i = 0; i < 1000; ++i) e = std::max(e, (double)std::abs(f[i] - b2f(a[i]))); check("convert bf16->f32", e, 0);
    for (auto& x : f) x *= 1.001f; launch_convert(f.data(), ElemType::F32, y.data(), ElemType::BF16, 1000, nullptr); e = 0;
    for (int i = 0; i < 1000; ++i) e = std::max(e, (double)(y[i] != f2b(f[i]))); check("convert f32->bf16 RNE", e, 0); }
  // elementwise in packs of 8 (n = 1000, aligned) and element by element (n = 1003; buffers one
  // element off alignment) give the same bits; silu_mul_joined equals silu_mul on the halves.
  { auto a = rnd(1016, 4), b = rnd(1016, 4); std::vector<uint16_t> packed(1016), odd(1016), unaligned(1016); double e = 0;
    for (int op = 0; op < 3; ++op) {
      const auto run = [&](const uint16_t* x, const uint16_t* z, uint16_t* out, int64_t n) {
        if (op == 0) launch_add(x, z, out, n, nullptr); else if (op == 1) launch_silu_mul(x, z, out, n, nullptr); else launch_gelu(x, out, n, nullptr); };
      run(a.data(), b.data(), packed.data(), 1000);
      run(a.data(), b.data(), odd.data(), 1003);
      run(a.data() + 1, b.data() + 1, unaligned.data() + 1, 1000);
      for (int i = 0; i < 1000; ++i) e = std::max(e, (double)(packed[i] != odd[i]));
      for (int i = 1; i <= 1000; ++i) e = std::max(e, (double)(unaligned[i] != odd[i]));
    }
    check("elementwise packs = element by element", e, 0);
    const int rows = 3; e = 0;
    for (int width : {1000, 1004}) {
      auto gu = rnd(rows * 2 * width, 4); std::vector<uint16_t> joined(rows * width), halves(width);
      launch_silu_mul_joined(gu.data(), joined.data(), rows, width, nullptr);
      for (int r = 0; r < rows; ++r) { launch_silu_mul(gu.data() + r * 2 * width, gu.data() + r * 2 * width + width, halves.data(), width, nullptr);
        for (int j = 0; j < width; ++j) e = std::max(e, (double)(joined[r * width + j] != halves[j])); }
    }
    check("silu_mul_joined = silu_mul on the halves", e, 0); }
  // rmsnorm (+ residual): packs of 8 moved as 16 bytes (dim 1000, 2056: two packs for some
  // threads), packs element by element (every buffer one element off 16-byte alignment), and the
  // element-strided order (dim 1004).
  struct NormCase { int dim, offset; };
  for (const NormCase nc : {NormCase{1000, 0}, NormCase{2056, 0}, NormCase{1000, 1}, NormCase{1004, 0}})
  for (int fused = 0; fused < 2; ++fused) { const int rows = 3, dim = nc.dim, off = nc.offset; auto xb = rnd(rows * dim + off, 3), rb = rnd(rows * dim + off, 3), wb = rnd(dim + off, 1); std::vector<uint16_t> yb(rows * dim + off);
    uint16_t* x = xb.data() + off; uint16_t* r = rb.data() + off; const uint16_t* w = wb.data() + off; uint16_t* y = yb.data() + off; const std::vector<uint16_t> r0(r, r + rows * dim);
    launch_rmsnorm(x, fused ? r : nullptr, w, y, rows, dim, 1e-6f, nullptr); double e = 0;
    for (int i = 0; i < rows; ++i) { double ss = 0; std::vector<double> h(dim); for (int d = 0; d < dim; ++d) { h[d] = b2f(x[i * dim + d]) + (fused ? b2f(r0[i * dim + d]) : 0); if (fused) h[d] = b2f(f2b((float)h[d])); ss += h[d] * h[d]; }
      double inv = 1 / std::sqrt(ss / dim + 1e-6); for (int d = 0; d < dim; ++d) { double ref = h[d] * inv * b2f(w[d]); e = std::max(e, std::abs(b2f(y[i * dim + d]) - ref) / (std::abs(ref) + 1e-2)); if (fused) e = std::max(e, std::abs(b2f(r[i * dim + d]) - h[d])); } }
    char what[64]; std::snprintf(what, sizeof what, "%s dim=%d%s", fused ? "add_rmsnorm" : "rmsnorm", dim, off ? " unaligned" : "");
    check(what, e, 1.0 / 128); }
  // rope
  { int rows = 5, heads = 3, hd = 8; auto x = rnd(rows * heads * hd, 2); auto x0 = x; std::vector<float> c(rows * hd), s(rows * hd); for (size_t i = 0; i < c.size(); ++i) { c[i] = std::cos(0.1 * i); s[i] = std::sin(0.1 * i); }
    launch_rope(x.data(), c.data(), s.data(), rows, heads, hd, nullptr); double e = 0;
    for (int r = 0; r < rows; ++r) for (int h = 0; h < heads; ++h) for (int p = 0; p < hd; ++p) { const uint16_t* v = &x0[(r * heads + h) * hd]; double ref = p < hd / 2 ? b2f(v[p]) * c[r * hd + p] - b2f(v[p + hd / 2]) * s[r * hd + p] : b2f(v[p]) * c[r * hd + p] + b2f(v[p - hd / 2]) * s[r * hd + p];
      e = std::max(e, std::abs(b2f(x[(r * heads + h) * hd + p]) - ref) / (std::abs(ref) + 1e-2)); } check("rope", e, 1.0 / 256); }
  // embedding, gather
  { int V = 50, D = 33; std::vector<float> table(V * D); for (auto& t : table) t = b2f(rnd(1)[0]); std::vector<int32_t> ids = {3, 49, 0, 3}; std::vector<uint16_t> y(ids.size() * D);
    launch_embedding(table.data(), ElemType::F32, ids.data(), ids.size(), D, y.data(), nullptr); double e = 0;
    for (size_t i = 0; i < ids.size(); ++i) for (int d = 0; d < D; ++d) e += b2f(y[i * D + d]) != table[ids[i] * D + d]; check("embedding f32 table", e, 0);
    auto x = rnd(V * D); std::vector<uint16_t> g(ids.size() * D); launch_gather_rows(x.data(), ids.data(), ids.size(), D * 2, g.data(), nullptr); e = 0;
    for (size_t i = 0; i < ids.size(); ++i) for (int d = 0; d < D; ++d) e += g[i * D + d] != x[ids[i] * D + d]; check("gather_rows odd bytes", e, 0);
    std::vector<uint16_t> x2 = rnd(V * 34), g2(ids.size() * 34); launch_gather_rows(x2.data(), ids.data(), ids.size(), 68, g2.data(), nullptr); e = 0;
    for (size_t i = 0; i < ids.size(); ++i) for (int d = 0; d < 34; ++d) e += g2[i * 34 + d] != x2[ids[i] * 34 + d]; check("gather_rows words", e, 0); }
  // argmax with ties
  { int rows = 2, cols = 3000; auto x = rnd(rows * cols, 5); x[1234] = f2b(9); x[2500] = f2b(9); x[cols + 7] = f2b(9); std::vector<int32_t> out(rows);
    launch_argmax(x.data(), ElemType::BF16, rows, cols, out.data(), nullptr); check("argmax ties", (out[0] != 1234) + (out[1] != 7), 0); }
  // one-row matmul (gemv.cu): each prologue, with and without the residual epilogue; 37 rows (not
  // a multiple of the block's 8), K = 1032 (a tail after the unrolled loop), a bias.
  for (int pro = 0; pro < 3; ++pro) for (int add = 0; add < 2; ++add) {
    const int n = 37, k = 1032; const GemvPrologue prologue = (GemvPrologue)pro;
    auto x = rnd(prologue == GemvPrologue::SiluMul ? 2 * k : k, 3), nw = rnd(k, 1), w = rnd((size_t)n * k, 0.1f), bias = rnd(n, 1), res = rnd(n, 4);
    const auto res0 = res; std::vector<uint16_t> y(n, 0);
    GemvArgs a; a.x = x.data(); a.norm_weight = nw.data(); a.eps = 1e-6f; a.w = w.data(); a.bias = bias.data(); a.n = n; a.k = k; a.prologue = prologue;
    if (add) a.residual = res.data(); else a.y = y.data();
    launch_gemv(a, nullptr);
    std::vector<double> act(k); double ss = 0;
    for (int i = 0; i < k; ++i) ss += (double)b2f(x[i]) * b2f(x[i]);
    for (int i = 0; i < k; ++i) {
      const double g = b2f(x[i]);
      if (prologue == GemvPrologue::RmsNorm) act[i] = b2f(f2b(b2f(f2b((float)(g / std::sqrt(ss / k + 1e-6)))) * b2f(nw[i])));
      else if (prologue == GemvPrologue::SiluMul) act[i] = b2f(f2b(b2f(f2b((float)(g / (1 + std::exp(-g))))) * b2f(x[k + i])));
      else act[i] = g;
    }
    double e = 0, max_ref = 0; std::vector<double> ref(n);
    for (int r = 0; r < n; ++r) { double dot = b2f(bias[r]); for (int i = 0; i < k; ++i) dot += b2f(w[(size_t)r * k + i]) * act[i]; ref[r] = add ? b2f(res0[r]) + b2f(f2b((float)dot)) : dot; max_ref = std::max(max_ref, std::abs(ref[r])); }
    for (int r = 0; r < n; ++r) e = std::max(e, std::abs(b2f(add ? res[r] : y[r]) - ref[r]) / max_ref);
    const char* names[3][2] = {{"gemv", "gemv +residual"}, {"gemv rmsnorm prologue", "gemv rmsnorm prologue +residual"}, {"gemv silu_mul prologue", "gemv silu_mul prologue +residual"}};
    check(names[pro][add], e, 1.0 / 128);
  }
  // The emulation's own alignment check (emu/cuda_runtime.h): a GPU faults on gemv.cu's 16-byte
  // loads from weight rows that are not 16-byte aligned, so the emulation must refuse them too.
  { const int n = 2, k = 16; auto x = rnd(k, 1), w = rnd((size_t)n * k + 8, 0.1f); std::vector<uint16_t> y(n);
    GemvArgs a; a.x = x.data(); a.w = w.data() + 4; a.y = y.data(); a.n = n; a.k = k;
    bool refused = false;
    try { launch_gemv(a, nullptr); } catch (const std::logic_error& e) { refused = std::strstr(e.what(), "misaligned") != nullptr; }
    check("gemv: misaligned weight rows refused", refused ? 0 : 1, 0); }
  // attention
  const char* only = std::getenv("EMU_ONLY_SPLITS");
  if (!only) {
  attention_case(1, 2, 2, 80, false, 0, 1, {0, 1}, 132);
  attention_case(97, 2, 2, 80, false, 0, 97, {0, 40, 97}, 132);
  attention_case(150, 1, 1, 80, false, 0, 150, {0, 64, 64, 150}, 132);
  attention_case(40, 2, 2, 64, false, 0, 40, {0, 17, 40}, 132);
  attention_case(33, 1, 1, 128, false, 0, 33, {0, 33}, 132);
  attention_case(1, 4, 2, 128, true, 0, 4, {}, 132);
  attention_case(20, 4, 2, 128, true, 0, 24, {}, 132);
  attention_case(5, 6, 2, 128, true, 100, 110, {}, 132);
  }
  attention_case(1, 7, 1, 128, true, 1000, 1010, {}, 132);  // split-K decode, group 7
  attention_case(9, 4, 2, 128, true, 600, 615, {}, 1000);   // forced splits, multi-row tiles
  // Tensor-core kernels (attention_mma.cu, attention_flash.cu): the same cases and the prefill
  // shapes they are chosen for.
  if (!only) {
  attention_case(1, 2, 2, 80, false, 0, 1, {0, 1}, 132, true);
  attention_case(97, 2, 2, 80, false, 0, 97, {0, 40, 97}, 132, true);
  attention_case(150, 1, 1, 80, false, 0, 150, {0, 64, 64, 150}, 132, true);  // empty segment
  attention_case(40, 2, 2, 64, false, 0, 40, {0, 17, 40}, 132, true);
  attention_case(33, 1, 1, 128, false, 0, 33, {0, 33}, 132, true);
  attention_case(70, 1, 1, 40, false, 0, 70, {0, 70}, 132, true);               // head_dim padded 40 -> 64
  attention_case(1025, 1, 1, 80, false, 0, 1025, {0, 64, 128, 1025}, 132, true);  // window + full
  attention_case(300, 1, 1, 80, false, 0, 300, {0, 300}, 132, true, true);     // growing maxima: rescales
  attention_case(1, 4, 2, 128, true, 0, 4, {}, 132, true);
  attention_case(20, 4, 2, 128, true, 0, 24, {}, 132, true);
  attention_case(5, 6, 2, 128, true, 100, 110, {}, 132, true);
  attention_case(97, 14, 2, 128, true, 37, 140, {}, 4, true);                  // group 7, n_past > 0
  attention_case(97, 4, 2, 128, true, 0, 97, {}, 4, true);                     // group 2 from 0
  attention_case(1025, 2, 1, 128, true, 0, 1025, {}, 8, true);                 // group 2, 1025 rows
  attention_case(200, 2, 1, 128, true, 70, 270, {}, 4, true, true);            // causal rescales
  }
  attention_case(1, 7, 1, 128, true, 1000, 1010, {}, 132, true);               // split-K, group 7
  attention_case(9, 4, 2, 128, true, 600, 615, {}, 1000, true);                // forced splits
  attention_case_with(TensorCoreKernel::Flash, 97, 2, 2, 80, false, 0, 97, {0, 40, 97}, 132, false, false, 1);  // element stores
  attention_case(9, 4, 2, 128, true, 600, 615, {}, 1000, false, false, true);  // n_past read on the device
  attention_case(70, 14, 2, 128, true, 333, 410, {}, 8, true, false, true);
  std::printf(fails ? "FAILURES: %d\n" : "all ok\n", fails);
  return fails != 0;
}
