// Stopping: in-flight requests finish, nothing is left behind, and workers die with
// their supervisor.
#include <gtest/gtest.h>

#include <signal.h>
#include <sys/wait.h>

#include <regex>

#include "support/corral_instance.hpp"
#include "support/http_client.hpp"

namespace corral::test {
namespace {

TEST(Shutdown, SigtermLetsInFlightRequestFinishThenExitsZero) {
  auto corral = CorralInstance::start({"--enable-debug-routes"}, 2);
  const auto workers = corral->workers();
  RawConnection slow(corral->port);
  slow.send("GET /debug/sleep?ms=2000 HTTP/1.1\r\nHost: x\r\n\r\n");
  ASSERT_TRUE(corral->process->wait_for_line(std::regex("/debug/sleep: answering in 2000 ms"), 5s));
  corral->process->signal(SIGTERM);
  EXPECT_TRUE(corral->notify.wait_for("STOPPING=1", 5s));

  const auto response = slow.read_response(10s);
  ASSERT_TRUE(response) << corral->process->output();
  EXPECT_EQ(response->status, 200);
  EXPECT_EQ(response->header("connection"), "close");

  const auto status = corral->process->wait_exit(10s);
  ASSERT_TRUE(status) << corral->process->output();
  EXPECT_TRUE(WIFEXITED(*status) && WEXITSTATUS(*status) == 0) << corral->process->output();
  for (const pid_t worker : workers) EXPECT_TRUE(wait_gone(worker, 1s)) << "worker " << worker << " left behind";
}

TEST(Shutdown, DrainDeadlineKillsWhatIsLeft) {
  auto corral = CorralInstance::start({"--enable-debug-routes", "--drain-timeout", "0.5"}, 1);
  RawConnection slow(corral->port);
  slow.send("GET /debug/sleep?ms=60000 HTTP/1.1\r\nHost: x\r\n\r\n");
  ASSERT_TRUE(corral->process->wait_for_line(std::regex("/debug/sleep: answering in 60000 ms"), 5s));
  const auto worker = corral->workers().at(0);
  corral->process->signal(SIGTERM);
  const auto status = corral->process->wait_exit(10s);
  ASSERT_TRUE(status);
  EXPECT_TRUE(WIFEXITED(*status) && WEXITSTATUS(*status) == 0);
  EXPECT_TRUE(wait_gone(worker, 1s));
}

TEST(Shutdown, SecondSigintStopsAtOnce) {
  auto corral = CorralInstance::start({"--enable-debug-routes"}, 1);
  RawConnection slow(corral->port);
  slow.send("GET /debug/sleep?ms=60000 HTTP/1.1\r\nHost: x\r\n\r\n");
  ASSERT_TRUE(corral->process->wait_for_line(std::regex("/debug/sleep: answering in 60000 ms"), 5s));
  const auto worker = corral->workers().at(0);
  corral->process->signal(SIGINT);
  ASSERT_TRUE(corral->process->wait_for_line(std::regex("SIGINT received: draining"), 5s));
  corral->process->signal(SIGINT);
  // Far sooner than the 30 s drain deadline.
  const auto status = corral->process->wait_exit(5s);
  ASSERT_TRUE(status) << corral->process->output();
  EXPECT_TRUE(WIFEXITED(*status));
  EXPECT_TRUE(wait_gone(worker, 1s));
}

TEST(Shutdown, WorkersDieWithAKilledSupervisor) {
  auto corral = CorralInstance::start({}, 2);
  const auto workers = corral->workers();
  ASSERT_EQ(workers.size(), 2u);
  corral->process->signal(SIGKILL);
  ASSERT_TRUE(corral->process->wait_exit(5s));
  for (const pid_t worker : workers) EXPECT_TRUE(wait_gone(worker, 2s)) << "worker " << worker << " outlived its supervisor";
}

}  // namespace
}  // namespace corral::test
