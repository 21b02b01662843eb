#pragma once

#include <chrono>
#include <cstdint>
#include <deque>
#include <optional>

namespace corral {

using Clock = std::chrono::steady_clock;

// At most `limit` restarts in any `window` (cfork's refork limit): a pool that keeps
// crashing stops being re-forked until the window lets one more through.
class RestartBudget {
 public:
  RestartBudget(unsigned limit, Clock::duration window) : limit_(limit), window_(window) {}

  void reconfigure(unsigned limit, Clock::duration window);
  bool allows(Clock::time_point now);
  void record(Clock::time_point now);
  // When allows() becomes true again (now, if it is true now).
  Clock::time_point next_allowed(Clock::time_point now);
  unsigned used(Clock::time_point now);
  unsigned limit() const { return limit_; }
  Clock::duration window() const { return window_; }

 private:
  void forget_before(Clock::time_point now);

  unsigned limit_;
  Clock::duration window_;
  std::deque<Clock::time_point> restarts_;
};

// The delay before a slot's next start after failed starts (PM2's exponential backoff):
// 100 ms, then ×1.5 per further failure, at most 15 s; back to nothing once a worker of
// the slot has run stably.
class StartBackoff {
 public:
  static constexpr Clock::duration initial = std::chrono::milliseconds(100);
  static constexpr double factor = 1.5;
  static constexpr Clock::duration cap = std::chrono::seconds(15);
  static constexpr Clock::duration stable_after = std::chrono::seconds(30);

  // A start failed: the delay to wait before the next one.
  Clock::duration on_failed_start();
  void reset() { next_ = Clock::duration::zero(); }

 private:
  Clock::duration next_ = Clock::duration::zero();
};

// A worker failed to start when it died before reporting Ready, or so soon after it
// (within min_uptime) that it never answered a request. One that served and then
// crashed did start: it is replaced at once.
bool failed_to_start(bool was_ready, std::uint64_t requests, Clock::duration lived, Clock::duration min_uptime);

// The supervisor's way out: the restart budget is spent and no worker has been ready
// for `timeout`. Exiting then hands the decision to systemd (Restart=, StartLimitBurst=).
class TerminalWatch {
 public:
  // Called every loop turn.
  void observe(bool any_worker_ready, bool budget_spent, Clock::time_point now);
  bool reached(Clock::time_point now, Clock::duration timeout) const;
  std::optional<Clock::time_point> deadline(Clock::duration timeout) const;

 private:
  std::optional<Clock::time_point> without_workers_since_;
  bool budget_spent_ = false;
};

}  // namespace corral
