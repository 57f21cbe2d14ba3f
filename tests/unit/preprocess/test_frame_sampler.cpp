// FrameSampler and temporal_patch_starts: expected picks computed by hand for constant rate,
// variable frame rate, gaps, bursts and reset; patch start times with an odd trailing frame.
#include <gtest/gtest.h>

#include <cstdint>
#include <vector>

#include "vlm/error.h"
#include "vlm/frame_sampler.h"

namespace {

constexpr int64_t kMs = 1000000;

std::vector<int64_t> kept(vlm::FrameSampler& s, const std::vector<int64_t>& pts) {
  std::vector<int64_t> out;
  for (int64_t p : pts)
    if (s.offer(p)) out.push_back(p);
  return out;
}

// 30 fps -> 2 fps: instants every 0.5 s fall exactly on frames 0, 15, 30, ... (k·1e9/30 ns,
// exact for k multiple of 3).
TEST(FrameSampler, ThirtyToTwoFpsKeepsEveryFifteenthFrame) {
  vlm::FrameSampler s(2.0);
  EXPECT_EQ(s.interval_ns(), 500 * kMs);
  std::vector<int64_t> pts;
  for (int64_t k = 0; k < 91; ++k) pts.push_back(k * 1000000000 / 30);
  std::vector<int64_t> expected;
  for (int64_t k = 0; k < 91; k += 15) expected.push_back(k * 1000000000 / 30);
  EXPECT_EQ(kept(s, pts), expected);
}

// Non-zero start: the grid is anchored at the first frame seen.
TEST(FrameSampler, GridStartsAtTheFirstFrame) {
  vlm::FrameSampler s(1.0);
  const std::vector<int64_t> pts = {7000 * kMs, 7400 * kMs, 7999 * kMs, 8000 * kMs, 8600 * kMs,
                                    9000 * kMs};
  EXPECT_EQ(kept(s, pts), (std::vector<int64_t>{7000 * kMs, 8000 * kMs, 9000 * kMs}));
}

// Variable frame rate with a gap; expected by hand at 2 fps:
// 0 keep (due 0.5) | 0.1, 0.45 no | 0.52 keep (due 1.0) | 0.9 no | 1.05 keep (due 1.5) |
// 1.6 keep (due 2.0) | 3.0: late by >= one interval -> keep, grid restarts (due 3.5) |
// 3.2, 3.49 no | 3.5 keep (due 4.0) | 4.1 keep (due 4.5).
TEST(FrameSampler, VariableFrameRateAndGap) {
  vlm::FrameSampler s(2.0);
  const std::vector<int64_t> pts = {0,         100 * kMs,  450 * kMs,  520 * kMs,
                                    900 * kMs, 1050 * kMs, 1600 * kMs, 3000 * kMs,
                                    3200 * kMs, 3490 * kMs, 3500 * kMs, 4100 * kMs};
  EXPECT_EQ(kept(s, pts), (std::vector<int64_t>{0, 520 * kMs, 1050 * kMs, 1600 * kMs, 3000 * kMs,
                                                3500 * kMs, 4100 * kMs}));
}

// After a 10 s gap only the late frame is kept, not a burst of catch-up frames.
TEST(FrameSampler, NoBurstAfterGap) {
  vlm::FrameSampler s(4.0);
  std::vector<int64_t> pts = {0, 250 * kMs};
  for (int64_t k = 0; k < 10; ++k) pts.push_back(10000 * kMs + k * 10 * kMs);  // 100 fps burst
  pts.push_back(10250 * kMs);
  EXPECT_EQ(kept(s, pts), (std::vector<int64_t>{0, 250 * kMs, 10000 * kMs, 10250 * kMs}));
}

TEST(FrameSampler, DuplicateTimestampsAreKeptOnce) {
  vlm::FrameSampler s(2.0);
  EXPECT_TRUE(s.offer(0));
  EXPECT_FALSE(s.offer(0));
  EXPECT_TRUE(s.offer(500 * kMs));
  EXPECT_FALSE(s.offer(500 * kMs));
}

TEST(FrameSampler, ResetStartsANewGrid) {
  vlm::FrameSampler s(2.0);
  EXPECT_TRUE(s.offer(0));
  EXPECT_FALSE(s.offer(100 * kMs));
  s.reset();
  EXPECT_TRUE(s.offer(100 * kMs));
  EXPECT_FALSE(s.offer(500 * kMs));
  EXPECT_TRUE(s.offer(600 * kMs));
  s.reset();
  EXPECT_TRUE(s.offer(50 * kMs));  // backwards after a flush is fine
}

// A jump back by more than one interval behind the last instant restarts the grid (looping
// source without a flush); small reordering jitter is just dropped.
TEST(FrameSampler, BackwardJumpRestartsTheGrid) {
  vlm::FrameSampler s(2.0);
  EXPECT_TRUE(s.offer(10000 * kMs));   // due 10.5
  EXPECT_FALSE(s.offer(9800 * kMs));   // jitter: not before 9.5
  EXPECT_TRUE(s.offer(10500 * kMs));   // due 11.0
  EXPECT_TRUE(s.offer(0));             // went back 10.5 s: keep, due 0.5
  EXPECT_FALSE(s.offer(400 * kMs));
  EXPECT_TRUE(s.offer(500 * kMs));
}

TEST(FrameSampler, RejectsNonPositiveRate) {
  EXPECT_THROW(vlm::FrameSampler(0.0), vlm::Error);
  EXPECT_THROW(vlm::FrameSampler(-2.0), vlm::Error);
}

TEST(TemporalPatchStarts, PairsAndOddTrailingFrame) {
  const std::vector<int64_t> pts = {1000 * kMs, 1500 * kMs, 2000 * kMs, 2520 * kMs, 3000 * kMs};
  EXPECT_EQ(vlm::temporal_patch_starts(pts, 1000 * kMs), (std::vector<double>{0.0, 1.0, 2.0}));
  EXPECT_EQ(vlm::temporal_patch_starts(pts, 0), (std::vector<double>{1.0, 2.0, 3.0}));
  EXPECT_EQ(vlm::temporal_patch_starts({}, 0).size(), 0u);
  EXPECT_THROW(vlm::temporal_patch_starts(pts, 0, 0), vlm::Error);
}

}  // namespace
