// Tests of vlm::parse_events / parse_time_seconds: every answer form of spec §9.1, and every
// rejection rule (each test breaks exactly one rule). Expected values are worked out by hand from
// the strings (e.g. "01:35.60" = 60 + 35.6 = 95.6 s). Tolerance 1e-9 s (decimal parsing only).
#include <gtest/gtest.h>

#include "vlm/event_parse.h"

namespace {

constexpr double kTol = 1e-9;

TEST(EventParse, ParsesPlainSeconds) {
  ASSERT_TRUE(vlm::parse_time_seconds("12").has_value());
  EXPECT_NEAR(*vlm::parse_time_seconds("12"), 12.0, kTol);
  EXPECT_NEAR(*vlm::parse_time_seconds(" 12.5 "), 12.5, kTol);
  EXPECT_NEAR(*vlm::parse_time_seconds("12.5s"), 12.5, kTol);
  EXPECT_NEAR(*vlm::parse_time_seconds("3 seconds"), 3.0, kTol);
}

TEST(EventParse, ParsesClockForms) {
  EXPECT_NEAR(*vlm::parse_time_seconds("00:23.90"), 23.9, kTol);
  EXPECT_NEAR(*vlm::parse_time_seconds("01:35.60"), 95.6, kTol);
  EXPECT_NEAR(*vlm::parse_time_seconds("1:05"), 65.0, kTol);
  EXPECT_NEAR(*vlm::parse_time_seconds("1:02:03.5"), 3723.5, kTol);
}

TEST(EventParse, RejectsMalformedTimes) {
  EXPECT_FALSE(vlm::parse_time_seconds("").has_value());
  EXPECT_FALSE(vlm::parse_time_seconds("-3").has_value());
  EXPECT_FALSE(vlm::parse_time_seconds("abc").has_value());
  EXPECT_FALSE(vlm::parse_time_seconds("1:75").has_value());      // seconds >= 60
  EXPECT_FALSE(vlm::parse_time_seconds("1.5:10").has_value());    // fraction before the seconds
  EXPECT_FALSE(vlm::parse_time_seconds("1:2:3:4").has_value());   // too many fields
  EXPECT_FALSE(vlm::parse_time_seconds("1e3").has_value());       // no exponents
  EXPECT_FALSE(vlm::parse_time_seconds("12.").has_value());       // empty fraction
}

TEST(EventParse, StripsCodeFences) {
  EXPECT_EQ(vlm::strip_code_fences("```json\n[1]\n```"), "[1]");
  EXPECT_EQ(vlm::strip_code_fences("  plain  "), "plain");
}

TEST(EventParse, ParsesCookbookJsonWithClockTimes) {
  const auto events = vlm::parse_events(
      "```json\n[{\"start_time\": \"00:23.90\", \"end_time\": \"01:35.60\", "
      "\"description\": \"A man cooks.\"},\n {\"start_time\": \"01:40.00\", \"end_time\": "
      "\"01:50.00\", \"description\": \"He eats.\"}]\n```");
  ASSERT_EQ(events.size(), 2u);
  EXPECT_NEAR(events[0].start_seconds, 23.9, kTol);
  EXPECT_NEAR(events[0].end_seconds, 95.6, kTol);
  EXPECT_EQ(events[0].text, "A man cooks.");
  EXPECT_NEAR(events[1].start_seconds, 100.0, kTol);
  EXPECT_NEAR(events[1].end_seconds, 110.0, kTol);
  EXPECT_EQ(events[1].text, "He eats.");
}

TEST(EventParse, ParsesJsonWithNumericSecondsAndEventKey) {
  const auto events = vlm::parse_events("Here: [{\"start\": 1.5, \"end\": 3, \"event\": \"door opens\"}] done");
  ASSERT_EQ(events.size(), 1u);
  EXPECT_NEAR(events[0].start_seconds, 1.5, kTol);
  EXPECT_NEAR(events[0].end_seconds, 3.0, kTol);
  EXPECT_EQ(events[0].text, "door opens");
}

TEST(EventParse, ParsesSingleObjectAndEventsWrapper) {
  auto one = vlm::parse_events("{\"start\": \"2s\", \"end\": \"4s\", \"text\": \"x\"}");
  ASSERT_EQ(one.size(), 1u);
  EXPECT_NEAR(one[0].end_seconds, 4.0, kTol);
  auto wrapped = vlm::parse_events("{\"events\": [{\"start\": 0, \"end\": 1, \"text\": \"a\"}, "
                                   "{\"start\": 2, \"end\": 3, \"text\": \"b\"}]}");
  ASSERT_EQ(wrapped.size(), 2u);
  EXPECT_EQ(wrapped[1].text, "b");
}

TEST(EventParse, SwapsReversedJsonTimes) {
  const auto events = vlm::parse_events("[{\"start\": 5, \"end\": 2, \"text\": \"r\"}]");
  ASSERT_EQ(events.size(), 1u);
  EXPECT_NEAR(events[0].start_seconds, 2.0, kTol);
  EXPECT_NEAR(events[0].end_seconds, 5.0, kTol);
}

TEST(EventParse, SkipsJsonItemsWithUnreadableTimes) {
  const auto events = vlm::parse_events(
      "[{\"start\": \"soon\", \"end\": 2, \"text\": \"bad\"}, {\"start\": 1, \"end\": 2, \"text\": \"ok\"}]");
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].text, "ok");
}

