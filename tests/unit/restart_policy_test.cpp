#include <gtest/gtest.h>

#include <unistd.h>

#include "supervisor/process_usage.hpp"
#include "supervisor/recycling.hpp"
#include "supervisor/restart_policy.hpp"

namespace corral {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;
const Clock::time_point t0{};

TEST(RestartBudget, AllowsUpToTheLimitInAnyWindow) {
  RestartBudget budget(3, seconds(60));
  for (int i = 0; i < 3; ++i) {
    ASSERT_TRUE(budget.allows(t0 + seconds(i)));
    budget.record(t0 + seconds(i));
  }
  EXPECT_FALSE(budget.allows(t0 + seconds(10)));
  EXPECT_EQ(budget.used(t0 + seconds(10)), 3u);
  // The first restart (at 0 s) leaves the window at 60 s.
  EXPECT_EQ(budget.next_allowed(t0 + seconds(10)), t0 + seconds(60));
  EXPECT_FALSE(budget.allows(t0 + seconds(60) - milliseconds(1)));
  EXPECT_TRUE(budget.allows(t0 + seconds(60)));
  EXPECT_EQ(budget.used(t0 + seconds(61)), 1u) << "the restart at 2 s is still inside";
}

TEST(RestartBudget, NextAllowedWaitsForEnoughRestartsToLeave) {
  RestartBudget budget(2, seconds(10));
  budget.record(t0);
  budget.record(t0 + seconds(1));
  budget.record(t0 + seconds(2));  // over the limit (a reconfigure lowered it, say)
  EXPECT_EQ(budget.next_allowed(t0 + seconds(3)), t0 + seconds(11));
  EXPECT_EQ(budget.next_allowed(t0 + seconds(12)), t0 + seconds(12)) << "allowed now";
}

TEST(RestartBudget, ReconfigureTakesEffectAtOnce) {
  RestartBudget budget(1, seconds(60));
  budget.record(t0);
  EXPECT_FALSE(budget.allows(t0 + seconds(1)));
  budget.reconfigure(5, seconds(60));
  EXPECT_TRUE(budget.allows(t0 + seconds(1)));
}

TEST(StartBackoff, GrowsByHalfFromAHundredMillisecondsUpToFifteenSeconds) {
  StartBackoff backoff;
  const std::vector<long> expected{100, 150, 225, 337, 506, 759, 1139, 1708, 2562, 3844, 5766, 8649, 12974, 15000, 15000};
  for (const long ms : expected) {
    const auto delay = std::chrono::duration_cast<milliseconds>(backoff.on_failed_start()).count();
    EXPECT_NEAR(delay, ms, 1) << "step of " << ms;
  }
}

TEST(StartBackoff, ResetStartsOverAtAHundredMilliseconds) {
  StartBackoff backoff;
  backoff.on_failed_start();
  backoff.on_failed_start();
  backoff.reset();
  EXPECT_EQ(backoff.on_failed_start(), milliseconds(100));
}

TEST(FailedToStart, DiedBeforeReadyOrTooSoonWithoutServing) {
  const auto min_uptime = seconds(1);
  EXPECT_TRUE(failed_to_start(false, 0, seconds(100), min_uptime)) << "never ready";
  EXPECT_TRUE(failed_to_start(true, 0, milliseconds(200), min_uptime)) << "ready, died at once, served nothing";
  EXPECT_FALSE(failed_to_start(true, 1, milliseconds(200), min_uptime)) << "served, then crashed: the seed's case";
  EXPECT_FALSE(failed_to_start(true, 0, seconds(2), min_uptime)) << "ran long enough";
}

TEST(TerminalWatch, NeedsTheBudgetSpentAndNoWorkerReadyForTheTimeout) {
  TerminalWatch watch;
  const auto timeout = seconds(30);
  watch.observe(false, false, t0);
  EXPECT_FALSE(watch.reached(t0 + seconds(40), timeout)) << "budget not spent";
  watch.observe(false, true, t0 + seconds(5));
  EXPECT_EQ(watch.deadline(timeout), t0 + seconds(30)) << "counted from the last ready worker";
  EXPECT_FALSE(watch.reached(t0 + seconds(29), timeout));
  EXPECT_TRUE(watch.reached(t0 + seconds(30), timeout));
  watch.observe(true, true, t0 + seconds(31));
  EXPECT_FALSE(watch.reached(t0 + seconds(90), timeout)) << "a ready worker starts it over";
  EXPECT_FALSE(watch.deadline(timeout));
}

TEST(Recycling, RequestLimitHasUpToATenthOfJitter) {
  EXPECT_EQ(request_limit(0, 0.5), 0u) << "off";
  EXPECT_EQ(request_limit(1000, 0.0), 1000u);
  EXPECT_EQ(request_limit(1000, 0.999999), 1100u);
  for (double draw = 0; draw < 1; draw += 0.01) {
    const auto limit = request_limit(1000, draw);
    EXPECT_GE(limit, 1000u);
    EXPECT_LE(limit, 1100u);
  }
  EXPECT_EQ(request_limit(5, 0.99), 5u) << "no jitter below ten";
}

TEST(Recycling, ReasonsToRecycle) {
  const RecyclePolicy off{};
  EXPECT_FALSE(off.enabled());
  EXPECT_FALSE(recycle_reason(off, 1'000'000, 0, 1ull << 40));

  const RecyclePolicy by_requests{1000, 0};
  EXPECT_FALSE(recycle_reason(by_requests, 1049, 1050, 0));
  EXPECT_EQ(recycle_reason(by_requests, 1050, 1050, 0), "it served 1050 requests (its limit: 1050)");

  const RecyclePolicy by_memory{0, 64ull << 20};
  EXPECT_FALSE(recycle_reason(by_memory, 5, 0, 64ull << 20));
  EXPECT_EQ(recycle_reason(by_memory, 5, 0, 65ull << 20), "its resident memory 65 MiB is over max_rss 64 MiB");
}

TEST(ProcessUsage, ReadsCpuAndMemoryFromProcStat) {
  // A command name with spaces and a parenthesis, then fields 3 to 24.
  const auto usage = parse_process_stat(
      "4242 (corral: worker (2)) S 1 4242 4242 0 -1 4194560 100 0 0 0 250 50 0 0 20 0 1 0 12345 104857600 1024 "
      "18446744073709551615",
      100, 4096);
  ASSERT_TRUE(usage);
  EXPECT_DOUBLE_EQ(usage->cpu_seconds, 3.0);
  EXPECT_EQ(usage->virtual_bytes, 104857600u);
  EXPECT_EQ(usage->rss_bytes, 1024u * 4096);
  EXPECT_FALSE(parse_process_stat("", 100, 4096));
  EXPECT_FALSE(parse_process_stat("4242 (short) S 1 2", 100, 4096));
  const auto self = read_process_usage(::getpid());
  ASSERT_TRUE(self);
  EXPECT_GT(self->rss_bytes, 0u);
}

}  // namespace
}  // namespace corral
