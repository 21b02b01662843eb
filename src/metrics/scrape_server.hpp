#pragma once

#include <poll.h>

#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "common/unique_fd.hpp"
#include "net/poll_acceptor.hpp"

namespace corral::metrics {

// Serves GET /metrics on its own listening socket (never the public one), from the
// supervisor's poll loop: non-blocking, one response per connection, at most 32
// scrapers at once, each dropped after 10 s of silence. Rendering reads shared memory
// and the supervisor's own tables, so a scrape waits for no worker and no worker for it.
class ScrapeServer {
 public:
  using Clock = std::chrono::steady_clock;
  using Render = std::function<std::string()>;

  ScrapeServer(UniqueFd listener, Render render);
  ~ScrapeServer();
  ScrapeServer(const ScrapeServer&) = delete;
  ScrapeServer& operator=(const ScrapeServer&) = delete;

  void add_to(std::vector<pollfd>& polled) const;
  void handle(const std::vector<pollfd>& polled, Clock::time_point now);
  std::optional<Clock::time_point> next_deadline() const;

 private:
  struct Client;
  void serve(Client& client, Clock::time_point now);

  net::PollAcceptor acceptor_;
  Render render_;
  std::vector<std::unique_ptr<Client>> clients_;
};

}  // namespace corral::metrics
