#pragma once

#include <poll.h>
#include <sys/types.h>

#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "common/unique_fd.hpp"
#include "net/poll_acceptor.hpp"

namespace corral::control {

// The supervisor's control socket: a unix socket that only root and the service's
// own user may use (the socket file is 0600 and every peer's uid is checked), for
// `corral status` and scripts. Everything is non-blocking and driven by the
// supervisor's poll loop, so a slow or hostile client never stalls it: a line longer
// than max_command_bytes gets an error answer and the connection is closed, and so is
// a client silent for 10 s, and at most 16 are served at once.
class ControlServer {
 public:
  using Clock = std::chrono::steady_clock;
  // Answers one command line (without its '\n') with one answer line.
  using Handler = std::function<std::string(const std::string& line)>;

  // Binds `path` (creating its directory, mode 0700, if missing). Throws
  // std::runtime_error naming the path if it cannot, or if another supervisor
  // answers there.
  ControlServer(std::string path, Handler handler);
  ~ControlServer();  // removes the socket file
  ControlServer(const ControlServer&) = delete;
  ControlServer& operator=(const ControlServer&) = delete;

  const std::string& path() const { return path_; }

  // The descriptors to poll, appended to `polled`; then handle() with the results.
  void add_to(std::vector<pollfd>& polled) const;
  void handle(const std::vector<pollfd>& polled, Clock::time_point now);
  // When a client's silence ends it; nullopt if none is connected.
  std::optional<Clock::time_point> next_deadline() const;

 private:
  struct Client;
  // Keeps a new client if its peer may use the socket.
  bool take_client(UniqueFd socket, Clock::time_point now);
  void serve(Client& client, short revents, Clock::time_point now);

  std::string path_;
  Handler handler_;
  std::optional<net::PollAcceptor> acceptor_;  // once the socket is bound
  std::vector<std::unique_ptr<Client>> clients_;
};

}  // namespace corral::control
