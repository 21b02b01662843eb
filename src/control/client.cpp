#include "control/client.hpp"

#include <poll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <system_error>

#include <fmt/format.h>

#include "common/unique_fd.hpp"
#include "net/peer_credentials.hpp"
#include "net/unix_address.hpp"

namespace corral::control {
namespace {

// The answer is shown as the service's own, so whoever answers must be the service:
// root, this user, or the user that owns the socket's directory (RuntimeDirectory=
// makes it the service's user, DynamicUser= included) when that directory and every
// one above it are writable by no one else, as OpenSSH's secure_path asks of its files.
// Anyone else could only have put a socket there through a directory it may write to.
bool trusted_directory(const std::filesystem::path& socket_path, uid_t owner) {
  std::error_code error;
  auto directory = std::filesystem::canonical(socket_path.parent_path().empty() ? "." : socket_path.parent_path(), error);
  if (error) return false;
  bool own = true;  // the socket's own directory is the owner's; those above, root's or the owner's
  for (;;) {
    struct stat status {};
    if (::stat(directory.c_str(), &status) != 0 || (status.st_mode & (S_IWGRP | S_IWOTH)) != 0) return false;
    if (own ? status.st_uid != owner : status.st_uid != 0 && status.st_uid != owner) return false;
    own = false;
    if (directory == directory.root_path()) return true;
    directory = directory.parent_path();
  }
}

void check_peer(int socket, const std::string& socket_path) {
  ucred peer{};
  try {
    peer = net::peer_credentials(socket);
  } catch (const std::system_error& error) {
    throw ControlError(fmt::format("{}: {}", socket_path, error.what()));
  }
  if (peer.uid == 0 || peer.uid == ::geteuid() || trusted_directory(socket_path, peer.uid)) return;
  throw ControlError(fmt::format("{}: the process answering (pid {}, uid {}) is neither root nor the owner of a "
                                 "directory that only it may write to; not trusting its answer (check who created "
                                 "the socket)",
                                 socket_path, peer.pid, peer.uid));
}

}  // namespace

std::string exchange(const std::string& socket_path, const std::string& command, std::chrono::milliseconds timeout) {
  sockaddr_un address{};
  try {
    address = net::unix_address(socket_path);
  } catch (const std::invalid_argument& error) {
    throw ControlError(error.what());
  }
  // Non-blocking from the start: a supervisor whose backlog is full must not make
  // connect() wait without limit.
  UniqueFd socket(::socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
  if (!socket.valid()) throw ControlError(fmt::format("socket(): {}", std::strerror(errno)));
  if (::connect(socket.get(), reinterpret_cast<const sockaddr*>(&address), sizeof address) != 0) {
    const int error = errno;
    if (error == ENOENT || error == ECONNREFUSED) {
      throw ControlError(fmt::format("not running: nothing answers at {} (start it, e.g. systemctl start corral; "
                                     "or name the socket with --control-socket PATH)",
                                     socket_path));
    }
    if (error == EAGAIN) {
      throw ControlError(fmt::format("{}: the supervisor is not accepting (its queue is full); try again", socket_path));
    }
    if (error == EACCES || error == EPERM) {
      throw ControlError(fmt::format("permission denied on {}: run as root or as the service's user (sudo)",
                                     socket_path));
    }
    throw ControlError(fmt::format("connect({}): {}", socket_path, std::strerror(error)));
  }
  check_peer(socket.get(), socket_path);
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  auto wait = [&](short events) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    pollfd polled{socket.get(), events, 0};
    if (left.count() <= 0 || ::poll(&polled, 1, static_cast<int>(left.count())) <= 0) {
      throw ControlError(fmt::format("{}: no answer within {} ms", socket_path, timeout.count()));
    }
  };
  std::size_t sent = 0;
  while (sent < command.size()) {
    wait(POLLOUT);
    const auto written = ::send(socket.get(), command.data() + sent, command.size() - sent, MSG_NOSIGNAL);
    if (written < 0) throw ControlError(fmt::format("send({}): {}", socket_path, std::strerror(errno)));
    sent += static_cast<std::size_t>(written);
  }
  std::string answer;
  for (;;) {
    wait(POLLIN);
    char buffer[16384];
    const auto got = ::recv(socket.get(), buffer, sizeof buffer, 0);
    if (got <= 0) throw ControlError(fmt::format("{}: the supervisor closed the connection", socket_path));
    answer.append(buffer, static_cast<std::size_t>(got));
    if (const auto newline = answer.find('\n'); newline != std::string::npos) return answer.substr(0, newline);
  }
}

}  // namespace corral::control
