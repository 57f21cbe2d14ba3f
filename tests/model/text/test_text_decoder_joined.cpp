// The decoder's joined-projection path (q|k|v and gate|up joined at load, one GEMM each, then
// rope_append and silu_mul_joined), which the CUDA backend takes, run on the CPU reference: a CPU
// backend that joins weights as CUDA does (the ops themselves are the base class's defaults) gives
// the logits of the plain CPU decoder, for whole and chunked prefills, single-token forwards after
// a cached prefix, and recorded decode steps. Tolerance 1e-5 of the largest |logit| (the same f32
// math; only the GEMMs' shapes differ).
#include <gtest/gtest.h>

#include <numeric>
#include <string>

#include "../joining_cpu_backend.h"
#include "fixture_runs.h"
#include "text/text_decoder.h"
#include "vlm/checkpoint.h"
#include "vlm/config.h"

namespace vlm {
namespace {

constexpr double kTolerance = 1e-5;

using test::JoiningCpuBackend;

// One fixture checkpoint's decoder on the plain CPU backend and on the joining one.
struct DecoderPair {
  explicit DecoderPair(const testing::FixtureRun& r)
      : config(load_model_config(r.checkpoint_dir / "config.json")),
        checkpoint(Checkpoint::open(r.checkpoint_dir)),
        ids(testing::read_array<int32_t>(r, "input_ids")),
        plain_backend(make_cpu_backend(2)),
        plain(config.text, checkpoint, *plain_backend, static_cast<int64_t>(ids.size()) + 8),
        joined(config.text, checkpoint, joining, static_cast<int64_t>(ids.size()) + 8) {}
  // max |joined − plain| / max |plain| of two logits tensors.
  double error(const Tensor& of_joined, const Tensor& of_plain) {
    return testing::relative_to_max(joining.to_host_f32(of_joined), plain_backend->to_host_f32(of_plain));
  }
  ModelConfig config;
  Checkpoint checkpoint;
  std::vector<int32_t> ids;
  std::unique_ptr<Backend> plain_backend;
  JoiningCpuBackend joining;
  TextDecoder plain, joined;
};

std::vector<int64_t> positions(int64_t from, int64_t n) {
  std::vector<int64_t> p(static_cast<size_t>(n));
  std::iota(p.begin(), p.end(), from);
  return p;
}

TEST(TextDecoderJoined, PrefillForwardsAndRecordedStepsGiveThePlainLogits) {
  const auto runs = testing::list_runs();
  ASSERT_FALSE(runs.empty()) << "no fixtures under VLM_FIXTURES";
  for (const testing::FixtureRun& r : runs) {
    SCOPED_TRACE(r.label());
    DecoderPair d(r);
    const int layers = d.config.text.num_hidden_layers;
    EXPECT_EQ(d.joining.concats, 3 * layers) << "q|k|v weights, their biases and gate|up, per layer";
    const int64_t n = static_cast<int64_t>(d.ids.size());
    const auto p = positions(0, n);
    const Tensor a = d.plain.forward(d.plain.embed(d.ids), p, p, p, true);
    const Tensor b = d.joined.forward(d.joined.embed(d.ids), p, p, p, true);
    EXPECT_EQ(d.joining.rope_appends, layers);
    EXPECT_EQ(d.joining.silu_mul_joins, layers);
    double worst = d.error(b, a);
    EXPECT_LE(worst, kTolerance) << "prefill, every row";
    // Two single-token forwards after the cached prefix, then two recorded steps.
    for (int64_t step = 0; step < 4; ++step) {
      const int32_t id = d.ids[static_cast<size_t>(step)];
      const auto at = positions(n + step, 1);
      const double err = step < 2 ? d.error(d.joined.forward(d.joined.embed({&id, 1}), at, at, at, false),
                                            d.plain.forward(d.plain.embed({&id, 1}), at, at, at, false))
                                  : d.error(d.joined.decode(id, n + step), d.plain.decode(id, n + step));
      EXPECT_LE(err, kTolerance) << "step " << step;
      worst = std::max(worst, err);
    }
    std::printf("[ figure ] %-28s joined vs separate projections: logits rel err %.3g\n",
                r.label().c_str(), worst);
  }
}

// Chunks of 7 rows, each seeing the cache of the previous ones, only the last row's logits (the
// last layer then runs its attention and MLP for that row alone).
TEST(TextDecoderJoined, ChunkedPrefillGivesThePlainLastRow) {
  const auto runs = testing::list_runs();
  ASSERT_FALSE(runs.empty()) << "no fixtures under VLM_FIXTURES";
  for (const testing::FixtureRun& r : runs) {
    SCOPED_TRACE(r.label());
    DecoderPair d(r);
    const int64_t n = static_cast<int64_t>(d.ids.size()), chunk = 7;
    for (int64_t row0 = 0; row0 < n; row0 += chunk) {
      const int64_t rows = std::min(chunk, n - row0);
      const std::span<const int32_t> part(d.ids.data() + row0, static_cast<size_t>(rows));
      const auto p = positions(row0, rows);
      const Tensor a = d.plain.forward(d.plain.embed(part), p, p, p, false);
      const Tensor b = d.joined.forward(d.joined.embed(part), p, p, p, false);
      EXPECT_LE(d.error(b, a), kTolerance) << "chunk at " << row0;
    }
  }
}

}  // namespace
}  // namespace vlm
