// EventLoop's clock of a turn, and DeferralGuard.
#include <gtest/gtest.h>

#include <chrono>
#include <cstdlib>
#include <memory>

#include "event/deferral_guard.hpp"
#include "event/event_loop.hpp"

namespace corral {
namespace {

std::int64_t system_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

TEST(EventLoop, TheWallClockOfATurnIsOneReadingTakenWhenFirstAsked) {
  EventLoop loop;
  const auto before = system_ms();
  const auto first = loop.wall_ms();
  EXPECT_GE(first, before);
  EXPECT_LE(first, system_ms());
  // Every request of the turn compares expiry against the same time.
  EXPECT_EQ(loop.wall_ms(), first);
  // A new turn takes a new reading: once the clock has moved on (turns of at most a
  // millisecond until it has), the next turn sees the later time.
  while (system_ms() <= first) loop.run_once(std::chrono::milliseconds(1));
  loop.run_once(std::chrono::milliseconds(0));
  EXPECT_GT(loop.wall_ms(), first);
  EXPECT_LE(loop.wall_ms(), system_ms());
}

TEST(DeferralGuard, WorkDeferredByAnObjectRunsOnlyWhileTheObjectLives) {
  EventLoop loop;
  int runs = 0;
  {
    DeferralGuard kept;
    loop.defer(kept.wrap([&runs] { ++runs; }));
    loop.run_once(std::chrono::milliseconds(0));
    EXPECT_EQ(runs, 1);
  }
  auto gone = std::make_unique<DeferralGuard>();
  loop.defer(gone->wrap([&runs] { ++runs; }));
  gone.reset();
  loop.run_once(std::chrono::milliseconds(0));
  EXPECT_EQ(runs, 1);
}

}  // namespace
}  // namespace corral
