// get_rope_index against hand-worked vectors (spec §7.2), outputs of HF 4.51.3's
// Qwen2_5_VLForConditionalGeneration.get_rope_index (run once on the inputs written here and
// pasted with the call that produced them), the integer temporal rule (§7.3) worked by hand, and
// the timestamped entry point.
#include <gtest/gtest.h>

#include <vector>

#include "vlm/error.h"
#include "vlm/rope_index.h"

namespace vlm {
namespace {

constexpr int32_t VS = 151652, VE = 151653, IMG = 151655, VID = 151656;

std::vector<int32_t> concat(std::initializer_list<std::vector<int32_t>> parts) {
  std::vector<int32_t> out;
  for (const auto& p : parts) out.insert(out.end(), p.begin(), p.end());
  return out;
}
std::vector<int32_t> repeat(int32_t id, int n) { return std::vector<int32_t>(static_cast<size_t>(n), id); }

RopeIndexOptions options(bool integer = false) {
  RopeIndexOptions o;
  o.integer_temporal_ids = integer;
  return o;
}

TEST(RopeIndex, TextOnlyIsSequential) {
  const std::vector<int32_t> ids = {10, 11, 12, 13, 14};
  const RopeIndex r = get_rope_index(ids, {}, {}, {}, options());
  const std::vector<int64_t> expected = {0, 1, 2, 3, 4};
  EXPECT_EQ(r.t, expected);
  EXPECT_EQ(r.h, expected);
  EXPECT_EQ(r.w, expected);
  EXPECT_EQ(r.rope_delta, 0);
}

// Spec §7.2 first test vector: [t,t,t,VS, img×6 (grid 1,4,6), VE, t,t].
TEST(RopeIndex, SpecImageVector) {
  const auto ids = concat({{1, 2, 3, VS}, repeat(IMG, 6), {VE, 4, 5}});
  const GridThw grid{1, 4, 6};
  const RopeIndex r = get_rope_index(ids, {&grid, 1}, {}, {}, options());
  EXPECT_EQ(r.t, (std::vector<int64_t>{0, 1, 2, 3, 4, 4, 4, 4, 4, 4, 7, 8, 9}));
  EXPECT_EQ(r.h, (std::vector<int64_t>{0, 1, 2, 3, 4, 4, 4, 5, 5, 5, 7, 8, 9}));
  EXPECT_EQ(r.w, (std::vector<int64_t>{0, 1, 2, 3, 4, 5, 6, 4, 5, 6, 7, 8, 9}));
  EXPECT_EQ(r.rope_delta, -3);
}

// Spec §7.2 second test vector: [t,VS, vid×12 (grid 3,4,4), VE, t], s = 1.0.
TEST(RopeIndex, SpecVideoVector) {
  const auto ids = concat({{1, VS}, repeat(VID, 12), {VE, 2}});
  const GridThw grid{3, 4, 4};
  const float s = 1.0f;
  const RopeIndex r = get_rope_index(ids, {}, {&grid, 1}, {&s, 1}, options());
  EXPECT_EQ(r.t, (std::vector<int64_t>{0, 1, 2, 2, 2, 2, 4, 4, 4, 4, 6, 6, 6, 6, 7, 8}));
  EXPECT_EQ(r.h, (std::vector<int64_t>{0, 1, 2, 2, 3, 3, 2, 2, 3, 3, 2, 2, 3, 3, 7, 8}));
  EXPECT_EQ(r.w, (std::vector<int64_t>{0, 1, 2, 3, 2, 3, 2, 3, 2, 3, 2, 3, 2, 3, 7, 8}));
  EXPECT_EQ(r.rope_delta, -7);
}

// HF 4.51.3: get_rope_index([[1,VS]+[VID]*12+[VE,2]], video_grid_thw=[[12,2,2]],
// second_per_grid_ts=[1.05]).
TEST(RopeIndex, FloatRuleMatchesReferenceForFractionalSeconds) {
  const auto ids = concat({{1, VS}, repeat(VID, 12), {VE, 2}});
  const GridThw grid{12, 2, 2};
  const float s = 1.05f;
  const RopeIndex r = get_rope_index(ids, {}, {&grid, 1}, {&s, 1}, options());
  EXPECT_EQ(r.t, (std::vector<int64_t>{0, 1, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 23, 25, 26, 27}));
  EXPECT_EQ(r.h, (std::vector<int64_t>{0, 1, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 26, 27}));
  EXPECT_EQ(r.w, r.h);
  EXPECT_EQ(r.rope_delta, 12);
}

// Integer rule (HF >= 4.52): a·trunc(1.05)·2 = 2a, so groups 10 and 11 get 20 and 22 where the
// float rule gives 21 and 23 (spec §7.3 divergence); the text after starts at max + 1.
TEST(RopeIndex, IntegerRuleDivergesFromFloatRule) {
  const auto ids = concat({{1, VS}, repeat(VID, 12), {VE, 2}});
  const GridThw grid{12, 2, 2};
  const float s = 1.05f;
  const RopeIndex r = get_rope_index(ids, {}, {&grid, 1}, {&s, 1}, options(true));
  std::vector<int64_t> expected_t = {0, 1};
  for (int a = 0; a < 12; ++a) expected_t.push_back(2 + 2 * a);
  expected_t.push_back(25);
  expected_t.push_back(26);
  EXPECT_EQ(r.t, expected_t);
  EXPECT_EQ(r.rope_delta, 27 - 16);
}

// Integer rule with s = 0.5 collapses all temporal ids to 0 (spec §7.3); the float rule gives 0, 1.
TEST(RopeIndex, IntegerRuleCollapsesSubSecondGroups) {
  const auto ids = concat({{1, VS}, repeat(VID, 2), {VE}});
  const GridThw grid{2, 2, 2};
  const float s = 0.5f;
  EXPECT_EQ(get_rope_index(ids, {}, {&grid, 1}, {&s, 1}, options(true)).t,
            (std::vector<int64_t>{0, 1, 2, 2, 3}));
  EXPECT_EQ(get_rope_index(ids, {}, {&grid, 1}, {&s, 1}, options(false)).t,
            (std::vector<int64_t>{0, 1, 2, 3, 4}));
}

// HF 4.51.3: ids [5,6,VS]+[IMG]*2+[VE,7,VS]+[VID]*4+[VE,8,9], image_grid_thw [[1,2,4]],
// video_grid_thw [[2,4,2]], second_per_grid_ts [0.5].
TEST(RopeIndex, MixedImageThenVideoMatchesReference) {
  const auto ids = concat({{5, 6, VS}, repeat(IMG, 2), {VE, 7, VS}, repeat(VID, 4), {VE, 8, 9}});
  const GridThw image{1, 2, 4}, video{2, 4, 2};
  const float s = 0.5f;
  const RopeIndex r = get_rope_index(ids, {&image, 1}, {&video, 1}, {&s, 1}, options());
  EXPECT_EQ(r.t, (std::vector<int64_t>{0, 1, 2, 3, 3, 5, 6, 7, 8, 8, 9, 9, 10, 11, 12}));
  EXPECT_EQ(r.h, (std::vector<int64_t>{0, 1, 2, 3, 3, 5, 6, 7, 8, 9, 8, 9, 10, 11, 12}));
  EXPECT_EQ(r.w, (std::vector<int64_t>{0, 1, 2, 3, 4, 5, 6, 7, 8, 8, 8, 8, 10, 11, 12}));
  EXPECT_EQ(r.rope_delta, -2);
}

// HF 4.51.3: ids [5,VS]+[VID]*4+[VE,VS]+[IMG]*4+[VE,8], image_grid_thw [[1,4,4]],
// video_grid_thw [[4,2,2]], second_per_grid_ts [1.0].
TEST(RopeIndex, MixedVideoThenImageMatchesReference) {
  const auto ids = concat({{5, VS}, repeat(VID, 4), {VE, VS}, repeat(IMG, 4), {VE, 8}});
  const GridThw image{1, 4, 4}, video{4, 2, 2};
  const float s = 1.0f;
  const RopeIndex r = get_rope_index(ids, {&image, 1}, {&video, 1}, {&s, 1}, options());
  EXPECT_EQ(r.t, (std::vector<int64_t>{0, 1, 2, 4, 6, 8, 9, 10, 11, 11, 11, 11, 13, 14}));
  EXPECT_EQ(r.h, (std::vector<int64_t>{0, 1, 2, 2, 2, 2, 9, 10, 11, 11, 12, 12, 13, 14}));
  EXPECT_EQ(r.w, (std::vector<int64_t>{0, 1, 2, 2, 2, 2, 9, 10, 11, 12, 11, 12, 13, 14}));
  EXPECT_EQ(r.rope_delta, 1);
}

TEST(RopeIndex, MissingSecondsCountAsOne) {
  const auto ids = concat({{1, VS}, repeat(VID, 12), {VE, 2}});
  const GridThw grid{3, 4, 4};
  const float one = 1.0f;
  EXPECT_EQ(get_rope_index(ids, {}, {&grid, 1}, {}, options()).t,
            get_rope_index(ids, {}, {&grid, 1}, {&one, 1}, options()).t);
}

TEST(RopeIndex, Qwen2VlUsesGroupIndex) {
  const auto ids = concat({{1, VS}, repeat(VID, 3), {VE}});
  const GridThw grid{3, 2, 2};
  const float s = 1.0f;
  RopeIndexOptions o = options();
  o.time_scaled = false;
  EXPECT_EQ(get_rope_index(ids, {}, {&grid, 1}, {&s, 1}, o).t,
            (std::vector<int64_t>{0, 1, 2, 3, 4, 5}));
}

TEST(RopeIndex, RejectsBlockRunningPastTheEnd) {
  const auto ids = concat({{1, VS}, repeat(IMG, 3)});
  const GridThw grid{1, 4, 4};  // needs 4 tokens
  EXPECT_THROW(get_rope_index(ids, {&grid, 1}, {}, {}, options()), Error);
}

TEST(RopeIndex, RejectsMoreBlocksThanGrids) {
  const auto ids = concat({{1, VS}, repeat(IMG, 1), {VE, VS}, repeat(IMG, 1), {VE}});
  const GridThw grid{1, 2, 2};
  EXPECT_THROW(get_rope_index(ids, {&grid, 1}, {}, {}, options()), Error);
}

// Even spacing: start_a = a·s (s a float32 value, as VisionInput stores it) reproduces the
// reference exactly, including the fractional s = 1.05 case where rounding decides the id.
TEST(RopeIndexTimed, EvenSpacingEqualsReference) {
  const auto ids = concat({{1, VS}, repeat(VID, 12), {VE, 2}});
  const GridThw grid{12, 2, 2};
  for (float s : {1.05f, 1.0f, 0.5f, 0.9523809f, 1.3333334f}) {
    std::vector<std::vector<double>> starts(1);
    for (int a = 0; a < 12; ++a) starts[0].push_back(a * static_cast<double>(s));
    const RopeIndex reference = get_rope_index(ids, {}, {&grid, 1}, {&s, 1}, options());
    const RopeIndex timed = get_rope_index_timed(ids, {}, {&grid, 1}, {&s, 1}, starts, options());
    EXPECT_EQ(timed.t, reference.t) << "s = " << s;
    EXPECT_EQ(timed.h, reference.h);
    EXPECT_EQ(timed.rope_delta, reference.rope_delta);
  }
}

// Uneven spacing: ids follow trunc(start·2) (0.5 s per unit), the text after the block starts at
// max + 1 and rope_delta follows.
TEST(RopeIndexTimed, UnevenSpacingUsesTimestamps) {
  const auto ids = concat({{1, VS}, repeat(VID, 4), {VE, 2}});
  const GridThw grid{4, 2, 2};
  const float s = 1.0f;
  const std::vector<std::vector<double>> starts = {{0.0, 0.75, 1.5, 4.2}};
  const RopeIndex r = get_rope_index_timed(ids, {}, {&grid, 1}, {&s, 1}, starts, options());
  // off = 2; ids 0, trunc(1.5)=1, 3, trunc(8.4)=8 -> 2, 3, 5, 10; text 11, 12.
  EXPECT_EQ(r.t, (std::vector<int64_t>{0, 1, 2, 3, 5, 10, 11, 12}));
  EXPECT_EQ(r.h, (std::vector<int64_t>{0, 1, 2, 2, 2, 2, 11, 12}));
  EXPECT_EQ(r.rope_delta, 13 - 8);
}

TEST(RopeIndexTimed, EmptyListFallsBackToEvenSpacing) {
  const auto ids = concat({{1, VS}, repeat(VID, 12), {VE, 2}});
  const GridThw grid{3, 4, 4};
  const float s = 1.0f;
  const std::vector<std::vector<double>> starts(1);
  EXPECT_EQ(get_rope_index_timed(ids, {}, {&grid, 1}, {&s, 1}, starts, options()).t,
            get_rope_index(ids, {}, {&grid, 1}, {&s, 1}, options()).t);
}

TEST(RopeIndexTimed, RejectsWrongCountAndDecreasingTimes) {
  const auto ids = concat({{1, VS}, repeat(VID, 4), {VE}});
  const GridThw grid{4, 2, 2};
  const float s = 1.0f;
  const std::vector<std::vector<double>> too_few = {{0.0, 1.0}};
  EXPECT_THROW(get_rope_index_timed(ids, {}, {&grid, 1}, {&s, 1}, too_few, options()), Error);
  const std::vector<std::vector<double>> decreasing = {{0.0, 2.0, 1.0, 3.0}};
  EXPECT_THROW(get_rope_index_timed(ids, {}, {&grid, 1}, {&s, 1}, decreasing, options()), Error);
}

TEST(RopeIndex, DecodePositionAddsDelta) {
  EXPECT_EQ(decode_position(16, -7), 9);
}

}  // namespace
}  // namespace vlm
