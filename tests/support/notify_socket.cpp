#include "support/notify_socket.hpp"

#include <fcntl.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <stdexcept>

namespace corral::test {

NotifySocket::NotifySocket() {
  char directory[] = "/tmp/corral-notify-XXXXXX";
  if (::mkdtemp(directory) == nullptr) throw std::runtime_error("mkdtemp() failed");
  directory_ = directory;
  path_ = directory_ + "/notify";
  fd_ = ::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  sockaddr_un address{};
  address.sun_family = AF_UNIX;
  std::strncpy(address.sun_path, path_.c_str(), sizeof address.sun_path - 1);
  if (::bind(fd_, reinterpret_cast<const sockaddr*>(&address), sizeof address) != 0) {
    throw std::runtime_error(std::string("bind() of the notify socket failed: ") + std::strerror(errno));
  }
  if (::pipe2(stop_pipe_, O_CLOEXEC) != 0) throw std::runtime_error("pipe2() failed");
  reader_ = std::thread([this] { read_all(); });
}

NotifySocket::~NotifySocket() {
  ::close(stop_pipe_[1]);
  reader_.join();
  ::close(stop_pipe_[0]);
  ::close(fd_);
  ::unlink(path_.c_str());
  ::rmdir(directory_.c_str());
}

void NotifySocket::read_all() {
  for (;;) {
    pollfd watched[2] = {{fd_, POLLIN, 0}, {stop_pipe_[0], POLLIN, 0}};
    if (::poll(watched, 2, -1) < 0 && errno != EINTR) return;
    if (watched[1].revents != 0) return;
    if ((watched[0].revents & POLLIN) == 0) continue;
    char datagram[4096];
    const auto n = ::recv(fd_, datagram, sizeof datagram, MSG_DONTWAIT);
    if (n <= 0) continue;
    std::lock_guard lock(mutex_);
    received_.emplace_back(datagram, static_cast<std::size_t>(n));
    arrived_.notify_all();
  }
}

std::optional<std::string> NotifySocket::wait_for(std::string_view needle, std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  std::unique_lock lock(mutex_);
  for (;;) {
    for (; searched_ < received_.size(); ++searched_) {
      if (received_[searched_].find(needle) != std::string::npos) return received_[searched_++];
    }
    if (arrived_.wait_until(lock, deadline) == std::cv_status::timeout) return std::nullopt;
  }
}

std::vector<std::string> NotifySocket::received() const {
  std::lock_guard lock(mutex_);
  return received_;
}

}  // namespace corral::test
