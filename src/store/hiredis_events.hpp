#pragma once

#include <cstdint>
#include <exception>
#include <functional>
#include <string>
#include <type_traits>

#include "event/deferral_guard.hpp"
#include "event/event_loop.hpp"

struct redisAsyncContext;

namespace corral::detail {

// Runs `body` inside a hiredis callback. No exception may cross hiredis's C frames, so
// one is rethrown from the loop instead, which ends the worker as a handler's would.
template <class Body>
void outside_hiredis(EventLoop& loop, Body&& body) noexcept {
  try {
    body();
  } catch (...) {
    loop.defer([error = std::current_exception()] { std::rethrow_exception(error); });
  }
}

// What went wrong with a hiredis connection, for a message: its error text, or that the
// server closed it.
std::string hiredis_error(const redisAsyncContext* context);

// Puts a hiredis asynchronous connection on the worker's event loop. hiredis asks for
// read and write readiness through its `ev` hooks, and ships adapters that answer them
// for libevent, libev, libuv and others; corral's loop is its own, so this is its
// adapter. One connection at a time: a new one is attached after hiredis has cleaned
// the previous one up (redisAsyncFree, or a failed connect).
class HiredisEvents {
 public:
  // `on_watch_failed`: epoll_ctl refused (no memory). Called later from the loop, never
  // through hiredis's frames; the owner then drops the connection.
  HiredisEvents(EventLoop& loop, std::function<void(const std::string&)> on_watch_failed);
  ~HiredisEvents();
  HiredisEvents(const HiredisEvents&) = delete;
  HiredisEvents& operator=(const HiredisEvents&) = delete;

  // Sets the hooks of a context just made; `context->data` stays the owner's. hiredis
  // calls the cleanup hook when it frees the context, which detaches it.
  void attach(redisAsyncContext* context);

  // Runs `queue`, which queues commands on the context, and writes them at once instead
  // of when epoll next says the socket is writable: for commands that are to leave now
  // (a barrier, asked when the loop is idle), without the two epoll_ctl calls that
  // watching for writability costs. Inside hiredis's callbacks, before the connection
  // is made, behind a write still waiting, or for what the socket does not take, the
  // usual wait.
  template <class Queue>
  void send_now(Queue&& queue) {
    // Throwing would leave the adapter passing on no request to watch for writability.
    static_assert(std::is_nothrow_invocable_v<Queue&>, "send_now: queue() must be noexcept");
    const bool at_once = begin_writing_at_once();
    queue();
    if (at_once) write_at_once();
  }

 private:
  struct Hooks;
  void watch(std::uint32_t events, bool on);
  void on_socket_events(std::uint32_t events);
  bool begin_writing_at_once();
  void write_at_once();

  EventLoop& loop_;
  std::function<void(const std::string&)> on_watch_failed_;
  redisAsyncContext* context_ = nullptr;
  int watched_fd_ = -1;
  std::uint32_t interest_ = 0;
  bool writing_at_once_ = false;  // hiredis's request to watch for writability is noted, not passed on
  bool write_queued_ = false;
  FunctionHandler socket_handler_;
  DeferralGuard deferrals_;  // a deferred on_watch_failed_
};

}  // namespace corral::detail
