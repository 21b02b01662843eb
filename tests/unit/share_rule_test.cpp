#include <gtest/gtest.h>

#include <vector>

#include "worker/share_rule.hpp"

namespace corral {
namespace {

constexpr std::int64_t now = 1'000'000;

bool ahead(std::uint32_t own, std::vector<PeerLoad> peers) {
  return holds_more_than_its_share(own, peers, now);
}

TEST(LoadShare, AWorkerClearlyAheadOfTheLeastLoadedPeerPauses) {
  EXPECT_TRUE(ahead(10, {{5, 0}}));
  EXPECT_TRUE(ahead(140, {{200, 0}, {120, 0}}));  // the least loaded peer counts
  EXPECT_FALSE(ahead(128, {{128, 0}}));
}

TEST(LoadShare, AMarginKeepsSmallDifferencesFromPausing) {
  EXPECT_FALSE(ahead(2, {{1, 0}}));      // 1 + 1
  EXPECT_TRUE(ahead(3, {{1, 0}}));
  EXPECT_FALSE(ahead(137, {{128, 0}}));  // 128 + 1 + 8
  EXPECT_TRUE(ahead(138, {{128, 0}}));
}

TEST(LoadShare, AloneOrAmongHungPeersAWorkerAlwaysAccepts) {
  EXPECT_FALSE(ahead(1000, {}));
  // Busy without waiting for events for longer than stuck_after_ms: a hung loop.
  EXPECT_FALSE(ahead(1000, {{0, now - stuck_after_ms - 1}}));
  // Busy for less than that is just busy.
  EXPECT_TRUE(ahead(1000, {{0, now - stuck_after_ms + 1}}));
  EXPECT_TRUE(ahead(1000, {{0, now - stuck_after_ms - 1}, {10, 0}}));
}

}  // namespace
}  // namespace corral

#include "worker/token_bucket.hpp"

namespace corral {
namespace {

TEST(TokenBucket, AllowsTheRateInBurstsOfAtMostTheRate) {
  TokenBucket bucket(10);
  const auto t0 = TokenBucket::Clock::time_point{} + std::chrono::hours(1);
  int taken = 0;
  for (int i = 0; i < 100; ++i) taken += bucket.take(t0) ? 1 : 0;
  EXPECT_EQ(taken, 10);  // the burst
  EXPECT_FALSE(bucket.take(t0 + std::chrono::milliseconds(50)));
  EXPECT_TRUE(bucket.take(t0 + std::chrono::milliseconds(100)));  // one token a tenth of a second
  taken = 0;
  for (int i = 0; i < 100; ++i) taken += bucket.take(t0 + std::chrono::seconds(60)) ? 1 : 0;
  EXPECT_EQ(taken, 10);  // never more than a burst, however long it was idle
}

}  // namespace
}  // namespace corral
