// The vision encoder on a small random checkpoint against the independent naive forward pass of
// synthetic_vision.cpp (double precision, mask-based windows, no permutation), plus the loader's
// refusals (missing tensor, wrong shape, unsupported family), the zero-padded MLP width a device
// backend asks for, the joined q|k|v and gate|up path a backend that joins weights takes, and
// call-level behaviour (batching, buffer reuse, cancellation, input checks). Parity with the HF
// reference is in test_vision_fixtures.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <string>
#include <vector>

#include "../joining_cpu_backend.h"
#include "synthetic_vision.h"
#include "vision/vision_weights.h"
#include "vlm/backend.h"
#include "vlm/checkpoint.h"
#include "vlm/error.h"
#include "vlm/log.h"
#include "vlm/vision_encoder.h"

namespace vlm {
namespace {

using test::HostWeights;

int64_t patch_dim(const VisionConfig& v) {
  return static_cast<int64_t>(v.in_channels) * v.temporal_patch_size * v.patch_size * v.patch_size;
}

// max |a − b| / max |b|
double relative_to_peak(const std::vector<float>& got, const std::vector<double>& want) {
  double peak = 0, err = 0;
  for (size_t i = 0; i < want.size(); ++i) {
    peak = std::max(peak, std::abs(want[i]));
    err = std::max(err, std::abs(static_cast<double>(got[i]) - want[i]));
  }
  return peak > 0 ? err / peak : err;
}

class SyntheticEncoder : public ::testing::Test {
 protected:
  void SetUp() override { backend_ = make_cpu_backend(2); }
  void TearDown() override {
    for (const auto& dir : dirs_) std::filesystem::remove_all(dir);
  }

  // The tiny config and its random weights (dtype, seed), written as a checkpoint (dtype) to a
  // fresh folder that is removed after the test.
  struct Written {
    ModelConfig config;
    HostWeights weights;
    std::filesystem::path dir;
  };
  Written write_random(const std::string& tag, DType dtype, uint32_t seed) {
    Written w{test::tiny_vision_config(), {}, test::fresh_temp_dir(tag)};
    w.weights = test::random_vision_weights(w.config.vision, dtype, seed);
    test::write_checkpoint(w.dir, w.weights, dtype);
    dirs_.push_back(w.dir);
    return w;
  }
  std::filesystem::path fresh_dir(const std::string& tag) {
    dirs_.push_back(test::fresh_temp_dir(tag));
    return dirs_.back();
  }

  std::vector<float> encode_with(const ModelConfig& config, const std::filesystem::path& dir,
                                 const std::vector<float>& pixels, const std::vector<GridThw>& grids) {
    Checkpoint checkpoint = Checkpoint::open(dir);
    VisionEncoder encoder(config, checkpoint, *backend_);
    Tensor out = encoder.encode(pixels, grids);
    EXPECT_EQ(out.rows(), [&] {
      int64_t u = 0;
      for (const GridThw& g : grids) u += g.tokens();
      return u;
    }());
    EXPECT_EQ(out.cols(), config.vision.out_hidden_size);
    return backend_->to_host_f32(out);
  }

