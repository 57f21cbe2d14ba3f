// Emulation check of kernels/sample.cu against the CPU sampler itself (model/src/text/sampler.cpp,
// compiled into this program): for the same logits row, params and uniform draw, the kernel must
// choose exactly the CPU's id. Rows are bf16 (the CUDA activations) or f32, vocab sizes 1 … 151936,
// with deliberate ties (values on a coarse grid) so top-k thresholds and top-p cut groups fall on
// ties; k and p edge cases (k = 1, V − 1, V, > V; p = 0, tiny, 1), temperature, penalty with
// repeated and out-of-range history ids, banned ids, greedy with penalty. Tolerance: none (ids
// equal); the kernel sums in another order than the CPU, which could matter only for a draw within
// a few ulps of a boundary — random draws make that vanishingly unlikely.
#include <cmath>
#include <cstdio>
#include <cstring>
#include <random>
#include <vector>

#include "launch.h"
#include "sample_ids.h"
#include "text/sampler.h"

using namespace vlm::cuda;

namespace {

uint16_t f2b(float v) {
  uint32_t w;
  std::memcpy(&w, &v, 4);
  return static_cast<uint16_t>((w + 0x7fffu + ((w >> 16) & 1u)) >> 16);
}
float b2f(uint16_t b) {
  uint32_t w = static_cast<uint32_t>(b) << 16;
  float f;
  std::memcpy(&f, &w, 4);
  return f;
}

std::mt19937 rng(7);
int cases = 0, fails = 0;

struct Case {
  int vocab;
  bool bf16;
  float grid;  // > 0: values rounded to multiples of it (ties)
  float scale;
  vlm::SamplerOptions options;
  int n_history, n_banned;
};

void run_case(const Case& c, double uniform) {
  std::normal_distribution<float> normal(0.0f, c.scale);
  std::vector<float> row(static_cast<size_t>(c.vocab));
  std::vector<uint16_t> row_bf16(row.size());
  for (size_t i = 0; i < row.size(); ++i) {
    float v = normal(rng);
    if (c.grid > 0) v = std::round(v / c.grid) * c.grid;
    row_bf16[i] = f2b(v);
    row[i] = c.bf16 ? b2f(row_bf16[i]) : v;
  }
  std::uniform_int_distribution<int> any_id(-3, c.vocab + 3);
  std::vector<int32_t> history, banned;
  for (int i = 0; i < c.n_history; ++i) history.push_back(any_id(rng));
  if (!history.empty()) history.push_back(history.front());  // a repeat
  for (int i = 0; i < c.n_banned; ++i) banned.push_back(any_id(rng));

  // CPU reference: the engine's host path.
  std::vector<float> cpu_row = row;
  for (int32_t id : banned) {
    if (id >= 0 && id < c.vocab) cpu_row[static_cast<size_t>(id)] = -INFINITY;
  }
  const int32_t expected = vlm::sample_with_draw(cpu_row, history, c.options, uniform);

  // Kernel, with the backend's host-side id preparation.
  const std::vector<int32_t> penalty_ids = c.options.repetition_penalty != 1.0f
      ? distinct_ids_in_range(history, c.vocab) : std::vector<int32_t>{};
  const std::vector<int32_t> banned_ids = distinct_ids_in_range(banned, c.vocab);
  std::vector<float> work(row.size());
  std::vector<double> weights(row.size());
  int32_t got = -1;
  SampleArgs a;
  a.logits = c.bf16 ? static_cast<const void*>(row_bf16.data()) : row.data();
  a.type = c.bf16 ? ElemType::BF16 : ElemType::F32;
  a.vocab = c.vocab;
  a.banned_ids = banned_ids.data();
  a.n_banned = static_cast<int32_t>(banned_ids.size());
  a.penalty_ids = penalty_ids.data();
  a.n_penalty = static_cast<int32_t>(penalty_ids.size());
  a.penalty = c.options.repetition_penalty;
  a.greedy = c.options.greedy;
  a.apply_temperature = !c.options.greedy && c.options.temperature != 1.0f;
  a.temperature = c.options.temperature;
  a.top_k = c.options.top_k > 0 && c.options.top_k < c.vocab ? c.options.top_k : 0;
  a.apply_top_p = !c.options.greedy && c.options.top_p < 1.0f;
  a.top_p = c.options.top_p;
  a.uniform = uniform;
  a.work = work.data();
  a.weights = weights.data();
  a.out = &got;
  launch_sample(a, nullptr);

  ++cases;
  const bool ok = got == expected;
  if (!ok) ++fails;
  std::printf("sample V=%-6d %s grid=%-4g greedy=%d T=%-4g k=%-6d p=%-6g pen=%-4g hist=%d ban=%d u=%.4f: "
              "cpu %d kernel %d %s\n",
              c.vocab, c.bf16 ? "bf16" : "f32 ", c.grid, c.options.greedy ? 1 : 0,
              c.options.temperature, c.options.top_k, c.options.top_p,
              c.options.repetition_penalty, c.n_history, c.n_banned, uniform, expected, got,
              ok ? "ok" : "FAIL");
}

vlm::SamplerOptions opts(bool greedy, float t, int k, float p, float penalty) {
  vlm::SamplerOptions o;
  o.greedy = greedy;
  o.temperature = t;
  o.top_k = k;
  o.top_p = p;
  o.repetition_penalty = penalty;
  return o;
}

}  // namespace

