#include "event/event_loop.hpp"

#include <cerrno>
#include <limits>

#include <poll.h>

#include "common/system_error.hpp"

namespace corral {
namespace {

// nginx waits for up to 512 events per call; connections beyond this many ready at once
// are reported by the next call.
constexpr int max_events = 256;
// Idle work waits at most this many turns that found events: under wrk's load a turn
// carries about 25 requests, so a few hundred microseconds (a full turn of 256 events,
// a few milliseconds).
constexpr int max_busy_turns_before_idle_work = 4;

std::int64_t wall_clock_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

}  // namespace

std::int64_t milliseconds_since_epoch(EventLoop::Clock::time_point when) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(when.time_since_epoch()).count();
}

EventLoop::EventLoop() : epoll_(::epoll_create1(EPOLL_CLOEXEC)), now_(Clock::now()), events_(max_events) {
  if (!epoll_.valid()) throw_system_error("epoll_create1", "creating the worker's event loop");
}

EventLoop::~EventLoop() {
  // Before the members its last completions name.
  ring_.reset();
}

void EventLoop::open_completion_ring(CompletionRing::Geometry geometry) {
  ring_ = std::make_unique<CompletionRing>(geometry);
}

void EventLoop::EpollWatch::on_complete(int result, std::uint32_t /*flags*/) {
  armed = false;
  if (result > 0) loop_.handle_epoll_events(0);
}

void EventLoop::control(int operation, int fd, std::uint32_t events, Handler& handler, const char* call,
                        const char* what) {
  epoll_event event{};
  event.events = events;
  event.data.ptr = &handler;
  if (::epoll_ctl(epoll_.get(), operation, fd, &event) != 0) throw_system_error(call, what);
}

void EventLoop::add(int fd, std::uint32_t events, Handler& handler) {
  control(EPOLL_CTL_ADD, fd, events, handler, "epoll_ctl(EPOLL_CTL_ADD)",
          "watching a descriptor in the worker's event loop");
}

void EventLoop::modify(int fd, std::uint32_t events, Handler& handler) {
  control(EPOLL_CTL_MOD, fd, events, handler, "epoll_ctl(EPOLL_CTL_MOD)",
          "changing the events watched in the worker's event loop");
}

void EventLoop::remove(int fd) {
  if (::epoll_ctl(epoll_.get(), EPOLL_CTL_DEL, fd, nullptr) != 0 && errno != ENOENT) {
    throw_system_error("epoll_ctl(EPOLL_CTL_DEL)", "unwatching a descriptor in the worker's event loop");
  }
}

void EventLoop::run() {
  while (!stopped_) turn(-1);
}

void EventLoop::run_once(std::chrono::milliseconds max_wait) {
  turn(static_cast<int>(max_wait.count()));
}

void EventLoop::turn(int max_wait_ms) {
  if (busy_since_ms_) busy_since_ms_->store(0, std::memory_order_relaxed);
  int wait = wait_milliseconds();
  if (max_wait_ms >= 0 && (wait < 0 || wait > max_wait_ms)) wait = max_wait_ms;
  const int count = wait_and_handle(wait);
  run_deferred();
  run_due_timers();
  run_deferred();
  // -1 (EINTR) counts as idle: the work needs no event to be missing, only a bound.
  if (!idle_.empty() && (count <= 0 || ++busy_turns_with_idle_work_ >= max_busy_turns_before_idle_work)) {
    busy_turns_with_idle_work_ = 0;
    run_all(idle_);  // what it adds waits for the next idle turn
    run_deferred();
  }
}

int EventLoop::wait_and_handle(int wait_ms) {
  if (!ring_) return handle_epoll_events(wait_ms);
  if (!epoll_watch_.armed) {
    ring_->poll(epoll_.get(), POLLIN, epoll_watch_);
    epoll_watch_.armed = true;
  }
  ring_->submit_and_wait(wait_ms);
  now_ = Clock::now();
  wall_ms_.reset();
  if (busy_since_ms_) busy_since_ms_->store(milliseconds_since_epoch(now_), std::memory_order_relaxed);
  return ring_->dispatch();
}

// With a ring, called with 0 once the ring has seen the epoll set readable.
int EventLoop::handle_epoll_events(int wait_ms) {
  const int count = ::epoll_wait(epoll_.get(), events_.data(), max_events, wait_ms);
  if (count < 0 && errno != EINTR) throw_system_error("epoll_wait", "waiting for events in the worker");
  if (!ring_) {
    now_ = Clock::now();
    wall_ms_.reset();
    if (busy_since_ms_) busy_since_ms_->store(milliseconds_since_epoch(now_), std::memory_order_relaxed);
  }
  for (int i = 0; i < count && !stopped_; ++i) {
    static_cast<Handler*>(events_[i].data.ptr)->on_events(events_[i].events);
  }
  return count;
}

std::int64_t EventLoop::wall_ms() const {
  if (!wall_ms_) wall_ms_ = wall_clock_ms();
  return *wall_ms_;
}

int EventLoop::wait_milliseconds() const {
  if (!deferred_.empty() || !idle_.empty()) return 0;
  if (timers_.empty()) return -1;
  const auto wait = timers_.begin()->first - Clock::now();
  if (wait <= Clock::duration::zero()) return 0;
  // Rounded up: waking a little early would only find nothing due and wait again.
  const auto milliseconds = std::chrono::ceil<std::chrono::milliseconds>(wait).count();
  return milliseconds > std::numeric_limits<int>::max() ? std::numeric_limits<int>::max()
                                                        : static_cast<int>(milliseconds);
}

void EventLoop::run_due_timers() {
  while (!stopped_ && !timers_.empty() && timers_.begin()->first <= now_) {
    Timer* timer = timers_.begin()->second;
    timers_.erase(timers_.begin());
    timer->entry_.reset();
    // The callback may re-arm or destroy its timer.
    auto on_expiry = std::move(timer->on_expiry_);
    on_expiry();
  }
}

void EventLoop::run_deferred() {
  // Deferred work may defer more.
  while (!deferred_.empty()) run_all(deferred_);
}

void EventLoop::run_all(std::vector<std::function<void()>>& queue) {
  // The queue gets the spare vector's capacity and the spare gets this run's, so a loop
  // under load, which queues a few items every turn, does not allocate for them anew.
  // Work added meanwhile goes to the queue; what an exception leaves is dropped as the
  // stack unwinds.
  std::vector<std::function<void()>> work;
  work.swap(spare_);
  work.swap(queue);
  for (auto& item : work) item();
  work.clear();
  spare_.swap(work);
}

void Timer::expires_at(EventLoop::Clock::time_point when, std::function<void()> on_expiry) {
  cancel();
  on_expiry_ = std::move(on_expiry);
  entry_ = loop_.timers_.emplace(when, this);
}

void Timer::cancel() {
  if (!entry_) return;
  loop_.timers_.erase(*entry_);
  entry_.reset();
  on_expiry_ = nullptr;
}

}  // namespace corral
