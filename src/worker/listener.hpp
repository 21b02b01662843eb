#pragma once

#include <cstdint>
#include <functional>

#include "common/unique_fd.hpp"
#include "event/event_loop.hpp"

namespace corral {

// Accepts connections on one listening socket shared by every worker, in the worker's
// event loop. The socket is watched with EPOLLEXCLUSIVE: the kernel wakes one worker
// that is waiting in epoll_wait() per new connection, not all of them, and skips a
// worker that is busy or hung, so a stuck worker takes no new connections. Because
// the kernel tries the workers in the order they started watching, the socket is
// watched afresh every 16 accepts (as nginx does) to move this worker to the back.
class Listener final : public EventLoop::Handler {
 public:
  // `on_connection` gets each accepted connection (non-blocking, close-on-exec, and
  // with TCP_NODELAY, inherited from the listening socket);
  // `on_error` the errno of an accept() that failed for lack of resources, after which
  // accepting pauses for 100 ms while the connection waits in the queue.
  Listener(EventLoop& loop, int listen_fd, std::function<void(UniqueFd)> on_connection,
           std::function<void(int)> on_error);
  ~Listener();
  Listener(const Listener&) = delete;
  Listener& operator=(const Listener&) = delete;

  void start();
  // Stops accepting; connections already queued on the socket go to other workers.
  void stop();
  // Leaves new connections to the other workers for now (this one holds more than its
  // share), or takes them again.
  void set_paused(bool paused);

  // How many connections to take per wake-up while not paused. One (nginx without
  // multi_accept) lets the kernel spread connections by who is waiting; a worker that
  // balances by the load board takes a burst while it is behind.
  void set_accepts_per_wakeup(unsigned count) { accepts_per_wakeup_ = count; }

  void on_events(std::uint32_t events) override;

 private:
  // False once there is nothing to take (or accepting paused for lack of resources).
  bool accept_one();
  void watch();
  void unwatch();

  EventLoop& loop_;
  int listen_fd_;
  std::function<void(UniqueFd)> on_connection_;
  std::function<void(int)> on_error_;
  Timer resume_timer_;
  std::uint64_t accepted_ = 0;
  unsigned accepts_per_wakeup_ = 1;
  bool watching_ = false;
  bool stopped_ = true;
  bool paused_ = false;
  bool out_of_resources_ = false;
};

}  // namespace corral
