// Recorded steps on CUDA (cuda/backend_cuda_steps.cpp: CUDA graphs) and the decoder's recorded
// single-token step (model/src/text/text_decode_step.cpp) on them:
// - a replay runs the recorded work again and reads what write() put in its inputs since;
// - scratch a recording allocated stays its own: tensors allocated after it are never overwritten
//   by a replay (without the pool's private set they would be: the block would be reused);
// - a recording that does something a graph cannot hold (a synchronisation) throws, and the
//   backend works normally afterwards;
// - copy_rows_at writes nothing for a position outside the destination;
// - the recorded decode step gives the eager step's logits on every fixture run, also after a
//   reset, also with our GEMV launched for programmatic dependent launch (VLM_CUDA_PDL=1); where
//   the step cannot be recorded (the emulation's VLM_EMU_NO_GRAPHS=1: a driver that refuses
//   captures; a no-op on a real GPU) decode() still decodes, op by op. Both run bf16 on the same
//   device; the recorded step joins q/k/v and gate/up into one GEMM each, so cuBLASLt may choose
//   other algorithms: tolerance 2e-2 of max|logit| (a few bf16 roundings; an indexing or position
//   bug gives errors of order 1). The emulation gives 0.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <utility>
#include <vector>

#include "fixture_runs.h"
#include "text/text_decoder.h"
#include "vlm/backend.h"
#include "vlm/checkpoint.h"
#include "vlm/config.h"
#include "vlm/error.h"
#include "vlm/rope_index.h"

