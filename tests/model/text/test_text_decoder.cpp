// The decoder alone against the HF 4.51.3 reference runs of tests/fixtures/models: position ids
// and rope_deltas exactly, prefill logits from the reference's own vision features (so a decoder
// failure is not hidden behind a vision one) within 1e-4 of the largest |logit|, and 32 greedy
// steps (EOS suppressed as the reference's min_new_tokens did) with identical tokens. The recorded
// single-token step (decode(), text_decode_step.cpp) gives the eager path's bits on the CPU.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <string>

#include "fixture_runs.h"
#include "text/text_decoder.h"
#include "vlm/backend.h"
#include "vlm/checkpoint.h"
#include "vlm/error.h"
#include "vlm/config.h"
#include "vlm/rope_index.h"

namespace vlm {
namespace {

using testing::FixtureRun;
using testing::read_array;
using testing::relative_to_max;

constexpr double kPrefillTolerance = 1e-4;  // max |ours − ref| / max |ref|, fp32 reference

RopeIndex rope_for(const FixtureRun& r, const ModelConfig& config, const std::vector<int32_t>& ids) {
  const auto image_grids = testing::read_grids(r, "image_grid_thw");
  const auto video_grids = testing::read_grids(r, "video_grid_thw");
  std::vector<float> seconds;
  if (r.has("second_per_grid_ts")) seconds = read_array<float>(r, "second_per_grid_ts");
  return get_rope_index(ids, image_grids, video_grids, seconds, RopeIndexOptions::from_config(config));
}

// Prompt embeddings with the reference's vision features written at the pad positions.
Tensor reference_embeds(const FixtureRun& r, const ModelConfig& config, Backend& backend,
                        TextDecoder& decoder, const std::vector<int32_t>& ids) {
  Tensor embeds = decoder.embed(ids);
  for (bool video : {false, true}) {
    const std::string name = video ? "videos_vision_out" : "images_vision_out";
    if (!r.has(name)) continue;
    const auto features = read_array<float>(r, name);
    const int64_t hidden = config.text.hidden_size;
    const Tensor rows = backend.from_host_f32(
        features.data(), {static_cast<int64_t>(features.size()) / hidden, hidden},
        backend.activation_dtype());
    const int32_t pad = video ? config.video_token_id : config.image_token_id;
    int64_t used = 0;
    for (size_t i = 0; i < ids.size(); ++i) {
      if (ids[i] == pad) backend.copy_rows(rows, used++, embeds, static_cast<int64_t>(i), 1);
    }
    EXPECT_EQ(used, rows.rows()) << name;
  }
  return embeds;
}

class DecoderRun {
 public:
  explicit DecoderRun(const FixtureRun& r)
      : config(load_model_config(r.checkpoint_dir / "config.json")),
        checkpoint(Checkpoint::open(r.checkpoint_dir)),
        backend(make_cpu_backend(2)),
        ids(read_array<int32_t>(r, "input_ids")),
        decoder(config.text, checkpoint, *backend, static_cast<int64_t>(ids.size()) + 40) {}
  ModelConfig config;
  Checkpoint checkpoint;
  std::unique_ptr<Backend> backend;
  std::vector<int32_t> ids;
  TextDecoder decoder;
};

TEST(TextDecoderFixture, PositionIdsMatchReference) {
  const auto runs = testing::list_runs();
  ASSERT_FALSE(runs.empty()) << "no fixtures under VLM_FIXTURES";
  for (const FixtureRun& r : runs) {
    SCOPED_TRACE(r.label());
    const ModelConfig config = load_model_config(r.checkpoint_dir / "config.json");
    const auto ids = read_array<int32_t>(r, "input_ids");
    const RopeIndex rope = rope_for(r, config, ids);
    const auto expected = read_array<int64_t>(r, "position_ids");
    const size_t n = ids.size();
    ASSERT_EQ(expected.size(), 3 * n);
    EXPECT_EQ(rope.t, std::vector<int64_t>(expected.begin(), expected.begin() + n));
    EXPECT_EQ(rope.h, std::vector<int64_t>(expected.begin() + n, expected.begin() + 2 * n));
    EXPECT_EQ(rope.w, std::vector<int64_t>(expected.begin() + 2 * n, expected.end()));
    EXPECT_EQ(rope.rope_delta, read_array<int64_t>(r, "rope_deltas").at(0));
  }
}

TEST(TextDecoderFixture, PrefillLogitsMatchReferenceFromReferenceVision) {
  const auto runs = testing::list_runs();
  ASSERT_FALSE(runs.empty()) << "no fixtures under VLM_FIXTURES";
  for (const FixtureRun& r : runs) {
    SCOPED_TRACE(r.label());
    DecoderRun d(r);
    const RopeIndex rope = rope_for(r, d.config, d.ids);
    Tensor embeds = reference_embeds(r, d.config, *d.backend, d.decoder, d.ids);
    const Tensor logits = d.decoder.forward(embeds, rope.t, rope.h, rope.w, true);
    const auto ours = d.backend->to_host_f32(logits);
    const auto ref = read_array<float>(r, "prefill_logits");
    ASSERT_EQ(ours.size(), ref.size());
    const double err = relative_to_max(ours, ref);
    std::printf("[ figure ] %-28s %-9s prefill logits rel err vs HF fp32 = %.3g\n", r.label().c_str(),
                r.run["checkpoint_storage_dtype"].get<std::string>().c_str(), err);
    EXPECT_LE(err, kPrefillTolerance);
  }
}

TEST(TextDecoderFixture, GreedyTokensMatchReference) {
  const auto runs = testing::list_runs();
  ASSERT_FALSE(runs.empty()) << "no fixtures under VLM_FIXTURES";
  for (const FixtureRun& r : runs) {
    SCOPED_TRACE(r.label());
    DecoderRun d(r);
    const RopeIndex rope = rope_for(r, d.config, d.ids);
    Tensor logits = d.decoder.forward(reference_embeds(r, d.config, *d.backend, d.decoder, d.ids),
                                      rope.t, rope.h, rope.w, false);
    const auto expected = read_array<int32_t>(r, "generated_ids");
    const auto suppressed = r.run["generation"]["suppressed_token_ids"].get<std::vector<int32_t>>();
    const int64_t n = static_cast<int64_t>(d.ids.size());
    std::vector<int32_t> ours;
    for (size_t step = 0; step < expected.size(); ++step) {
      std::vector<float> row = d.backend->to_host_f32(logits);
      for (int32_t id : suppressed) row[static_cast<size_t>(id)] = -INFINITY;
      const int32_t next = static_cast<int32_t>(std::max_element(row.begin(), row.end()) - row.begin());
      ours.push_back(next);
      const int64_t pos[1] = {decode_position(n + static_cast<int64_t>(step), rope.rope_delta)};
      // Feed the reference token so one early divergence does not hide the later steps.
      const int32_t feed = expected[step];
      logits = d.decoder.forward(d.decoder.embed({&feed, 1}), pos, pos, pos, false);
    }
    EXPECT_EQ(ours, expected);
  }
}

// Prefill in chunks (as the engine does for long prompts) sees the cached rows before each chunk:
// the last row's logits equal the reference's within the same tolerance.
TEST(TextDecoderFixture, ChunkedPrefillMatchesReference) {
  const auto runs = testing::list_runs();
  ASSERT_FALSE(runs.empty()) << "no fixtures under VLM_FIXTURES";
  for (const FixtureRun& r : runs) {
    SCOPED_TRACE(r.label());
    DecoderRun d(r);
    const RopeIndex rope = rope_for(r, d.config, d.ids);
    Tensor embeds = reference_embeds(r, d.config, *d.backend, d.decoder, d.ids);
    const int64_t n = static_cast<int64_t>(d.ids.size()), chunk = 7;
    Tensor logits;
    for (int64_t row0 = 0; row0 < n; row0 += chunk) {
      const size_t rows = static_cast<size_t>(std::min(chunk, n - row0));
      const auto part = [&](const std::vector<int64_t>& axis) {
        return std::span<const int64_t>(axis).subspan(static_cast<size_t>(row0), rows);
      };
      logits = d.decoder.forward(embeds.slice_rows(row0, static_cast<int64_t>(rows)), part(rope.t),
                                 part(rope.h), part(rope.w), false);
    }
    const auto ref = read_array<float>(r, "prefill_logits");
    const auto ours = d.backend->to_host_f32(logits);
    const std::vector<float> ref_last(ref.end() - static_cast<std::ptrdiff_t>(ours.size()), ref.end());
    EXPECT_LE(relative_to_max(ours, ref_last), kPrefillTolerance);
  }
}

// The first fixture checkpoint's decoder with a small cache, on one CPU thread.
struct SmallDecoder {
  explicit SmallDecoder(int64_t capacity)
      : run(testing::list_runs().at(0)),
        config(load_model_config(run.checkpoint_dir / "config.json")),
        checkpoint(Checkpoint::open(run.checkpoint_dir)),
        backend(make_cpu_backend(1)),
        decoder(config.text, checkpoint, *backend, capacity) {}
  FixtureRun run;
  ModelConfig config;
  Checkpoint checkpoint;
  std::unique_ptr<Backend> backend;
  TextDecoder decoder;
};

TEST(TextDecoder, ContextOverflowNamesBothNumbers) {
  ASSERT_FALSE(testing::list_runs().empty());
  SmallDecoder small(4);
  TextDecoder& decoder = small.decoder;
  const std::vector<int32_t> ids = {1, 2, 3, 4, 5};
  const std::vector<int64_t> pos = {0, 1, 2, 3, 4};
  try {
    decoder.forward(decoder.embed(ids), pos, pos, pos, false);
    FAIL() << "no error";
  } catch (const Error& error) {
    EXPECT_EQ(error.code(), ErrorCode::InvalidInput);
    EXPECT_NE(std::string(error.what()).find("5 new tokens"), std::string::npos) << error.what();
    EXPECT_NE(std::string(error.what()).find("context of 4"), std::string::npos) << error.what();
  }
}

// decode() runs the recorded step on the CPU backend (supports_recorded_steps): its logits equal
// forward(embed(id)) bit for bit at every step, also after reset() (the recording is made once
// and reads the new cache position), and its tokens follow the reference.
TEST(TextDecoderFixture, RecordedDecodeStepEqualsTheEagerStep) {
  const auto runs = testing::list_runs();
  ASSERT_FALSE(runs.empty()) << "no fixtures under VLM_FIXTURES";
  for (const FixtureRun& r : runs) {
    SCOPED_TRACE(r.label());
    DecoderRun recorded(r), eager(r);
    ASSERT_TRUE(recorded.backend->supports_recorded_steps());
    const RopeIndex rope = rope_for(r, recorded.config, recorded.ids);
    const auto expected = read_array<int32_t>(r, "generated_ids");
    const int64_t n = static_cast<int64_t>(recorded.ids.size());
    for (int round = 0; round < 2; ++round) {  // the second round after reset()
      SCOPED_TRACE("round " + std::to_string(round));
      recorded.decoder.reset();
      eager.decoder.reset();
      Tensor a = recorded.decoder.forward(reference_embeds(r, recorded.config, *recorded.backend,
                                                           recorded.decoder, recorded.ids),
                                          rope.t, rope.h, rope.w, false);
      Tensor b = eager.decoder.forward(reference_embeds(r, eager.config, *eager.backend, eager.decoder,
                                                        eager.ids),
                                       rope.t, rope.h, rope.w, false);
      const size_t steps = std::min<size_t>(expected.size(), round == 0 ? 12 : 5);
      for (size_t step = 0; step < steps; ++step) {
        const int32_t feed = expected[step];
        const int64_t position = decode_position(n + static_cast<int64_t>(step), rope.rope_delta);
        const int64_t pos[1] = {position};
        a = recorded.decoder.decode(feed, position);
        b = eager.decoder.forward(eager.decoder.embed({&feed, 1}), pos, pos, pos, false);
        const auto row_a = recorded.backend->to_host_f32(a);
        ASSERT_EQ(row_a, eager.backend->to_host_f32(b)) << "step " << step;
        ASSERT_EQ(recorded.decoder.n_past(), eager.decoder.n_past());
        if (step + 1 < expected.size()) {  // the reference's next token (EOS suppressed there)
          std::vector<float> row = row_a;
          for (int32_t id : r.run["generation"]["suppressed_token_ids"].get<std::vector<int32_t>>()) {
            row[static_cast<size_t>(id)] = -INFINITY;
          }
          EXPECT_EQ(std::max_element(row.begin(), row.end()) - row.begin(), expected[step + 1]);
        }
      }
    }
  }
}

TEST(TextDecoder, RecordedDecodeStepRefusesAFullCacheAndBadIds) {
  ASSERT_FALSE(testing::list_runs().empty());
  SmallDecoder small(2);
  TextDecoder& decoder = small.decoder;
  const ModelConfig& config = small.config;
  decoder.decode(1, 0);
  decoder.decode(2, 1);
  try {
    decoder.decode(3, 2);
    FAIL() << "no error";
  } catch (const Error& error) {
    EXPECT_EQ(error.code(), ErrorCode::InvalidInput);
    EXPECT_NE(std::string(error.what()).find("context of 2"), std::string::npos) << error.what();
  }
  EXPECT_EQ(decoder.n_past(), 2);
  decoder.reset();
  try {
    decoder.decode(config.text.vocab_size, 0);
    FAIL() << "no error";
  } catch (const Error& error) {
    EXPECT_EQ(error.code(), ErrorCode::InvalidInput);
    EXPECT_NE(std::string(error.what()).find("outside the embedding table"), std::string::npos);
  }
  EXPECT_EQ(decoder.n_past(), 0);
}

}  // namespace
}  // namespace vlm
