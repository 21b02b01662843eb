// Liveness: watchdog pings to systemd, and hung workers found by their missing heartbeats.
#include <gtest/gtest.h>

#include <chrono>
#include <regex>

#include "support/corral_instance.hpp"
#include "support/http_client.hpp"

namespace corral::test {
namespace {

TEST(Health, PingsTheWatchdogAtHalfItsInterval) {
  NotifySocket notify;
  ChildProcess corral({corral_binary(), "--listen", "127.0.0.1:0", "--workers", "1"},
                      {notify.environment(), "WATCHDOG_USEC=400000"});
  ASSERT_TRUE(corral.wait_for_line(std::regex("systemd watchdog enabled: pinging every 200 ms"), 5s))
      << corral.output();
  ASSERT_TRUE(notify.wait_for("READY=1", 5s));
  const auto first = std::chrono::steady_clock::now();
  ASSERT_TRUE(notify.wait_for("WATCHDOG=1", 2s));
  ASSERT_TRUE(notify.wait_for("WATCHDOG=1", 2s));
  ASSERT_TRUE(notify.wait_for("WATCHDOG=1", 2s));
  // Three pings take about two intervals; far less than the 0.4 s timeout between them.
  EXPECT_LT(std::chrono::steady_clock::now() - first, 1500ms);
}

TEST(Health, NoWatchdogWithoutWatchdogUsec) {
  auto corral = CorralInstance::start({}, 1);
  EXPECT_FALSE(corral->notify.wait_for("WATCHDOG=1", 500ms));
}

TEST(Health, HungWorkerIsAbortedAndReplaced) {
  auto corral = CorralInstance::start({"--enable-debug-routes", "--hang-timeout", "1"}, 2);
  const auto mark = corral->mark();
  RawConnection hung(corral->port);
  hung.send("GET /debug/hang HTTP/1.1\r\nHost: x\r\n\r\n");
  ASSERT_TRUE(corral->process->wait_for_line(std::regex("/debug/hang: blocking"), 5s));
  // The other worker keeps serving meanwhile.
  const auto other = http_request(corral->port, "GET", "/healthz", 2s);
  ASSERT_TRUE(other);
  EXPECT_EQ(other->status, 200);
  const auto aborted = corral->process->wait_for_line(
      std::regex(R"(worker \d+ \(pid (\d+)\) has sent nothing for 1 s: sending SIGABRT)"), 5s, mark);
  ASSERT_TRUE(aborted) << corral->process->output();
  const pid_t victim = std::stoi(aborted->at(1));
  EXPECT_TRUE(corral->process->wait_for_line(std::regex("sent a suicide notice: fatal signal SIGABRT"), 5s, mark));
  EXPECT_NE(corral->wait_worker_exited(victim, mark).find("was killed by SIGABRT"), std::string::npos);
  EXPECT_NE(corral->wait_worker_ready(mark), victim);
}

}  // namespace
}  // namespace corral::test
