#include "ipc/channel.hpp"

#include <sys/socket.h>

#include <cerrno>
#include <string>

#include "common/system_error.hpp"

namespace corral::ipc {

bool send_message(int fd, const Message& message) {
  for (;;) {
    if (::send(fd, &message, sizeof message, MSG_DONTWAIT | MSG_NOSIGNAL) >= 0) return true;
    switch (errno) {
      case EINTR: continue;
      case EAGAIN:
      case EPIPE:
      case ECONNRESET:
      case ENOTCONN:
        return false;
      default:
        throw_system_error("send", std::string("sending a ") +
                                       std::string(to_string(message.kind)) + " message");
    }
  }
}

Received receive_message(int fd, Message& out) {
  // One byte more than a message, so that an oversized datagram shows as truncated.
  std::byte buffer[sizeof(Message) + 1];
  for (;;) {
    const auto n = ::recv(fd, buffer, sizeof buffer, MSG_DONTWAIT);
    if (n > 0) {
      auto message = decode({buffer, static_cast<std::size_t>(n)});
      if (!message) return Received::malformed;
      out = *message;
      return Received::message;
    }
    if (n == 0) return Received::closed;
    switch (errno) {
      case EINTR: continue;
      case EAGAIN: return Received::nothing;
      case ECONNRESET: return Received::closed;
      default: throw_system_error("recv", "reading the supervisor-worker channel");
    }
  }
}

std::pair<Channel, Channel> Channel::make_pair(std::string_view purpose) {
  int fds[2];
  if (::socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, fds) != 0) {
    throw_system_error("socketpair", std::string("creating the channel for ") + std::string(purpose));
  }
  return {Channel(UniqueFd(fds[0])), Channel(UniqueFd(fds[1]))};
}

}  // namespace corral::ipc
