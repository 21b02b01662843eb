// sd_listen_fds only looks at fd 3 onward of the calling process, so each case runs in a
// child (a gtest death test forks) that puts its own socket at fd 3.
#include <gtest/gtest.h>

#include <fcntl.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdlib>
#include <string>

#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>

#include "sd/listen_fds.hpp"

namespace corral::sd {
namespace {

enum Outcome { adopted_one = 10, adopted_none = 11, refused = 12, kept_environment = 13, inherited = 14 };

int make_socket(int type, bool listening) {
  const int fd = ::socket(AF_INET, type, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ::bind(fd, reinterpret_cast<const sockaddr*>(&address), sizeof address);
  if (listening) ::listen(fd, 8);
  return fd;
}

// In the child: put `fd` at 3, set LISTEN_* as systemd would, adopt, exit with the outcome.
[[noreturn]] void adopt_in_child(int fd, const std::string& listen_pid) {
  spdlog::set_default_logger(spdlog::stderr_logger_st("death test"));  // gtest reads stderr
  ::dup2(fd, 3);
  ::setenv("LISTEN_PID", listen_pid.c_str(), 1);
  ::setenv("LISTEN_FDS", "1", 1);
  try {
    const auto fds = adopt_listen_fds().http;
    if (std::getenv("LISTEN_FDS") != nullptr) std::_Exit(kept_environment);
    if (fds.empty()) std::_Exit(adopted_none);
    if (fds.size() != 1 || fds[0].get() != 3) std::_Exit(1);
    if ((::fcntl(3, F_GETFD) & FD_CLOEXEC) == 0) std::_Exit(inherited);
    std::_Exit(adopted_one);
  } catch (const std::exception& error) {
    std::fprintf(stderr, "%s\n", error.what());
    std::_Exit(refused);
  }
}

std::string own_pid() {
  return std::to_string(::getpid());
}

class ListenFds : public ::testing::Test {
 protected:
  void SetUp() override { GTEST_FLAG_SET(death_test_style, "fast"); }
};

TEST_F(ListenFds, AdoptsAListeningTcpSocketAndMarksItCloseOnExec) {
  EXPECT_EXIT(adopt_in_child(make_socket(SOCK_STREAM, true), own_pid()), ::testing::ExitedWithCode(adopted_one), "");
}

TEST_F(ListenFds, NothingPassedMeansNothingAdopted) {
  EXPECT_EXIT(
      {
        ::unsetenv("LISTEN_PID");
        ::unsetenv("LISTEN_FDS");
        std::_Exit(adopt_listen_fds().http.empty() ? adopted_none : 1);
      },
      ::testing::ExitedWithCode(adopted_none), "");
}

TEST_F(ListenFds, FdsMeantForAnotherProcessAreIgnored) {
  EXPECT_EXIT(adopt_in_child(make_socket(SOCK_STREAM, true), "1"), ::testing::ExitedWithCode(adopted_none),
              "LISTEN_FDS is meant for pid 1");
}

TEST_F(ListenFds, RefusesASocketThatIsNotListening) {
  EXPECT_EXIT(adopt_in_child(make_socket(SOCK_STREAM, false), own_pid()), ::testing::ExitedWithCode(refused),
              "fd 3 passed by systemd \\(LISTEN_FDS=1\\) is a stream socket that is not listening");
}

TEST_F(ListenFds, RefusesADatagramSocket) {
  EXPECT_EXIT(adopt_in_child(make_socket(SOCK_DGRAM, false), own_pid()), ::testing::ExitedWithCode(refused),
              "is a datagram or packet socket.*ListenStream=");
}

TEST_F(ListenFds, RefusesAFileThatIsNotASocket) {
  EXPECT_EXIT(adopt_in_child(::open("/dev/null", O_RDONLY), own_pid()), ::testing::ExitedWithCode(refused),
              "is not a socket");
}

}  // namespace
}  // namespace corral::sd
