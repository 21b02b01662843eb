// Restart budget, start backoff, the terminal state and recycling, on the real binary.
#include <gtest/gtest.h>

#include <sys/wait.h>

#include <chrono>
#include <sstream>
#include <regex>

#include "support/corral_instance.hpp"
#include "support/http_client.hpp"
#include "support/load_generator.hpp"

namespace corral::test {
namespace {

TEST(Resilience, CrashLoopAtStartBacksOffThenGivesUp) {
  ChildProcess corral({corral_binary(), "--listen", "127.0.0.1:0", "--workers", "1", "--enable-debug-routes",
                       "--debug-fail-start", "--restart-limit", "3", "--terminal-timeout", "3"});
  const auto status = corral.wait_exit(30s);
  ASSERT_TRUE(status) << corral.output();
  EXPECT_TRUE(WIFEXITED(*status) && WEXITSTATUS(*status) == 1) << corral.output();
  const auto output = corral.output();
  EXPECT_NE(output.find("exited with code 3"), std::string::npos) << "the worker's own start-up failed";
  EXPECT_NE(output.find("restart budget spent: 3 restarts in the last 60 s"), std::string::npos) << output;
  // The terminal timeout runs from the start (no worker was ever ready): long enough
  // for the fourth failure and the refused fifth start even in a sanitizer build.
  EXPECT_NE(output.find("restart budget spent and no worker ready for 3 s (terminal_timeout)"), std::string::npos)
      << output;

  // One start plus three restarts, each after a longer delay: 100, 150, 225 ms.
  std::vector<long> starts;
  std::istringstream lines(output);
  for (std::string line; std::getline(lines, line);) {
    if (line.find("worker 0 started: pid") != std::string::npos) starts.push_back(log_time_ms(line));
  }
  ASSERT_EQ(starts.size(), 4u) << output;
  const long delays[] = {100, 150, 225};
  for (std::size_t i = 1; i < starts.size(); ++i) {
    EXPECT_GE(starts[i] - starts[i - 1], delays[i - 1]) << "restart " << i << "\n" << output;
  }
}

TEST(Resilience, SpentBudgetStopsReforkingAndSaysSo) {
  auto corral = CorralInstance::start({"--enable-debug-routes", "--restart-limit", "2"}, 1);
  for (int crash = 0; crash < 3; ++crash) {
    const auto mark = corral->mark();
    const auto response = http_request(corral->port, "GET", "/debug/throw", 10s);
    ASSERT_TRUE(response) << corral->process->output();
    EXPECT_EQ(response->status, 200);
    if (crash < 2) corral->wait_worker_ready(mark);
  }
  EXPECT_TRUE(corral->process->wait_for_line(std::regex("restart budget spent: 2 restarts in the last 60 s; worker 0 "
                                                        "stays down"),
                                             5s));
  EXPECT_TRUE(corral->notify.wait_for("0/1 workers ready · ", 5s));
  EXPECT_TRUE(corral->notify.wait_for("last: restart budget spent (2 restarts in 60 s)", 5s));
  // Never silently smaller: the reconcile timer says so.
  EXPECT_TRUE(corral->process->wait_for_line(std::regex("pool below its size: 0 of 1 workers serving; next start in"),
                                             10s))
      << corral->process->output();
}

TEST(Resilience, WorkerThatServedThenCrashedIsReplacedWithoutBackoff) {
  auto corral = CorralInstance::start({"--enable-debug-routes"}, 1);
  const auto mark = corral->mark();
  ASSERT_TRUE(http_request(corral->port, "GET", "/debug/throw"));
  corral->wait_worker_ready(mark);
  EXPECT_FALSE(corral->process->wait_for_line(std::regex("failed to start"), 100ms, mark)) << corral->process->output();
}

TEST(Resilience, RecyclesAfterMaxRequestsWithoutAFailedRequest) {
  auto corral = CorralInstance::start({"--max-requests", "5"}, 1);
  const auto mark = corral->mark();
  LoadGenerator load(corral->port, "/", 0, 1);
  const auto recycled = corral->process->wait_for_line(
      std::regex(R"(recycling worker 0 \(pid (\d+)\): it served \d+ requests \(its limit: 5\))"), 10s, mark);
  ASSERT_TRUE(recycled) << corral->process->output();
  const pid_t old = std::stoi(recycled->at(1));
  EXPECT_NE(corral->wait_worker_exited(old, mark).find("exited with code 0 after recycle"), std::string::npos);
  const auto stats = load.stop();
  EXPECT_GT(stats.succeeded, 5u);
  EXPECT_EQ(stats.failed + stats.refused, 0u) << stats.first_failure << "\n" << corral->process->output();
  EXPECT_TRUE(corral->notify.wait_for("recycled", 5s));
}

TEST(Resilience, RecyclesAWorkerOverMaxRss) {
  auto corral = CorralInstance::start({"--max-rss", "1"}, 1);
  EXPECT_TRUE(corral->process->wait_for_line(
      std::regex(R"(recycling worker 0 \(pid \d+\): its resident memory \d+ MiB is over max_rss 1 MiB)"), 10s))
      << corral->process->output();
}

TEST(Resilience, DebugFailStartNeedsDebugRoutes) {
  ChildProcess corral({corral_binary(), "--debug-fail-start"});
  const auto status = corral.wait_exit(5s);
  ASSERT_TRUE(status);
  EXPECT_TRUE(WIFEXITED(*status) && WEXITSTATUS(*status) == 2);
  EXPECT_NE(corral.output().find("needs --enable-debug-routes"), std::string::npos) << corral.output();
}

}  // namespace
}  // namespace corral::test