  std::unique_ptr<Backend> backend_;
  std::vector<std::filesystem::path> dirs_;
};

// Images with padded windows, an odd-sized grid, a 3-group video, and a single merge unit.
const std::vector<GridThw> kMixedGrids{{1, 6, 10}, {3, 4, 6}, {1, 2, 2}, {1, 10, 4}};

TEST_F(SyntheticEncoder, F32MatchesNaiveReferenceOnImagesAndVideo) {
  const auto [config, weights, dir] = write_random("f32", DType::F32, 7);
  const std::vector<float> pixels = test::random_pixels(kMixedGrids, patch_dim(config.vision), 11);
  const std::vector<float> got = encode_with(config, dir, pixels, kMixedGrids);
  const std::vector<double> want = test::naive_vision_forward(config.vision, weights, pixels, kMixedGrids);
  ASSERT_EQ(got.size(), want.size());
  const double err = relative_to_peak(got, want);
  std::printf("[vision] f32 encoder vs naive double reference: max error / peak = %.3g\n", err);
  EXPECT_LT(err, 1e-5);  // f32 arithmetic over 3 blocks; 1e-5 of the largest magnitude
}

TEST_F(SyntheticEncoder, Bf16WeightsMatchNaiveReferenceOnTheSameWeights) {
  const auto [config, weights, dir] = write_random("bf16", DType::BF16, 8);
  const std::vector<float> pixels = test::random_pixels(kMixedGrids, patch_dim(config.vision), 12);
  const std::vector<float> got = encode_with(config, dir, pixels, kMixedGrids);
  const std::vector<double> want = test::naive_vision_forward(config.vision, weights, pixels, kMixedGrids);
  const double err = relative_to_peak(got, want);
  std::printf("[vision] bf16-weight encoder (%s activations) vs naive double reference: %.3g\n",
              dtype_name(backend_->activation_dtype()), err);
  // f32 activations on bf16 weights compute exactly the f32 model of the rounded weights.
  EXPECT_LT(err, backend_->activation_dtype() == DType::F32 ? 1e-5 : 2e-2);
}

TEST_F(SyntheticEncoder, NewStyleTensorNamesGiveTheSameOutput) {
  const ModelConfig config = test::tiny_vision_config();
  const HostWeights weights = test::random_vision_weights(config.vision, DType::F32, 9);
  const auto old_dir = fresh_dir("old");
  const auto new_dir = fresh_dir("new");
  test::write_checkpoint(old_dir, weights, DType::F32, "visual.");
  test::write_checkpoint(new_dir, weights, DType::F32, "model.visual.");
  const std::vector<GridThw> grids{{1, 4, 8}};
  const std::vector<float> pixels = test::random_pixels(grids, patch_dim(config.vision), 13);
  EXPECT_EQ(encode_with(config, old_dir, pixels, grids), encode_with(config, new_dir, pixels, grids));
}

TEST_F(SyntheticEncoder, ItemsEncodedTogetherEqualItemsEncodedAlone) {
  const auto [config, weights, dir] = write_random("batch", DType::F32, 10);
  Checkpoint checkpoint = Checkpoint::open(dir);
  VisionEncoder encoder(config, checkpoint, *backend_);
  const int64_t pd = patch_dim(config.vision);
  const std::vector<float> pixels = test::random_pixels(kMixedGrids, pd, 14);
  // Large call first, then each item alone (buffers are reused, smaller), then the large call again.
  const std::vector<float> together = backend_->to_host_f32(encoder.encode(pixels, kMixedGrids));
  std::vector<float> alone;
  size_t offset = 0;
  for (const GridThw& g : kMixedGrids) {
    const size_t count = static_cast<size_t>(g.patches() * pd);
    std::vector<GridThw> one{g};
    const std::vector<float> part = backend_->to_host_f32(
        encoder.encode(std::span<const float>(pixels.data() + offset, count), one));
    alone.insert(alone.end(), part.begin(), part.end());
    offset += count;
  }
  const std::vector<float> again = backend_->to_host_f32(encoder.encode(pixels, kMixedGrids));
  EXPECT_EQ(together, again);
  ASSERT_EQ(together.size(), alone.size());
  std::vector<double> alone_d(alone.begin(), alone.end());
  EXPECT_LT(relative_to_peak(together, alone_d), 1e-6);  // only GEMM blocking may differ
}

TEST_F(SyntheticEncoder, ChunkedEncodingMatchesNaiveReference) {
  // Group sizes of kMixedGrids: 60 | 24 24 24 | 4 | 40 patches. Budget 1 runs every group alone
  // (and the MLP in 1-row blocks), 20 splits every group's MLP, 30 and 100 pack several groups and
  // items into one chunk, 10000 runs the call whole.
  const auto [config, weights, dir] = write_random("chunks", DType::F32, 15);
  Checkpoint checkpoint = Checkpoint::open(dir);
  VisionEncoder encoder(config, checkpoint, *backend_);
  const std::vector<float> pixels = test::random_pixels(kMixedGrids, patch_dim(config.vision), 16);
  const std::vector<double> want = test::naive_vision_forward(config.vision, weights, pixels, kMixedGrids);
  for (int64_t budget : {1, 20, 30, 100, 10000}) {
    encoder.set_max_chunk_patches(budget);
    const std::vector<float> got = backend_->to_host_f32(encoder.encode(pixels, kMixedGrids));
    ASSERT_EQ(got.size(), want.size()) << "budget " << budget;
    EXPECT_LT(relative_to_peak(got, want), 1e-5) << "budget " << budget;
  }
  EXPECT_THROW(encoder.set_max_chunk_patches(0), Error);
}

TEST_F(SyntheticEncoder, MlpWidthPaddedWithZerosGivesTheSameOutput) {
  // intermediate_size 40 padded to 48 (16), 42 (7) or kept (8, 40): zero gate/up rows and biases,
  // zero down columns. The output must stay the naive reference's and the unpadded encoder's (only
  // the matmul's summation blocking may differ); the padding must be zeros.
  const auto [config, weights, dir] = write_random("padded", DType::BF16, 17);
  ASSERT_EQ(config.vision.intermediate_size, 40);
  Checkpoint checkpoint = Checkpoint::open(dir);
  const std::vector<float> pixels = test::random_pixels(kMixedGrids, patch_dim(config.vision), 18);
  const std::vector<double> want = test::naive_vision_forward(config.vision, weights, pixels, kMixedGrids);
  VisionEncoder plain(config, checkpoint, *backend_, VisionEncoderOptions{.mlp_width_multiple = 1});
  const std::vector<float> unpadded = backend_->to_host_f32(plain.encode(pixels, kMixedGrids));
  const std::vector<double> unpadded_d(unpadded.begin(), unpadded.end());
  for (int64_t multiple : {16, 7, 8, 40}) {
    VisionEncoder encoder(config, checkpoint, *backend_, VisionEncoderOptions{.mlp_width_multiple = multiple});
    const std::vector<float> got = backend_->to_host_f32(encoder.encode(pixels, kMixedGrids));
    ASSERT_EQ(got.size(), want.size()) << "multiple " << multiple;
    EXPECT_LT(relative_to_peak(got, want), 1e-5) << "multiple " << multiple;
    EXPECT_LT(relative_to_peak(got, unpadded_d), 1e-6) << "multiple " << multiple;
  }
  const VisionWeights padded = load_vision_weights(config.vision, checkpoint, *backend_, 16);
  EXPECT_EQ(padded.mlp_width, 48);
  for (const VisionBlockWeights& block : padded.blocks) {
    ASSERT_EQ(block.gate_weight.shape(), (std::vector<int64_t>{48, config.vision.hidden_size}));
    ASSERT_EQ(block.down_weight.shape(), (std::vector<int64_t>{config.vision.hidden_size, 48}));
    const auto gate = backend_->to_host_f32(block.gate_weight);
    const auto gate_bias = backend_->to_host_f32(block.gate_bias);
    const auto up = backend_->to_host_f32(block.up_weight);
    const auto up_bias = backend_->to_host_f32(block.up_bias);
    const auto down = backend_->to_host_f32(block.down_weight);
    const size_t c = static_cast<size_t>(config.vision.hidden_size);
    for (size_t i = 40 * c; i < 48 * c; ++i) ASSERT_TRUE(gate[i] == 0.0f && up[i] == 0.0f) << i;
    for (size_t i = 40; i < 48; ++i) ASSERT_TRUE(gate_bias[i] == 0.0f && up_bias[i] == 0.0f) << i;
    for (size_t row = 0; row < c; ++row) {
      for (size_t col = 40; col < 48; ++col) ASSERT_EQ(down[row * 48 + col], 0.0f) << row << "," << col;
    }
  }
  for (int64_t bad : {-1, 5000}) {
    try {
      VisionEncoder encoder(config, checkpoint, *backend_, VisionEncoderOptions{.mlp_width_multiple = bad});
      ADD_FAILURE() << "multiple " << bad << " accepted";
    } catch (const Error& e) {
      EXPECT_EQ(e.code(), ErrorCode::InvalidInput) << e.what();
      EXPECT_NE(std::string(e.what()).find("MLP width multiple"), std::string::npos) << e.what();
    }
  }
}

TEST_F(SyntheticEncoder, JoinedProjectionsGiveTheSameOutput) {
  // A backend that joins weights (as CUDA does) gets gate|up as one weight and bias whose parts are
  // views, and the encoder runs q|k|v and gate|up as one GEMM each (rope_attention_varlen_joined,
  // silu_mul_joined: the base class's defaults here). The output must stay the naive reference's
  // and the plain encoder's (only the GEMMs' shapes differ), padded or not.
  const auto [config, weights, dir] = write_random("joined", DType::BF16, 23);
  Checkpoint checkpoint = Checkpoint::open(dir);
  const std::vector<float> pixels = test::random_pixels(kMixedGrids, patch_dim(config.vision), 24);
  const std::vector<double> want = test::naive_vision_forward(config.vision, weights, pixels, kMixedGrids);
  const int depth = config.vision.depth;
  for (int64_t multiple : {1, 16}) {
    SCOPED_TRACE("MLP width multiple " + std::to_string(multiple));
    const VisionEncoderOptions options{.mlp_width_multiple = multiple};
    VisionEncoder plain(config, checkpoint, *backend_, options);
    const std::vector<float> plain_out = backend_->to_host_f32(plain.encode(pixels, kMixedGrids));
    test::JoiningCpuBackend joining;
    VisionEncoder joined(config, checkpoint, joining, options);
    EXPECT_EQ(joining.concats, 2 * depth) << "gate|up weight and bias per block";
    const std::vector<float> got = joining.to_host_f32(joined.encode(pixels, kMixedGrids));
    EXPECT_EQ(joining.varlen_joins, depth);
    EXPECT_EQ(joining.silu_mul_joins, depth);
    ASSERT_EQ(got.size(), want.size());
    EXPECT_LT(relative_to_peak(got, want), 1e-5);
    EXPECT_LT(relative_to_peak(got, std::vector<double>(plain_out.begin(), plain_out.end())), 1e-6);
    // The parts are views of the joined tensors, holding the separately loaded values.
    const VisionWeights separate = load_vision_weights(config.vision, checkpoint, *backend_, multiple);
    const VisionWeights together = load_vision_weights(config.vision, checkpoint, joining, multiple);
    const VisionBlockWeights& a = separate.blocks.front();
    const VisionBlockWeights& b = together.blocks.front();
    EXPECT_TRUE(a.gate_up_weight.empty());
    ASSERT_EQ(b.gate_up_weight.rows(), 2 * together.mlp_width);
    ASSERT_EQ(b.gate_up_bias.numel(), 2 * together.mlp_width);
    EXPECT_EQ(b.up_weight.data(), b.gate_up_weight.slice_rows(together.mlp_width, together.mlp_width).data());
    EXPECT_EQ(joining.to_host_f32(b.gate_weight), backend_->to_host_f32(a.gate_weight));
    EXPECT_EQ(joining.to_host_f32(b.up_weight), backend_->to_host_f32(a.up_weight));
    EXPECT_EQ(joining.to_host_f32(b.gate_bias), backend_->to_host_f32(a.gate_bias));
    EXPECT_EQ(joining.to_host_f32(b.up_bias), backend_->to_host_f32(a.up_bias));
  }
}

// A joining CPU backend that asks for MLP row blocks of `rows` and records what it was asked with.
class RowBlockingCpuBackend : public test::JoiningCpuBackend {
 public:
  explicit RowBlockingCpuBackend(int64_t rows) : rows_(rows) {}
  int64_t preferred_row_block(int64_t intermediate_bytes_per_row) const override {
    asked_bytes_per_row = intermediate_bytes_per_row;
    return rows_;
  }
  mutable int64_t asked_bytes_per_row = 0;

