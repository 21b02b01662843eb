// The seed's crash and regeneration: suicide notice, replacement first, old one exits.
#include <gtest/gtest.h>

#include <signal.h>

#include <algorithm>
#include <regex>

#include "support/corral_instance.hpp"
#include "support/http_client.hpp"

namespace corral::test {
namespace {

pid_t pid_in_body(const std::string& body) {
  std::smatch match;
  if (!std::regex_search(body, match, std::regex(R"(pid:(\d+),)"))) return 0;
  return std::stoi(match[1]);
}

TEST(Regeneration, ThrowingHandlerAnswersThenWorkerIsReplaced) {
  auto corral = CorralInstance::start({"--enable-debug-routes"}, 2);
  const auto before = corral->workers();
  const auto mark = corral->mark();
  const auto response = http_request(corral->port, "GET", "/debug/throw");
  ASSERT_TRUE(response) << corral->process->output();
  EXPECT_EQ(response->status, 200);
  EXPECT_EQ(response->header("connection"), "close");
  const pid_t crashed = pid_in_body(response->body);
  ASSERT_NE(std::find(before.begin(), before.end(), crashed), before.end());

  EXPECT_TRUE(corral->process->wait_for_line(
      std::regex("pid " + std::to_string(crashed) + "\\) sent a suicide notice: uncaught exception"), 5s, mark));
  const pid_t replacement = corral->wait_worker_ready(mark);
  EXPECT_NE(replacement, crashed);
  EXPECT_NE(corral->wait_worker_exited(crashed, mark).find("exited with code 0 after suicide notice"),
            std::string::npos);
  const auto after = corral->workers();
  EXPECT_EQ(after.size(), 2u);
  EXPECT_EQ(std::find(after.begin(), after.end(), crashed), after.end());
  EXPECT_NE(std::find(after.begin(), after.end(), replacement), after.end());
}

TEST(Regeneration, FortyCrashesInARowAreAllAnswered) {
  auto corral = CorralInstance::start({"--enable-debug-routes"}, 2);
  for (int i = 0; i < 40; ++i) {
    const auto response = http_request(corral->port, "GET", "/debug/throw", 10s);
    ASSERT_TRUE(response) << "request " << i << " got no complete answer\n" << corral->process->output();
    EXPECT_EQ(response->status, 200);
    EXPECT_TRUE(response->body.starts_with("I am worker, pid:"));
  }
  // Every crash was replaced: the pool is whole again and answers normally.
  const auto healthy = http_request(corral->port, "GET", "/");
  ASSERT_TRUE(healthy);
  EXPECT_EQ(healthy->status, 200);
  EXPECT_TRUE(corral->notify.wait_for("2/2 workers ready", 10s));
}

TEST(Regeneration, SegfaultSendsNoticeAndIsReplaced) {
  auto corral = CorralInstance::start({"--enable-debug-routes"}, 1);
  const pid_t victim = corral->workers().at(0);
  const auto mark = corral->mark();
  EXPECT_FALSE(http_request(corral->port, "GET", "/debug/segv", 5s)) << "the connection dies with the worker";
  EXPECT_TRUE(corral->process->wait_for_line(std::regex("sent a suicide notice: fatal signal SIGSEGV"), 5s, mark));
  const pid_t replacement = corral->wait_worker_ready(mark);
  EXPECT_NE(replacement, victim);
  EXPECT_NE(corral->wait_worker_exited(victim, mark).find("was killed by SIGSEGV"), std::string::npos);
  const auto response = http_request(corral->port, "GET", "/");
  ASSERT_TRUE(response);
  EXPECT_EQ(pid_in_body(response->body), replacement);
}

TEST(Regeneration, KilledWorkerIsReplaced) {
  auto corral = CorralInstance::start({}, 2);
  const pid_t victim = corral->workers().at(0);
  const auto mark = corral->mark();
  ::kill(victim, SIGKILL);
  const auto exited = corral->wait_worker_exited(victim, mark);
  EXPECT_NE(exited.find("was killed by SIGKILL without a suicide notice"), std::string::npos) << exited;
  const pid_t replacement = corral->wait_worker_ready(mark);
  EXPECT_NE(replacement, victim);
  EXPECT_EQ(corral->workers().size(), 2u);
  EXPECT_TRUE(corral->notify.wait_for("1 restarts", 5s));
}

}  // namespace
}  // namespace corral::test
