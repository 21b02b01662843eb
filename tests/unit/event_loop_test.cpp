// EventLoop's clock of a turn, its idle work, and DeferralGuard.
#include <gtest/gtest.h>
#include <sys/eventfd.h>

#include <chrono>
#include <cstdlib>
#include <memory>

#include "event/deferral_guard.hpp"
#include "common/unique_fd.hpp"
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

TEST(EventLoop, IdleWorkRunsInTheFirstTurnThatFindsNoEventWaitingWithoutWaitingForOne) {
  EventLoop loop;
  int runs = 0;
  loop.when_idle([&runs] { ++runs; });
  // Nothing is watched, so the turn finds no event: it must not wait out its 10 s.
  const auto before = std::chrono::steady_clock::now();
  loop.run_once(std::chrono::seconds(10));
  EXPECT_LT(std::chrono::steady_clock::now() - before, std::chrono::seconds(5));
  EXPECT_EQ(runs, 1);
  loop.run_once(std::chrono::milliseconds(0));
  EXPECT_EQ(runs, 1);  // once
}

TEST(EventLoop, UnderConstantEventsIdleWorkWaitsAFewTurnsAndNoMore) {
  EventLoop loop;
  // An eventfd never read stays readable: every turn finds an event.
  UniqueFd always_ready(::eventfd(1, EFD_CLOEXEC | EFD_NONBLOCK));
  ASSERT_TRUE(always_ready.valid());
  int events = 0;
  FunctionHandler handler([&events](std::uint32_t) { ++events; });
  loop.add(always_ready.get(), EPOLLIN, handler);
  int runs = 0;
  loop.when_idle([&runs] { ++runs; });
  loop.run_once(std::chrono::milliseconds(0));
  EXPECT_EQ(runs, 0);  // the events of this turn may bring more work to share it
  for (int turn = 2; turn <= 4 && runs == 0; ++turn) loop.run_once(std::chrono::milliseconds(0));
  EXPECT_EQ(runs, 1);
  EXPECT_EQ(events, 4);
  // The count starts again for the next work.
  loop.when_idle([&runs] { ++runs; });
  for (int turn = 1; turn <= 3; ++turn) loop.run_once(std::chrono::milliseconds(0));
  EXPECT_EQ(runs, 1);
  loop.run_once(std::chrono::milliseconds(0));
  EXPECT_EQ(runs, 2);
  loop.remove(always_ready.get());
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
