// ReadCache on its own: what it answers, when a key expires, and its bound.
#include "store/read_cache.hpp"

#include <gtest/gtest.h>

#include <string>

namespace corral::detail {
namespace {

TEST(ReadCache, AnswersWhatItRememberedUntilForgottenOrCleared) {
  ReadCache cache(8, 1 << 20);
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
  ReadCache cache(8, 1 << 20);
  cache.remember("s:a", "alice", 1'000);
  EXPECT_NE(cache.find("s:a", 999), nullptr);
  EXPECT_EQ(cache.find("s:a", 1'000), nullptr);
  EXPECT_EQ(cache.size(), 0u) << "an expired entry is dropped when found";
}

TEST(ReadCache, HoldsAtMostItsEntriesAndBytesAndNoLargeValue) {
  ReadCache cache(3, 1 << 20);
  for (int i = 0; i < 10; ++i) cache.remember("s:" + std::to_string(i), "v", std::nullopt);
  EXPECT_EQ(cache.size(), 3u);
  EXPECT_NE(cache.find("s:9", 0), nullptr) << "the newest is kept";

  ReadCache small(100, 1600);  // values up to 100 bytes with their key
  const std::string value(90, 'x');
  for (int i = 0; i < 40; ++i) small.remember("k" + std::to_string(i), value, std::nullopt);
  EXPECT_LE(small.size(), 1600u / 93u);
  EXPECT_NE(small.find("k39", 0), nullptr);
  small.remember("big", std::string(200, 'x'), std::nullopt);
  EXPECT_EQ(small.find("big", 0), nullptr) << "larger than a sixteenth of the budget";
  small.remember("k39", std::string(200, 'x'), std::nullopt);
  EXPECT_EQ(small.find("k39", 0), nullptr) << "a value grown too large is dropped, not kept stale";
  small.clear();
  for (int i = 0; i < 17; ++i) small.remember("k" + std::to_string(i), value, std::nullopt);
  EXPECT_EQ(small.size(), 17u) << "what clear() freed counts again";

  ReadCache none(0, 1 << 20);
  none.remember("s:a", "alice", std::nullopt);
  EXPECT_EQ(none.find("s:a", 0), nullptr);
}

}  // namespace
}  // namespace corral::detail
