#include "sd/notify_socket.hpp"

#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include <fmt/format.h>

#include "common/system_error.hpp"

namespace corral::sd {
namespace {

// sd_notify(3) datagrams are small; systemd reads up to its pipe size. A STATUS line
// longer than this is cut, which is all that can happen.
constexpr std::size_t max_datagram = 4096;

}  // namespace

NotifySocket NotifySocket::open(const std::string& name) {
  const auto attempt = "opening an app worker's notify socket";
  NotifySocket socket;
  socket.fd_ = UniqueFd(::socket(AF_UNIX, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0));
  if (!socket.fd_.valid()) throw_system_error("socket(AF_UNIX, SOCK_DGRAM)", attempt);
  const int on = 1;
  if (::setsockopt(socket.fd_.get(), SOL_SOCKET, SO_PASSCRED, &on, sizeof on) != 0) {
    throw_system_error("setsockopt(SO_PASSCRED)", attempt);
  }
  const auto path = fmt::format("corral/{}/{}", ::getpid(), name);
  sockaddr_un address{};
  address.sun_family = AF_UNIX;
  if (path.size() + 1 > sizeof address.sun_path) throw std::length_error("notify socket name too long: " + path);
  std::memcpy(address.sun_path + 1, path.data(), path.size());  // sun_path[0] = 0: abstract
  const auto length = static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + 1 + path.size());
  if (::bind(socket.fd_.get(), reinterpret_cast<const sockaddr*>(&address), length) != 0) {
    throw_system_error("bind(@" + path + ")", attempt);
  }
  socket.address_ = "@" + path;
  return socket;
}

NotifySocket::Result NotifySocket::receive(Datagram& out) const {
  char buffer[max_datagram];
  alignas(cmsghdr) char control[CMSG_SPACE(sizeof(ucred)) + CMSG_SPACE(sizeof(int) * 16)];
  iovec vector{buffer, sizeof buffer};
  msghdr header{};
  header.msg_iov = &vector;
  header.msg_iovlen = 1;
  header.msg_control = control;
  header.msg_controllen = sizeof control;
  const auto received = ::recvmsg(fd_.get(), &header, MSG_DONTWAIT | MSG_CMSG_CLOEXEC | MSG_TRUNC);
  if (received < 0) {
    if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) return Result::nothing;
    throw_system_error("recvmsg", "reading an app worker's notify socket");
  }
  const ucred* sender = nullptr;
  for (auto* message = CMSG_FIRSTHDR(&header); message != nullptr; message = CMSG_NXTHDR(&header, message)) {
    if (message->cmsg_level != SOL_SOCKET) continue;
    if (message->cmsg_type == SCM_CREDENTIALS) sender = reinterpret_cast<const ucred*>(CMSG_DATA(message));
    if (message->cmsg_type == SCM_RIGHTS) {
      // FDSTORE=1 and the like: corral keeps no fds for a worker; close what came.
      const auto count = (message->cmsg_len - CMSG_LEN(0)) / sizeof(int);
      for (std::size_t i = 0; i < count; ++i) {
        int fd = -1;
        std::memcpy(&fd, CMSG_DATA(message) + i * sizeof(int), sizeof fd);
        ::close(fd);
      }
    }
  }
  out.sender = sender ? sender->pid : 0;
  if (sender == nullptr || (sender->uid != 0 && sender->uid != ::geteuid())) return Result::refused;
  out.text.assign(buffer, std::min(static_cast<std::size_t>(received), sizeof buffer));
  return Result::datagram;
}

}  // namespace corral::sd