 private:
  int64_t rows_;
};

TEST_F(SyntheticEncoder, BackendRowBlocksGiveTheSameOutput) {
  // kMixedGrids is one chunk of 176 patches. A backend preferring 32-row blocks gets the MLP, the
  // residual add and the next norm in ceil(176/32) = 6 blocks per encoder block, 1-row blocks in
  // 176, 0 (no preference) in one; max_chunk_patches still caps a preference above it. Every op
  // there is row-wise: the output must be the unblocked encoder's.
  const auto [config, weights, dir] = write_random("row-blocks", DType::BF16, 25);
  Checkpoint checkpoint = Checkpoint::open(dir);
  const std::vector<float> pixels = test::random_pixels(kMixedGrids, patch_dim(config.vision), 26);
  const std::vector<double> want = test::naive_vision_forward(config.vision, weights, pixels, kMixedGrids);
  const int depth = config.vision.depth;
  struct Case {
    int64_t preferred, max_chunk, blocks;
  };
  for (const Case& c : {Case{0, 16384, 1}, Case{32, 16384, 6}, Case{1, 16384, 176}, Case{100, 50, 5}}) {
    SCOPED_TRACE("preferred " + std::to_string(c.preferred) + ", max chunk " + std::to_string(c.max_chunk));
    RowBlockingCpuBackend backend(c.preferred);
    VisionEncoder encoder(config, checkpoint, backend);
    encoder.set_max_chunk_patches(c.max_chunk);
    const std::vector<float> got = backend.to_host_f32(encoder.encode(pixels, kMixedGrids));
    ASSERT_EQ(got.size(), want.size());
    EXPECT_LT(relative_to_peak(got, want), 1e-5);
    const int64_t width = config.vision.intermediate_size;
    EXPECT_EQ(backend.asked_bytes_per_row,
              static_cast<int64_t>(dtype_size(backend.activation_dtype())) *
                  (3 * width + config.vision.hidden_size));
    // With max chunk 50: chunks 60 | 24 24 | 24 4 | 40 (whole groups), each chunk's MLP in blocks
    // of at most 50 rows: the 60-patch group's two, one for each other chunk.
    EXPECT_EQ(backend.silu_mul_joins, c.blocks * depth);
  }
}

TEST_F(SyntheticEncoder, MissingTensorIsNamed) {
  const ModelConfig config = test::tiny_vision_config();
  const HostWeights weights = test::random_vision_weights(config.vision, DType::F32, 1);
  for (const std::string& missing :
       {std::string("visual.blocks.2.mlp.up_proj.bias"), std::string("visual.merger.mlp.2.weight"),
        std::string("visual.patch_embed.proj.weight")}) {
    const auto dir = fresh_dir("missing");
    test::write_checkpoint(dir, weights, DType::F32, "visual.", {missing});
    Checkpoint checkpoint = Checkpoint::open(dir);
    try {
      VisionEncoder encoder(config, checkpoint, *backend_);
      ADD_FAILURE() << "no error for missing " << missing;
    } catch (const Error& e) {
      EXPECT_EQ(e.code(), ErrorCode::NotFound) << e.what();
      EXPECT_NE(std::string(e.what()).find(missing), std::string::npos) << e.what();
    }
  }
}

TEST_F(SyntheticEncoder, WrongShapeIsNamedWithBothShapes) {
  const ModelConfig config = test::tiny_vision_config();
  HostWeights weights = test::random_vision_weights(config.vision, DType::F32, 2);
  weights["blocks.1.attn.qkv.weight"].shape = {32, 96};  // transposed
  const auto dir = fresh_dir("shape");
  test::write_checkpoint(dir, weights, DType::F32);
  Checkpoint checkpoint = Checkpoint::open(dir);
  try {
    VisionEncoder encoder(config, checkpoint, *backend_);
    ADD_FAILURE() << "no error for a transposed qkv weight";
  } catch (const Error& e) {
    const std::string what = e.what();
    EXPECT_EQ(e.code(), ErrorCode::InvalidModel) << what;
    EXPECT_NE(what.find("visual.blocks.1.attn.qkv.weight"), std::string::npos) << what;
    EXPECT_NE(what.find("[32, 96]"), std::string::npos) << what;
    EXPECT_NE(what.find("[96, 32]"), std::string::npos) << what;
  }
}

TEST_F(SyntheticEncoder, ConfigDisagreeingWithCheckpointIsRefused) {
  auto [config, weights, dir] = write_random("config", DType::F32, 3);
  Checkpoint checkpoint = Checkpoint::open(dir);
  config.vision.intermediate_size = 41;
  try {
    VisionEncoder encoder(config, checkpoint, *backend_);
    ADD_FAILURE() << "no error for intermediate_size 41";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::InvalidModel) << e.what();
    EXPECT_NE(std::string(e.what()).find("visual.blocks.0.mlp.gate_proj.weight"), std::string::npos)
        << e.what();
  }
}

TEST_F(SyntheticEncoder, UnusedVisualTensorsAreReportedAsWarning) {
  auto [config, weights, dir] = write_random("unused", DType::F32, 17);
  Checkpoint checkpoint = Checkpoint::open(dir);
  std::vector<std::string> warnings;
  set_log_level(LogLevel::Debug);
  set_log_callback([&](LogLevel level, std::string_view message) {
    if (level == LogLevel::Warning) warnings.emplace_back(message);
  });
  config.vision.depth = 2;  // the checkpoint holds 3 blocks
  config.vision.fullatt_block_indexes = {1};
  { VisionEncoder encoder(config, checkpoint, *backend_); }
  set_log_callback(nullptr);
  set_log_level(LogLevel::Info);
  ASSERT_EQ(warnings.size(), 1u);
  EXPECT_NE(warnings[0].find("visual.blocks.2."), std::string::npos) << warnings[0];
  EXPECT_NE(warnings[0].find("12 checkpoint tensor"), std::string::npos) << warnings[0];
}

TEST_F(SyntheticEncoder, Qwen2VlFamilyIsUnsupported) {
  auto [config, weights, dir] = write_random("family", DType::F32, 4);
  Checkpoint checkpoint = Checkpoint::open(dir);
  config.family = ModelFamily::Qwen2VL;
  try {
    VisionEncoder encoder(config, checkpoint, *backend_);
    ADD_FAILURE() << "Qwen2-VL accepted";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::Unsupported) << e.what();
  }
}

