#pragma once

#include <sys/epoll.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <vector>

#include "common/unique_fd.hpp"
#include "event/completion_ring.hpp"

namespace corral {

class Timer;

// A worker's event loop: one thread, epoll, and timers. Handlers run on the loop's
// thread only, so nothing here locks (Asio's io_context locks its queues on every
// handler, which showed in profiles of the request path). With a completion ring, the
// loop waits in the ring, and the epoll set is one of the things it waits for.
class EventLoop {
 public:
  using Clock = std::chrono::steady_clock;

  // Receives the epoll events of the descriptors it was added for.
  class Handler {
   public:
    virtual void on_events(std::uint32_t events) = 0;

   protected:
    ~Handler() = default;
  };

  EventLoop();
  ~EventLoop();
  EventLoop(const EventLoop&) = delete;
  EventLoop& operator=(const EventLoop&) = delete;

  // From now on the loop waits in an io_uring, which connections made afterwards use
  // for their receives and sends (the `io_uring` setting). Throws std::system_error if
  // the kernel or a seccomp filter refuses; the loop then stays as it was.
  void open_completion_ring(CompletionRing::Geometry geometry = {});
  // nullptr unless open_completion_ring() succeeded.
  CompletionRing* completion_ring() { return ring_.get(); }

  void add(int fd, std::uint32_t events, Handler& handler);
  void modify(int fd, std::uint32_t events, Handler& handler);
  void remove(int fd);

  // The time the loop last woke up: what deadlines are measured from, without a clock
  // read per use.
  Clock::time_point now() const { return now_; }
  // The wall clock (ms since the Unix epoch) in this turn of the loop: for expiry times
  // that every request of a turn compares against. Read at the first call of a turn,
  // so a turn that needs none (hello) reads no clock for it.
  std::int64_t wall_ms() const;

  // Runs `work` after the events of this wake-up have been handled: to destroy a
  // handler that a later event of the same batch may still name.
  void defer(std::function<void()> work) { deferred_.push_back(std::move(work)); }
  // Runs `work` once the loop finds no event waiting, or after a few turns that all
  // found some: for work that several wake-ups' events can share (one Redis round trip
  // for the reads of all of them), without waiting long under constant load.
  void when_idle(std::function<void()> work) { idle_.push_back(std::move(work)); }

  // The loop stores there, in steady-clock milliseconds, when it woke up, and 0 while
  // it waits for events: other processes can tell a hung loop from a busy one.
  void set_activity_marker(std::atomic<std::int64_t>* busy_since_ms) { busy_since_ms_ = busy_since_ms; }

  // Handles events and timers until stop().
  void run();
  // One turn: waits at most `max_wait` for events (none while work waits for idle),
  // then handles them, the timers that are due and the idle work whose time has come
  // (for tests that drive a loop step by step).
  void run_once(std::chrono::milliseconds max_wait);
  void stop() { stopped_ = true; }

 private:
  friend class Timer;
  using TimerQueue = std::multimap<Clock::time_point, Timer*>;

  // The one epoll_ctl() for adding and changing a descriptor's events.
  void control(int operation, int fd, std::uint32_t events, Handler& handler, const char* call, const char* what);
  void turn(int max_wait_ms);
  // Waits (epoll or the ring) and handles what came; returns how many events did.
  int wait_and_handle(int wait_ms);
  int handle_epoll_events(int wait_ms);
  int wait_milliseconds() const;
  void run_due_timers();
  void run_deferred();
  void run_all(std::vector<std::function<void()>>& queue);

  UniqueFd epoll_;
  Clock::time_point now_;
  mutable std::optional<std::int64_t> wall_ms_;  // this turn's, once read
  std::vector<epoll_event> events_;
  TimerQueue timers_;
  std::vector<std::function<void()>> deferred_;
  std::vector<std::function<void()>> idle_;
  std::vector<std::function<void()>> spare_;  // capacity for the next run_all()
  int busy_turns_with_idle_work_ = 0;
  bool stopped_ = false;
  std::atomic<std::int64_t>* busy_since_ms_ = nullptr;

  // The ring's one poll of the epoll set, asked again each time it fires.
  class EpollWatch final : public CompletionRing::Operation {
   public:
    explicit EpollWatch(EventLoop& loop) : loop_(loop) {}
    void on_complete(int result, std::uint32_t flags) override;
    bool armed = false;

   private:
    EventLoop& loop_;
  };
  EpollWatch epoll_watch_{*this};
  std::unique_ptr<CompletionRing> ring_;
};

// The steady clock's milliseconds, as the load board keeps them.
std::int64_t milliseconds_since_epoch(EventLoop::Clock::time_point when);

// A Handler that calls a function: for the few descriptors that are not connections.
class FunctionHandler final : public EventLoop::Handler {
 public:
  explicit FunctionHandler(std::function<void(std::uint32_t)> on_events) : on_events_(std::move(on_events)) {}
  void on_events(std::uint32_t events) override { on_events_(events); }

 private:
  std::function<void(std::uint32_t)> on_events_;
};

// A one-shot callback at a point in time, on the loop's thread. Cancelled when re-armed
// or destroyed.
class Timer {
 public:
  explicit Timer(EventLoop& loop) : loop_(loop) {}
  ~Timer() { cancel(); }
  Timer(const Timer&) = delete;
  Timer& operator=(const Timer&) = delete;

  void expires_at(EventLoop::Clock::time_point when, std::function<void()> on_expiry);
  void expires_after(EventLoop::Clock::duration delay, std::function<void()> on_expiry) {
    expires_at(loop_.now() + delay, std::move(on_expiry));
  }
  void cancel();
  bool armed() const { return entry_.has_value(); }

 private:
  friend class EventLoop;
  EventLoop& loop_;
  std::optional<EventLoop::TimerQueue::iterator> entry_;
  std::function<void()> on_expiry_;
};

}  // namespace corral
