// CPU backend op benchmark. Prints, for the model's matmul shapes, GFLOP/s of the backend with
// f32 and with bf16 weights against plain multi-threaded cblas_sgemm (cblas_sgemv for M == 1) on
// weights pre-converted to f32 (the ratio columns; > 1 means the backend is faster; at M == 1 the
// bf16 ratio mostly shows the halved weight bytes), and attention throughput for a
// 1024-row segment (16 heads, head_dim 80) against scores materialised with threaded sgemm.
// Usage: bench_cpu_ops [--threads N] [--quick]
#include <cblas.h>

#include <chrono>
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "vlm/backend.h"
#include "vlm/dtype.h"

namespace {

using Clock = std::chrono::steady_clock;

// Seconds per call: one warm-up, then repeats until min_seconds have passed.
double time_call(const std::function<void()>& fn, double min_seconds) {
  fn();
  int reps = 0;
  auto start = Clock::now();
  double elapsed = 0.0;
  do {
    fn();
    ++reps;
    elapsed = std::chrono::duration<double>(Clock::now() - start).count();
  } while (elapsed < min_seconds);
  return elapsed / reps;
}

std::vector<float> random_values(size_t n, uint32_t seed) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> dist(-1.0f, 1.0f);
  std::vector<float> v(n);
  for (float& x : v) x = dist(rng);
  return v;
}

struct Shape {
  const char* what;
  int64_t M, K, N;
};

void bench_matmul(vlm::Backend& backend, int threads, const Shape& s, double min_seconds) {
  auto x = random_values(static_cast<size_t>(s.M * s.K), 1);
  auto w = random_values(static_cast<size_t>(s.N * s.K), 2);
  vlm::Tensor tx = backend.from_host_f32(x.data(), {s.M, s.K}, vlm::DType::F32);
  vlm::Tensor w32 = backend.from_host_f32(w.data(), {s.N, s.K}, vlm::DType::F32);
  vlm::Tensor w16 = backend.from_host_f32(w.data(), {s.N, s.K}, vlm::DType::BF16);
  vlm::Tensor ty = backend.alloc(vlm::DType::F32, {s.M, s.N});
  const double flops = 2.0 * s.M * s.N * s.K;
  double t_f32 = time_call([&] { backend.matmul(tx, w32, vlm::Tensor(), ty); }, min_seconds);
  double t_bf16 = time_call([&] { backend.matmul(tx, w16, vlm::Tensor(), ty); }, min_seconds);
  // Reference: OpenBLAS's own threading on the whole f32 problem (sgemv when M == 1).
  std::vector<float> y(static_cast<size_t>(s.M * s.N));
  openblas_set_num_threads(threads);
  double t_ref = time_call([&] {
    if (s.M == 1) {
      cblas_sgemv(CblasRowMajor, CblasNoTrans, static_cast<int>(s.N), static_cast<int>(s.K), 1.0f,
                  w.data(), static_cast<int>(s.K), x.data(), 1, 0.0f, y.data(), 1);
    } else {
      cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, static_cast<int>(s.M), static_cast<int>(s.N),
                  static_cast<int>(s.K), 1.0f, x.data(), static_cast<int>(s.K), w.data(),
                  static_cast<int>(s.K), 0.0f, y.data(), static_cast<int>(s.N));
    }
  }, min_seconds);
  openblas_set_num_threads(1);
  std::printf("%-22s %6lld %6lld %7lld | %8.1f %8.1f %8.1f | %6.2f %6.2f", s.what,
              static_cast<long long>(s.M), static_cast<long long>(s.K), static_cast<long long>(s.N),
              flops / t_f32 * 1e-9, flops / t_bf16 * 1e-9, flops / t_ref * 1e-9, t_ref / t_f32,
              t_ref / t_bf16);
  if (s.M == 1) std::printf("  bf16 weights %.1f GB/s", 2.0 * s.N * s.K / t_bf16 * 1e-9);
  std::printf("\n");
}

// Reference attention: per head, S = QKᵀ materialised with threaded sgemm, row softmax, S·V.
void reference_attention(const std::vector<float>& q, const std::vector<float>& k,
                         const std::vector<float>& v, int64_t n, int64_t heads, int64_t hd,
                         float scale, std::vector<float>& scores, std::vector<float>& out) {
  const int ld = static_cast<int>(heads * hd);
  for (int64_t h = 0; h < heads; ++h) {
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, static_cast<int>(n), static_cast<int>(n),
                static_cast<int>(hd), scale, q.data() + h * hd, ld, k.data() + h * hd, ld, 0.0f,
                scores.data(), static_cast<int>(n));
    for (int64_t i = 0; i < n; ++i) {
      float* row = scores.data() + i * n;
      float best = row[0];
      for (int64_t j = 1; j < n; ++j) best = std::max(best, row[j]);
      float sum = 0.0f;
      for (int64_t j = 0; j < n; ++j) sum += (row[j] = std::exp(row[j] - best));
      for (int64_t j = 0; j < n; ++j) row[j] /= sum;
    }
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, static_cast<int>(n), static_cast<int>(hd),
                static_cast<int>(n), 1.0f, scores.data(), static_cast<int>(n), v.data() + h * hd, ld,
                0.0f, out.data() + h * hd, ld);
  }
}