TEST_F(SyntheticEncoder, BadInputsAndCancellationRaiseErrors) {
  const auto [config, weights, dir] = write_random("inputs", DType::F32, 5);
  Checkpoint checkpoint = Checkpoint::open(dir);
  VisionEncoder encoder(config, checkpoint, *backend_);
  const std::vector<GridThw> grids{{1, 4, 4}};
  std::vector<float> pixels = test::random_pixels(grids, patch_dim(config.vision), 6);
  pixels.pop_back();
  try {
    encoder.encode(pixels, grids);
    ADD_FAILURE() << "short pixel_values accepted";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::InvalidInput) << e.what();
  }
  const std::vector<GridThw> none;
  EXPECT_EQ(encoder.encode({}, none).rows(), 0);
  const std::vector<GridThw> odd{{1, 4, 5}};
  EXPECT_THROW(encoder.encode(test::random_pixels(odd, patch_dim(config.vision), 6), odd), Error);
  pixels = test::random_pixels(grids, patch_dim(config.vision), 6);
  CancelToken cancel;
  cancel.cancel();
  try {
    encoder.encode(pixels, grids, &cancel);
    ADD_FAILURE() << "cancelled encode returned";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::Cancelled) << e.what();
  }
}

}  // namespace
}  // namespace vlm
