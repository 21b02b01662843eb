#include "sd/listen_fds.hpp"

#include <fcntl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <systemd/sd-daemon.h>
#include <unistd.h>

#include <cstdlib>
#include <stdexcept>
#include <string>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "common/system_error.hpp"

namespace corral::sd {
namespace {

std::string what_fd_is(int fd) {
  struct stat status {};
  if (::fstat(fd, &status) != 0) return "not an open file descriptor";
  if (!S_ISSOCK(status.st_mode)) return "not a socket";
  int type = 0;
  int listening = 0;
  socklen_t length = sizeof type;
  ::getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &length);
  length = sizeof listening;
  ::getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &listening, &length);
  if (type != SOCK_STREAM) return "a datagram or packet socket";
  if (!listening) return "a stream socket that is not listening";
  return "a stream socket that is not IPv4 or IPv6";
}

}  // namespace

ListenFds adopt_listen_fds() {
  const char* listen_pid = std::getenv("LISTEN_PID");
  const std::string expected_pid = listen_pid ? listen_pid : "";
  char** names = nullptr;
  const int count = sd_listen_fds_with_names(1, &names);
  // The names are ours to free, whatever happens below.
  std::vector<std::string> fd_names;
  if (names != nullptr) {
    for (int i = 0; i < count; ++i) {
      fd_names.emplace_back(names[i] ? names[i] : "");
      std::free(names[i]);
    }
    std::free(names);
  }
  if (count < 0) throw_system_error(-count, "sd_listen_fds", "reading LISTEN_FDS from systemd");
  if (count == 0) {
    if (!expected_pid.empty() && expected_pid != std::to_string(::getpid())) {
      spdlog::warn("LISTEN_FDS is meant for pid {}, not this process ({}): ignoring it",
                   expected_pid, ::getpid());
    }
    return {};
  }

  ListenFds fds;
  for (int fd = SD_LISTEN_FDS_START; fd < SD_LISTEN_FDS_START + count; ++fd) {
    const auto index = static_cast<std::size_t>(fd - SD_LISTEN_FDS_START);
    const bool metrics = index < fd_names.size() && fd_names[index] == "metrics";
    if (metrics) {
      if (fds.metrics.valid()) {
        spdlog::warn("systemd passed more than one socket named metrics; serving metrics on fd {}", fd);
      }
      fds.metrics.reset(fd);
    } else {
      fds.http.emplace_back(fd);
    }
    const int is_inet = sd_is_socket_inet(fd, AF_UNSPEC, SOCK_STREAM, 1, 0);
    if (is_inet <= 0) {
      throw std::runtime_error(fmt::format(
          "fd {} passed by systemd (LISTEN_FDS={}) is {}; corral serves HTTP on listening "
          "TCP sockets only: use ListenStream= with an IP address or port in corral.socket",
          fd, count, what_fd_is(fd)));
    }
    if (::fcntl(fd, F_SETFD, FD_CLOEXEC) != 0) {
      throw_system_error("fcntl(F_SETFD)", fmt::format("marking listen fd {} close-on-exec", fd));
    }
  }
  return fds;
}

}  // namespace corral::sd