TEST(EventParse, ParsesQueryAnswerDashSeconds) {
  const auto events = vlm::parse_events("The given query happens in 64.0 - 72.0 seconds.");
  ASSERT_EQ(events.size(), 1u);
  EXPECT_NEAR(events[0].start_seconds, 64.0, kTol);
  EXPECT_NEAR(events[0].end_seconds, 72.0, kTol);
  EXPECT_EQ(events[0].text, "The given query happens in 64.0 - 72.0 seconds.");
}

TEST(EventParse, ParsesFromToSecondsPerSentence) {
  const auto events = vlm::parse_events(
      "A dog runs from 3 to 5.5 seconds. Then a cat sits from 7 seconds to 9 seconds.");
  ASSERT_EQ(events.size(), 2u);
  EXPECT_NEAR(events[0].start_seconds, 3.0, kTol);
  EXPECT_NEAR(events[0].end_seconds, 5.5, kTol);
  EXPECT_EQ(events[0].text, "A dog runs from 3 to 5.5 seconds.");
  EXPECT_NEAR(events[1].start_seconds, 7.0, kTol);
  EXPECT_NEAR(events[1].end_seconds, 9.0, kTol);
  EXPECT_EQ(events[1].text, "Then a cat sits from 7 seconds to 9 seconds.");
}

TEST(EventParse, ParsesClockRangeWithoutUnit) {
  const auto events = vlm::parse_events("00:05 - 00:10: someone waves");
  ASSERT_EQ(events.size(), 1u);
  EXPECT_NEAR(events[0].start_seconds, 5.0, kTol);
  EXPECT_NEAR(events[0].end_seconds, 10.0, kTol);
}

TEST(EventParse, ParsesEnDashAndSurvivesInvalidUtf8) {
  const auto dash = vlm::parse_events("Rain falls 3\u20135 seconds.");
  ASSERT_EQ(dash.size(), 1u);
  EXPECT_NEAR(dash[0].start_seconds, 3.0, kTol);
  EXPECT_NEAR(dash[0].end_seconds, 5.0, kTol);
  const auto garbled = vlm::parse_events("\xff\xfe junk. A car passes 1 - 2 seconds.");
  ASSERT_EQ(garbled.size(), 1u);
  EXPECT_NEAR(garbled[0].end_seconds, 2.0, kTol);
  EXPECT_EQ(garbled[0].text, "A car passes 1 - 2 seconds.");
}

TEST(EventParse, IgnoresBareNumberPairs) {
  // Two numbers without a unit, "from/between" or clock form are not a time span.
  EXPECT_TRUE(vlm::parse_events("There are 3 - 4 people in the room.").empty());
}

TEST(EventParse, KeepsNothingForPlainDescriptions) {
  EXPECT_TRUE(vlm::parse_events("A red ball rolls across a table.").empty());
  EXPECT_TRUE(vlm::parse_events("").empty());
  EXPECT_TRUE(vlm::parse_events("[not json").empty());
}

}  // namespace
