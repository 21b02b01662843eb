#pragma once

#include <poll.h>

#include <chrono>
#include <cstddef>
#include <functional>
#include <optional>
#include <vector>

#include "common/unique_fd.hpp"

namespace corral::net {

// The accepting half of a small server driven by the supervisor's poll loop (the
// control socket, the metrics endpoint): a non-blocking listener that takes clients up
// to a limit and, when accept() fails for want of descriptors or memory, pauses for
// 100 ms instead of spinning on a listener that stays readable.
class PollAcceptor {
 public:
  using Clock = std::chrono::steady_clock;

  // Makes `listener` non-blocking: the supervisor's loop must never wait in accept()
  // (systemd passes sockets in blocking mode). Throws std::system_error.
  PollAcceptor(UniqueFd listener, std::size_t max_clients);

  int fd() const { return listener_.get(); }
  // Appends the listener to `polled` while there is room for a client and accepting
  // is not paused.
  void add_to(std::vector<pollfd>& polled, std::size_t clients) const;
  // Accepts while fewer than the limit are connected, handing each new socket
  // (non-blocking, close-on-exec) to `take`, which says whether it kept it.
  void accept_clients(std::size_t clients, Clock::time_point now, const std::function<bool(UniqueFd)>& take);
  // The next time the server must act without an event: a pause that ends, or the
  // first client (anything with `last_active`) silent for `idle_limit`.
  template <class Clients>
  std::optional<Clock::time_point> next_deadline(const Clients& clients, Clock::duration idle_limit) const {
    std::optional<Clock::time_point> next;
    if (paused_until_ > Clock::now()) next = paused_until_;  // only a pause still to come: a past one would spin
    for (const auto& client : clients) {
      const auto deadline = client->last_active + idle_limit;
      if (!next || deadline < *next) next = deadline;
    }
    return next;
  }

  // Drops the clients that are closed (an invalid `socket`) or silent for `idle_limit`.
  template <class Clients>
  static void drop_finished(Clients& clients, Clock::time_point now, Clock::duration idle_limit) {
    std::erase_if(clients, [&](const auto& client) {
      return !client->socket.valid() || now - client->last_active >= idle_limit;
    });
  }

 private:
  UniqueFd listener_;
  std::size_t max_clients_;
  Clock::time_point paused_until_{};
};

}  // namespace corral::net
