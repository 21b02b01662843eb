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
  // When a pause ends; nullopt if accepting is not paused.
  std::optional<Clock::time_point> paused_until() const;

 private:
  UniqueFd listener_;
  std::size_t max_clients_;
  Clock::time_point paused_until_{};
};

// The latest time at which a client last active at `last_active` is still let be.
template <class Clients, class Duration>
std::optional<std::chrono::steady_clock::time_point> earliest_idle_deadline(const Clients& clients, Duration idle_limit) {
  std::optional<std::chrono::steady_clock::time_point> next;
  for (const auto& client : clients) {
    const auto deadline = client->last_active + idle_limit;
    if (!next || deadline < *next) next = deadline;
  }
  return next;
}

}  // namespace corral::net