void bench_attention(vlm::Backend& backend, int threads, double min_seconds) {
  const int64_t n = 1024, heads = 16, hd = 80;
  const float scale = 1.0f / std::sqrt(static_cast<float>(hd));
  const size_t count = static_cast<size_t>(n * heads * hd);
  auto q = random_values(count, 3), k = random_values(count, 4), v = random_values(count, 5);
  std::vector<int64_t> shape = {n, heads, hd};
  vlm::Tensor tq = backend.from_host_f32(q.data(), shape, vlm::DType::F32);
  vlm::Tensor tk = backend.from_host_f32(k.data(), shape, vlm::DType::F32);
  vlm::Tensor tv = backend.from_host_f32(v.data(), shape, vlm::DType::F32);
  vlm::Tensor out = backend.alloc(vlm::DType::F32, shape);
  const double flops = 4.0 * n * n * hd * heads;
  std::vector<int32_t> full = {0, static_cast<int32_t>(n)};
  double t_full = time_call([&] { backend.attention_varlen(tq, tk, tv, full, scale, out); }, min_seconds);
  std::vector<float> scores(static_cast<size_t>(n * n)), ref_out(count);
  openblas_set_num_threads(threads);
  double t_ref = time_call([&] { reference_attention(q, k, v, n, heads, hd, scale, scores, ref_out); },
                           min_seconds);
  openblas_set_num_threads(1);
  std::printf("attention varlen, one 1024-row segment, 16 heads x 80: %.2f ms, %.1f GFLOP/s; "
              "materialised-scores reference %.2f ms; ratio %.2f\n",
              t_full * 1e3, flops / t_full * 1e-9, t_ref * 1e3, t_ref / t_full);
  std::vector<int32_t> windows;
  for (int64_t r = 0; r <= n; r += 64) windows.push_back(static_cast<int32_t>(r));
  double t_win = time_call([&] { backend.attention_varlen(tq, tk, tv, windows, scale, out); }, min_seconds);
  std::printf("attention varlen, 16 windows of 64 rows, 16 heads x 80: %.3f ms, %.1f GFLOP/s\n",
              t_win * 1e3, flops / 16 / t_win * 1e-9);

  // Decode: one query against a 2048-token cache, 28 heads / 4 kv heads x 128 (7B-like GQA).
  const int64_t ctx = 2048, dh = 128, qh = 28, kvh = 4;
  auto cache = random_values(static_cast<size_t>(ctx * kvh * dh), 6);
  auto q1 = random_values(static_cast<size_t>(qh * dh), 7);
  vlm::Tensor kc = backend.from_host_f32(cache.data(), {ctx, kvh, dh}, vlm::DType::F32);
  vlm::Tensor tq1 = backend.from_host_f32(q1.data(), {1, qh, dh}, vlm::DType::F32);
  vlm::Tensor o1 = backend.alloc(vlm::DType::F32, {1, qh, dh});
  double t_dec = time_call([&] { backend.attention_causal(tq1, kc, kc, ctx - 1, 1.0f / std::sqrt(128.0f), o1); },
                           min_seconds);
  std::printf("attention causal decode, 2048 cached tokens, 28 q / 4 kv heads x 128: %.3f ms "
              "(%.1f GB/s of cache)\n", t_dec * 1e3, 2.0 * ctx * kvh * dh * 4 / t_dec * 1e-9);
}

}  // namespace

int main(int argc, char** argv) {
  int threads = 0;
  bool quick = false;
  for (int i = 1; i < argc; ++i) {
    if (std::strcmp(argv[i], "--threads") == 0 && i + 1 < argc) {
      threads = std::atoi(argv[++i]);
    } else if (std::strcmp(argv[i], "--quick") == 0) {
      quick = true;
    } else {
      std::fprintf(stderr, "usage: %s [--threads N] [--quick]\n", argv[0]);
      return 2;
    }
  }
  auto backend = vlm::make_cpu_backend(threads);
  if (threads <= 0) threads = static_cast<int>(std::thread::hardware_concurrency());
  const double min_seconds = quick ? 0.05 : 0.4;
  std::printf("backend: %s\n", backend->name().c_str());
  std::printf("%-22s %6s %6s %7s | %8s %8s %8s | %6s %6s   (GFLOP/s; ratio = ref time / ours)\n",
              "matmul", "M", "K", "N", "f32 w", "bf16 w", "ref", "f32", "bf16");
  const Shape shapes[] = {
      {"vision qkv", 1024, 1280, 3840},    {"vision proj", 1024, 1280, 1280},
      {"vision mlp up", 1024, 1280, 3420}, {"vision mlp down", 1024, 3420, 1280},
      {"merger fc", 256, 5120, 5120},      {"3B prefill q", 256, 2048, 2048},
      {"3B prefill mlp up", 256, 2048, 11008}, {"3B decode q", 1, 2048, 2048},
      {"3B decode mlp up", 1, 2048, 11008},    {"3B decode mlp down", 1, 11008, 2048},
      {"7B decode mlp up", 1, 3584, 18944},    {"3B lm_head", 1, 2048, 151936},
      {"decode batch 4", 4, 2048, 11008},
  };
  for (const Shape& s : shapes) {
    if (quick && s.M * s.N * s.K > 3'000'000'000LL) continue;
    bench_matmul(*backend, threads, s, min_seconds);
  }
  bench_attention(*backend, threads, min_seconds);
  return 0;
}
