// Tests of the localisation tool's pure pieces: span merging and ranking, the yes-probability
// read from logits, SRT times, the result JSON round trip, ground-truth parsing and the
// evaluation figures. Every expected value is worked out by hand in the comment beside it;
// tolerance 1e-12 (a few floating-point operations on exact inputs).
#include <gtest/gtest.h>

#include <cmath>

#include "vlm/error.h"
#include "vlm/localize.h"

namespace {

constexpr double kTol = 1e-12;

TEST(LocalizeOutput, MergesOverlappingSpansAndRanksByScore) {
  std::vector<vlm::LocalizedSpan> spans = {
      {10, 20, 0.4, "a"}, {15, 25, 0.9, "b"},  // overlap -> [10, 25], score 0.9, text "b"
      {25, 30, 0.2, "c"},                      // touches the merged span at 25 -> [10, 30]
      {40, 50, 0.5, "d"},                      // separate
      {0, 5, 0.95, "e"}};
  std::vector<vlm::LocalizedSpan> merged = vlm::merge_spans(spans);
  ASSERT_EQ(merged.size(), 3u);
  EXPECT_EQ(merged[0].text, "e");
  EXPECT_EQ(merged[1].text, "b");
  EXPECT_DOUBLE_EQ(merged[1].start, 10);
  EXPECT_DOUBLE_EQ(merged[1].end, 30);
  EXPECT_DOUBLE_EQ(merged[1].score, 0.9);
  EXPECT_EQ(merged[2].text, "d");
}

TEST(LocalizeOutput, YesProbabilityIsASoftmaxOverTheAnswerTokens) {
  // logits: id1 = ln 3, id2 = 0, id3 = ln 2, id0 = 100 (ignored: not an answer token).
  std::vector<float> logits = {100.0f, std::log(3.0f), 0.0f, std::log(2.0f)};
  std::vector<int32_t> yes = {1}, no = {2};
  EXPECT_NEAR(vlm::yes_probability(logits, yes, no), 3.0 / 4.0, 1e-6);  // float logits
  std::vector<int32_t> yes2 = {1, 3};
  EXPECT_NEAR(vlm::yes_probability(logits, yes2, no), 5.0 / 6.0, 1e-6);
  std::vector<int32_t> out_of_range = {7};
  EXPECT_THROW(vlm::yes_probability(logits, out_of_range, no), vlm::Error);
}

TEST(LocalizeOutput, PromptsFollowTheSpec) {
  EXPECT_EQ(vlm::localize_refine_prompt("a person falls"),
            "Give the query: 'a person falls', when does the described content occur in the video?");
  EXPECT_EQ(vlm::localize_score_prompt("a person falls"),
            "Does this clip show: a person falls? Answer yes or no.");
}

TEST(LocalizeOutput, SrtTimesAndCues) {
  EXPECT_EQ(vlm::format_srt_time(0), "00:00:00,000");
  EXPECT_EQ(vlm::format_srt_time(3725.5), "01:02:05,500");  // 3600 + 120 + 5.5
  EXPECT_EQ(vlm::format_srt_time(59.9996), "00:01:00,000");  // rounds to the millisecond
  vlm::LocalizeResult result;
  result.queries = {{"q1", {{70, 75, 0.8, "x"}}}, {"q2", {{5, 6.25, 0.5, "y"}}}};
  EXPECT_EQ(vlm::localize_result_srt(result),
            "1\n00:00:05,000 --> 00:00:06,250\nq2 (0.50)\n\n"
            "2\n00:01:10,000 --> 00:01:15,000\nq1 (0.80)\n\n");
}

TEST(LocalizeOutput, ResultJsonRoundTrips) {
  vlm::LocalizeResult result;
  result.duration_seconds = 120.5;
  result.queries = {{"q1", {{1.25, 2.5, 0.75, "text \"quoted\""}}}, {"q2", {}}};
  result.windows = {{0, 16, {0.1, 0.2}}};
  vlm::LocalizeResult back =
      vlm::parse_localize_result_json(vlm::localize_result_json(result, "clip.mp4"));
  ASSERT_EQ(back.queries.size(), 2u);
  ASSERT_EQ(back.queries[0].spans.size(), 1u);
  EXPECT_EQ(back.queries[0].spans[0].start, 1.25);
  EXPECT_EQ(back.queries[0].spans[0].end, 2.5);
  EXPECT_EQ(back.queries[0].spans[0].score, 0.75);
  EXPECT_EQ(back.queries[0].spans[0].text, "text \"quoted\"");
  EXPECT_TRUE(back.queries[1].spans.empty());
  EXPECT_EQ(back.duration_seconds, 120.5);
  EXPECT_THROW(vlm::parse_localize_result_json("{\"queries\": 3}"), vlm::Error);
  EXPECT_THROW(vlm::parse_localize_result_json("not json"), vlm::Error);
}

TEST(LocalizeEvaluate, IntervalIou) {
  EXPECT_NEAR(vlm::interval_iou(0, 10, 5, 15), 5.0 / 15.0, kTol);
  EXPECT_NEAR(vlm::interval_iou(0, 10, 0, 10), 1.0, kTol);
  EXPECT_NEAR(vlm::interval_iou(0, 10, 10, 20), 0.0, kTol);  // touching: no overlap
  EXPECT_NEAR(vlm::interval_iou(2, 4, 0, 10), 0.2, kTol);    // contained: 2 / 10
  EXPECT_NEAR(vlm::interval_iou(3, 3, 3, 3), 0.0, kTol);     // empty union
}

TEST(LocalizeEvaluate, ParsesCharadesStyleAndListTruth) {
  std::vector<vlm::TruthSpan> charades = vlm::parse_truth_json(
      R"({"3MSZA": {"duration": 30.96, "timestamps": [[24.3, 30.4], [0, 6.9]],
                    "sentences": ["person turn a light on.", "person opening a door."]}})");
  ASSERT_EQ(charades.size(), 2u);
  EXPECT_EQ(charades[0].video, "3MSZA");
  EXPECT_EQ(charades[1].query, "person opening a door.");
  EXPECT_EQ(charades[0].start, 24.3);
  EXPECT_EQ(charades[1].end, 6.9);
  std::vector<vlm::TruthSpan> list =
      vlm::parse_truth_json(R"([{"query": "a dog barks", "start": 1, "end": 2}])");
  ASSERT_EQ(list.size(), 1u);
  EXPECT_TRUE(list[0].video.empty());
  EXPECT_THROW(vlm::parse_truth_json(R"([{"query": "x", "start": 5, "end": 2}])"), vlm::Error);
  EXPECT_THROW(vlm::parse_truth_json(R"({"v": {"timestamps": [[1, 2]], "sentences": []}})"),
               vlm::Error);
  EXPECT_THROW(vlm::parse_truth_json("[1, 2"), vlm::Error);
}

