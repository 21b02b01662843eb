// ReadCache on its own: what it answers, when a key expires, and its bound.
#include "store/read_cache.hpp"

#include <gtest/gtest.h>

#include <string>

namespace corral::detail {
namespace {

TEST(ReadCache, AnswersWhatItRememberedUntilForgottenOrCleared) {
  ReadCache cache(8);
  EXPECT_EQ(cache.find("s:a", 0), nullptr);
  cache.remember("s:a", "alice", std::nullopt);
  cache.remember("s:b", "bob", std::nullopt);
  ASSERT_NE(cache.find("s:a", 0), nullptr);
  EXPECT_EQ(*cache.find("s:a", 0), "alice");
  cache.remember("s:a", "alice 2", std::nullopt);
  EXPECT_EQ(*cache.find("s:a", 0), "alice 2");
  cache.forget("s:a");
  cache.forget("s:unknown");
  EXPECT_EQ(cache.find("s:a", 0), nullptr);
  EXPECT_EQ(*cache.find("s:b", 0), "bob");
  cache.clear();
  EXPECT_EQ(cache.find("s:b", 0), nullptr);
}

TEST(ReadCache, AKeyExpiresAtItsTimeAsInTheStore) {
  ReadCache cache(8);
  cache.remember("s:a", "alice", 1'000);
  EXPECT_NE(cache.find("s:a", 999), nullptr);
  EXPECT_EQ(cache.find("s:a", 1'000), nullptr);
  EXPECT_EQ(cache.size(), 0u) << "an expired entry is dropped when found";
}

TEST(ReadCache, HoldsAtMostItsCapacity) {
  ReadCache cache(3);
  for (int i = 0; i < 10; ++i) cache.remember("s:" + std::to_string(i), "v", std::nullopt);
  EXPECT_EQ(cache.size(), 3u);
  EXPECT_NE(cache.find("s:9", 0), nullptr) << "the newest is kept";
  ReadCache none(0);
  none.remember("s:a", "alice", std::nullopt);
  EXPECT_EQ(none.find("s:a", 0), nullptr);
}

}  // namespace
}  // namespace corral::detail