int main() {
  std::uniform_real_distribution<double> draw(0.0, 1.0);
  // Small and odd vocabularies, the k/p edges, with heavy ties (grid 0.5).
  for (int vocab : {1, 7, 4099}) {
    for (int k : {0, 1, vocab - 1, vocab + 5}) {
      if (vocab == 1 && k == vocab - 1) continue;
      for (float p : {1.0f, 0.5f, 0.0f}) {
        run_case({vocab, true, 0.5f, 2.0f, opts(false, 1.0f, k, p, 1.0f), 0, 0}, draw(rng));
      }
    }
    run_case({vocab, true, 0.0f, 3.0f, opts(false, 0.7f, 40, 0.8f, 1.3f), 30, 3}, draw(rng));
    run_case({vocab, false, 0.25f, 1.0f, opts(false, 1.5f, 0, 0.95f, 0.8f), 10, 2}, draw(rng));
    run_case({vocab, true, 1.0f, 2.0f, opts(true, 1.0f, 0, 1.0f, 1.2f), 50, 4}, 0.0);
  }
  // All values tied (grid 100 rounds everything to 0): top-k keeps all, top-p removes the lowest
  // indices of the one tie group, p = 0 keeps only the last index.
  for (float p : {0.5f, 1e-6f, 0.0f}) {
    run_case({1000, true, 100.0f, 1.0f, opts(false, 1.0f, 10, p, 1.0f), 0, 0}, draw(rng));
  }
  run_case({1000, true, 100.0f, 1.0f, opts(false, 1.0f, 0, 0.25f, 1.0f), 0, 0}, 0.999);
  // The Qwen2.5-VL vocabulary: the engine's usual settings, ties, penalty, bans, greedy paths.
  const int V = 151936;
  run_case({V, true, 0.0f, 3.0f, opts(false, 0.7f, 50, 0.8f, 1.05f), 2000, 2}, draw(rng));
  run_case({V, true, 0.0f, 3.0f, opts(false, 1.0f, 0, 0.9f, 1.0f), 0, 0}, draw(rng));
  run_case({V, true, 0.125f, 1.0f, opts(false, 1.0f, 0, 0.5f, 1.0f), 0, 0}, draw(rng));
  run_case({V, true, 0.5f, 2.0f, opts(false, 0.5f, 100, 1.0f, 1.0f), 0, 0}, draw(rng));
  run_case({V, true, 0.0f, 3.0f, opts(false, 1.0f, 0, 1.0f, 1.0f), 0, 0}, draw(rng));
  run_case({V, true, 0.0f, 3.0f, opts(false, 1.0f, 0, 1.0f, 1.0f), 0, 0}, 0.9999999999);
  run_case({V, true, 0.5f, 2.0f, opts(false, 1.0f, 1, 1.0f, 1.0f), 0, 0}, draw(rng));
  run_case({V, true, 0.5f, 2.0f, opts(false, 1.0f, 0, 0.0f, 1.0f), 0, 0}, draw(rng));
  run_case({V, true, 1.0f, 2.0f, opts(true, 1.0f, 0, 1.0f, 1.3f), 500, 2}, 0.0);
  run_case({V, false, 0.0f, 3.0f, opts(false, 1.3f, 20, 0.95f, 1.1f), 100, 1}, draw(rng));
  std::printf(fails ? "sample: %d of %d cases FAILED\n" : "sample: all %d cases ok\n",
              fails ? fails : cases, cases);
  return fails != 0;
}
