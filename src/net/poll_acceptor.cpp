#include "net/poll_acceptor.hpp"

#include <fcntl.h>
#include <sys/socket.h>

#include <cerrno>

#include "common/system_error.hpp"

namespace corral::net {

PollAcceptor::PollAcceptor(UniqueFd listener, std::size_t max_clients)
    : listener_(std::move(listener)), max_clients_(max_clients) {
  const int flags = ::fcntl(listener_.get(), F_GETFL);
  if (flags < 0 || ::fcntl(listener_.get(), F_SETFL, flags | O_NONBLOCK) != 0) {
    throw_system_error("fcntl(O_NONBLOCK)", "making a listening socket of the supervisor non-blocking");
  }
}

void PollAcceptor::add_to(std::vector<pollfd>& polled, std::size_t clients) const {
  if (clients < max_clients_ && Clock::now() >= paused_until_) polled.push_back(pollfd{listener_.get(), POLLIN, 0});
}

void PollAcceptor::accept_clients(std::size_t clients, Clock::time_point now,
                                  const std::function<bool(UniqueFd)>& take) {
  while (clients < max_clients_) {
    UniqueFd socket(::accept4(listener_.get(), nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC));
    if (!socket.valid()) {
      if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR && errno != ECONNABORTED) {
        paused_until_ = now + std::chrono::milliseconds(100);
      }
      return;
    }
    if (take(std::move(socket))) ++clients;
  }
}

}  // namespace corral::net