TEST(LocalizeEvaluate, ParsesCharadesStaTextLines) {
  std::vector<vlm::TruthSpan> truth = vlm::parse_truth_json(
      "3MSZA 24.3 30.4##person turn a light on.\r\n\nAO8RW 0.0 6.9##a person is putting a book on a shelf.\n");
  ASSERT_EQ(truth.size(), 2u);
  EXPECT_EQ(truth[0].video, "3MSZA");
  EXPECT_EQ(truth[0].start, 24.3);
  EXPECT_EQ(truth[0].end, 30.4);
  EXPECT_EQ(truth[0].query, "person turn a light on.");
  EXPECT_EQ(truth[1].video, "AO8RW");
  EXPECT_EQ(truth[1].query, "a person is putting a book on a shelf.");
  EXPECT_THROW(vlm::parse_truth_json("3MSZA 24.3##no end time"), vlm::Error);
  EXPECT_THROW(vlm::parse_truth_json("3MSZA 30 24##ends before it starts"), vlm::Error);
  EXPECT_THROW(vlm::parse_truth_json("just some words"), vlm::Error);
}

TEST(LocalizeEvaluate, FiguresMatchHandComputedValues) {
  vlm::LocalizeResult result;
  result.queries = {
      {"person opens a door", {{5, 15, 0.9, ""}, {0, 10, 0.1, ""}}},  // top span [5, 15]
      {"Person sits down", {{20, 30, 0.8, ""}}},
      {"person laughs", {{40, 44, 0.7, ""}}},
  };
  std::vector<vlm::TruthSpan> truth = {
      {"", "person opens a door.", 0, 10},   // IoU 5/15 = 1/3: counts at 0.3 only
      {"", "person sits down", 20, 30},      // IoU 1 (case and "." ignored)
      {"", "person laughs", 40, 48},         // IoU 4/8 = 0.5: counts at 0.3 and 0.5
      {"", "person sneezes", 0, 1},          // no such query: a miss, IoU 0
  };
  vlm::LocalizeScores s = vlm::evaluate_localization({result}, {"clip.mp4"}, truth);
  EXPECT_EQ(s.count, 4);
  EXPECT_EQ(s.missing, 1);
  EXPECT_NEAR(s.recall_at_03, 3.0 / 4.0, kTol);
  EXPECT_NEAR(s.recall_at_05, 2.0 / 4.0, kTol);
  EXPECT_NEAR(s.recall_at_07, 1.0 / 4.0, kTol);
  EXPECT_NEAR(s.mean_iou, (1.0 / 3.0 + 1.0 + 0.5 + 0.0) / 4.0, kTol);
}

TEST(LocalizeEvaluate, MatchesVideosByFileStem) {
  vlm::LocalizeResult a, b;
  a.queries = {{"open door", {{0, 10, 1, ""}}}};
  b.queries = {{"open door", {{50, 60, 1, ""}}}};
  std::vector<vlm::TruthSpan> truth = {{"B12", "open door", 50, 60}};
  // The truth names video B12: the result of /data/B12.mp4 answers it (IoU 1), not A7's (IoU 0).
  vlm::LocalizeScores s = vlm::evaluate_localization({a, b}, {"/data/A7.mp4", "/data/B12.mp4"}, truth);
  EXPECT_NEAR(s.mean_iou, 1.0, kTol);
  EXPECT_EQ(s.missing, 0);
}

}  // namespace