namespace vlm {
namespace {

using testing::FixtureRun;
using testing::read_array;
using testing::relative_to_max;

constexpr double kRecordedVsEagerTolerance = 2e-2;

TEST(GpuSteps, ReplayRunsTheRecordingWithTheLatestInputs) {
  auto b = make_backend("cuda");
  ASSERT_TRUE(b->supports_recorded_steps());
  Tensor xb = b->alloc(DType::BF16, {1, 4});
  Tensor y = b->alloc(DType::BF16, {1, 4});
  Tensor at = b->alloc(DType::I32, {1});
  Tensor rows = b->alloc(DType::BF16, {3, 4});
  const std::vector<float> zeros(12, 0.0f);
  Tensor zero_rows = b->from_host_f32(zeros.data(), {3, 4}, DType::BF16);
  b->copy_rows(zero_rows, 0, rows, 0, 3);
  auto recording = b->record([&] {
    // Scratch allocated inside the recording: kept by it (the pool's private set).
    Tensor scratch = b->alloc(DType::BF16, {1, 4});
    b->add(xb, xb, scratch);
    b->add(scratch, xb, y);                 // y = 3·x
    b->copy_rows_at(y, rows, at);           // rows[at] = y
  });
  // Allocations after the recording must never share memory with its scratch.
  std::vector<Tensor> later;
  for (int i = 0; i < 8; ++i) {
    const std::vector<float> sevens(4, 7.0f);
    later.push_back(b->from_host_f32(sevens.data(), {1, 4}, DType::BF16));
  }
  for (int round = 0; round < 3; ++round) {
    const float base = static_cast<float>(round + 1);
    const std::vector<float> values = {base, -base, 0.5f * base, 2.0f};
    Tensor staged = b->from_host_f32(values.data(), {1, 4}, DType::BF16);
    b->copy_rows(staged, 0, xb, 0, 1);
    const int32_t row = round;
    b->write(at, &row);
    recording->replay();
    const auto got = b->to_host_f32(y);
    for (int i = 0; i < 4; ++i) EXPECT_EQ(got[static_cast<size_t>(i)], 3.0f * values[static_cast<size_t>(i)]) << round;
    const auto stored = b->to_host_f32(rows.slice_rows(row, 1));
    EXPECT_EQ(stored, got) << "copy_rows_at wrote row " << row;
  }
  for (const Tensor& t : later) EXPECT_EQ(b->to_host_f32(t), std::vector<float>(4, 7.0f));
  // A position outside the destination writes nothing.
  const auto before = b->to_host_f32(rows);
  const int32_t outside = 3;
  b->write(at, &outside);
  recording->replay();
  EXPECT_EQ(b->to_host_f32(rows), before);
}

TEST(GpuSteps, ARecordingThatSynchronisesFailsAndTheBackendStaysUsable) {
  auto b = make_backend("cuda");
  Tensor y = b->alloc(DType::BF16, {1, 4});
  const std::vector<float> ones(4, 1.0f);
  Tensor x = b->from_host_f32(ones.data(), {1, 4}, DType::BF16);
  EXPECT_THROW(b->record([&] {
                 b->add(x, x, y);
                 b->synchronize();  // a graph cannot hold a wait for the host
               }),
               Error);
  b->add(x, x, y);
  EXPECT_EQ(b->to_host_f32(y), std::vector<float>(4, 2.0f));
  auto ok = b->record([&] { b->add(y, x, y); });
  ok->replay();
  EXPECT_EQ(b->to_host_f32(y), std::vector<float>(4, 3.0f));
}

// Every fixture run's decode steps, recorded (one graph per step) and eager, on a backend made
// by make_backend("cuda") with the environment `env` (NAME=value pairs) set while it is created.
void check_recorded_step_matches_eager(const std::vector<std::pair<const char*, const char*>>& env,
                                       const char* label) {
  const auto runs = testing::list_runs();
  ASSERT_FALSE(runs.empty()) << "no fixtures under VLM_FIXTURES";
  for (const FixtureRun& r : runs) {
    SCOPED_TRACE(r.label());
    const ModelConfig config = load_model_config(r.checkpoint_dir / "config.json");
    const Checkpoint checkpoint = Checkpoint::open(r.checkpoint_dir);
    for (const auto& [name, value] : env) ::setenv(name, value, 1);
    auto backend = make_backend("cuda");
    for (const auto& [name, value] : env) ::unsetenv(name);
    const auto ids = read_array<int32_t>(r, "input_ids");
    const auto expected = read_array<int32_t>(r, "generated_ids");
    const int64_t n = static_cast<int64_t>(ids.size());
    TextDecoder recorded(config.text, checkpoint, *backend, n + 40);
    TextDecoder eager(config.text, checkpoint, *backend, n + 40);
    const auto positions = [&](int64_t count) {
      std::vector<int64_t> p(static_cast<size_t>(count));
      for (int64_t i = 0; i < count; ++i) p[static_cast<size_t>(i)] = i;
      return p;
    };
    const auto pos = positions(n);
    double worst = 0.0;
    for (int round = 0; round < 2; ++round) {
      recorded.reset();
      eager.reset();
      recorded.forward(recorded.embed(ids), pos, pos, pos, false);
      eager.forward(eager.embed(ids), pos, pos, pos, false);
      const size_t steps = std::min<size_t>(expected.size(), round == 0 ? 16 : 4);
      for (size_t step = 0; step < steps; ++step) {
        const int32_t feed = expected[step];
        const int64_t position = n + static_cast<int64_t>(step);
        const int64_t p1[1] = {position};
        const auto a = backend->to_host_f32(recorded.decode(feed, position));
        const auto e = backend->to_host_f32(eager.forward(eager.embed({&feed, 1}), p1, p1, p1, false));
        const double err = relative_to_max(a, e);
        worst = std::max(worst, err);
        ASSERT_LE(err, kRecordedVsEagerTolerance) << "round " << round << " step " << step;
      }
    }
    std::printf("[ figure ] %-28s recorded vs eager decode step%s, worst rel err %.3g\n",
                r.label().c_str(), label, worst);
  }
}

TEST(GpuSteps, RecordedDecodeStepMatchesTheEagerStep) { check_recorded_step_matches_eager({}, ""); }

// Our GEMV for every one-row matmul, launched for programmatic dependent launch (VLM_CUDA_PDL=1;
// sm_90+): the captured graph then has programmatic edges between the GEMVs. The same bound.
TEST(GpuSteps, RecordedDecodeStepWithProgrammaticLaunchMatchesTheEagerStep) {
  check_recorded_step_matches_eager({{"VLM_CUDA_PDL", "1"}, {"VLM_CUDA_GEMV", "ours"}}, " (gemv + PDL)");
}

TEST(GpuSteps, DecodingGoesOnWhenTheStepCannotBeRecorded) {
  const auto runs = testing::list_runs();
  ASSERT_FALSE(runs.empty()) << "no fixtures under VLM_FIXTURES";
  const FixtureRun& r = runs.front();
  const ModelConfig config = load_model_config(r.checkpoint_dir / "config.json");
  const Checkpoint checkpoint = Checkpoint::open(r.checkpoint_dir);
  auto backend = make_backend("cuda");
  TextDecoder refused(config.text, checkpoint, *backend, 16);
  TextDecoder eager(config.text, checkpoint, *backend, 16);
  ::setenv("VLM_EMU_NO_GRAPHS", "1", 1);
  for (int32_t step = 0; step < 4; ++step) {
    const int32_t id = 7 + step;
    const int64_t p1[1] = {step};
    const auto a = backend->to_host_f32(refused.decode(id, step));
    const auto e = backend->to_host_f32(eager.forward(eager.embed({&id, 1}), p1, p1, p1, false));
    EXPECT_LE(relative_to_max(a, e), kRecordedVsEagerTolerance) << "step " << step;
  }
  ::unsetenv("VLM_EMU_NO_GRAPHS");
  EXPECT_EQ(refused.n_past(), 4);
}

}  // namespace
}  // namespace vlm
