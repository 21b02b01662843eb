// Socket activation: corral adopts exactly the fds systemd passes and refuses others.
#include <gtest/gtest.h>

#include <fcntl.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <regex>

#include "support/child_process.hpp"
#include "support/http_client.hpp"
#include "support/notify_socket.hpp"

namespace corral::test {
namespace {

// Runs corral with `fd` as fd 3 and LISTEN_PID/LISTEN_FDS set the way systemd sets them
// (LISTEN_PID must be corral's own pid, which only a shell that execs can know).
std::unique_ptr<ChildProcess> start_with_fd3(int fd, const std::string& listen_pid = "$$") {
  return std::make_unique<ChildProcess>(
      std::vector<std::string>{"/bin/sh", "-c",
                               "LISTEN_PID=" + listen_pid + " LISTEN_FDS=1 exec \"$0\" --workers 1 --listen 127.0.0.1:0",
                               corral_binary()},
      std::vector<std::string>{}, std::vector<std::pair<int, int>>{{fd, 3}});
}

TEST(SocketActivation, ServesOnTheSocketSystemdSocketActivatePasses) {
  NotifySocket notify;
  const auto port = pick_free_port();
  ChildProcess activator({"systemd-socket-activate", "-l", "127.0.0.1:" + std::to_string(port), "-E", "NOTIFY_SOCKET",
                          corral_binary(), "--workers", "2"},
                         {notify.environment()});
  ASSERT_TRUE(activator.wait_for_line(std::regex("Listening on"), 5s)) << activator.output();
  // The first connection starts corral; it is queued until a worker takes it.
  const auto response = http_request(port, "GET", "/", 10s);
  ASSERT_TRUE(response) << activator.output();
  EXPECT_EQ(response->status, 200);
  // systemd-socket-activate execs corral: same pid, and corral is the workers' parent.
  EXPECT_NE(response->body.find("ppid:" + std::to_string(activator.pid())), std::string::npos) << response->body;
  EXPECT_TRUE(activator.wait_for_line(std::regex("supervisor started: 2 workers on 127\\.0\\.0\\.1:" + std::to_string(port)), 5s));
  EXPECT_TRUE(notify.wait_for("READY=1", 10s));
  EXPECT_EQ(children_of(activator.pid()).size(), 2u);
}

TEST(SocketActivation, RefusesAPassedFdThatIsNotASocket) {
  const int file = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
  auto corral = start_with_fd3(file);
  ::close(file);
  const auto status = corral->wait_exit(10s);
  ASSERT_TRUE(status);
  EXPECT_TRUE(WIFEXITED(*status) && WEXITSTATUS(*status) == 1) << corral->output();
  EXPECT_NE(corral->output().find("fd 3 passed by systemd (LISTEN_FDS=1) is not a socket"), std::string::npos)
      << corral->output();
}

TEST(SocketActivation, RefusesADatagramSocket) {
  const int udp = ::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  auto corral = start_with_fd3(udp);
  ::close(udp);
  const auto status = corral->wait_exit(10s);
  ASSERT_TRUE(status);
  EXPECT_TRUE(WIFEXITED(*status) && WEXITSTATUS(*status) == 1) << corral->output();
  EXPECT_NE(corral->output().find("is a datagram or packet socket"), std::string::npos) << corral->output();
}

TEST(SocketActivation, IgnoresFdsMeantForAnotherProcessAndBindsItself) {
  const int udp = ::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  auto corral = start_with_fd3(udp, "1");
  ::close(udp);
  EXPECT_TRUE(corral->wait_for_line(std::regex("LISTEN_FDS is meant for pid 1, not this process"), 5s)) << corral->output();
  const auto started = corral->wait_for_line(std::regex(R"(supervisor started: 1 workers on 127\.0\.0\.1:(\d+))"), 5s);
  ASSERT_TRUE(started) << corral->output();
  ASSERT_TRUE(corral->wait_for_line(std::regex("all 1 workers ready"), 5s));
  const auto response = http_request(static_cast<std::uint16_t>(std::stoi(started->at(1))), "GET", "/healthz");
  ASSERT_TRUE(response);
  EXPECT_EQ(response->status, 200);
}

TEST(SocketActivation, SelfBindsIpv6) {
  ChildProcess corral({corral_binary(), "--workers", "1", "--listen", "[::1]:0"});
  const auto started = corral.wait_for_line(std::regex(R"(supervisor started: 1 workers on \[::1\]:(\d+))"), 5s);
  ASSERT_TRUE(started) << corral.output();
  EXPECT_TRUE(corral.wait_for_line(std::regex("all 1 workers ready"), 5s));
}

TEST(SocketActivation, BadListenAddressIsAUsageError) {
  ChildProcess corral({corral_binary(), "--listen", "localhost"});
  const auto status = corral.wait_exit(5s);
  ASSERT_TRUE(status);
  EXPECT_TRUE(WIFEXITED(*status) && WEXITSTATUS(*status) == 2) << corral.output();
  EXPECT_NE(corral.output().find("'localhost' is not a listen address (no port)"), std::string::npos) << corral.output();
}

}  // namespace
}  // namespace corral::test
