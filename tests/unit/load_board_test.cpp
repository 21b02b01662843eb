#include <gtest/gtest.h>

#include <vector>

#include "ipc/load_board.hpp"

namespace corral::ipc {
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

TEST(LoadBoard, EntriesAreSharedByPidAndFreedOnRelease) {
  auto board = LoadBoard::create();
  ASSERT_TRUE(board.valid());
  auto* first = board.claim(101);
  auto* second = board.claim(102);
  ASSERT_NE(first, nullptr);
  ASSERT_NE(second, nullptr);
  EXPECT_NE(first, second);
  first->connections = 7;
  EXPECT_EQ(board.entries().size(), 2u);

  // Another process maps the same memory through the inherited fd.
  auto view = LoadBoard::attach(::dup(board.fd()));
  ASSERT_EQ(view.entries().size(), 2u);
  EXPECT_EQ(view.entries()[0].pid, 101);
  EXPECT_EQ(view.entries()[0].connections, 7u);

  board.release(101);
  EXPECT_EQ(view.entries()[0].pid, 0);
  // A freed entry is reused before the board grows.
  EXPECT_EQ(view.claim(103), &view.entries()[0]);
  EXPECT_EQ(board.entries().size(), 2u);
  EXPECT_EQ(board.entries()[0].connections, 0u) << "a claimed entry starts from zero";
}

}  // namespace
}  // namespace corral::ipc
