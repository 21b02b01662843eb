#pragma once

#include <chrono>
#include <optional>

#include "supervisor/worker_table.hpp"

namespace corral {

// What to do about a worker that stopped sending heartbeats (gunicorn's timeout):
// SIGABRT after `hang_timeout` (its crash guard sends a suicide notice and it dumps
// core), then SIGKILL if it is still there `abort_grace` later.
enum class HangAction { none, abort, kill };
inline constexpr std::chrono::seconds abort_grace{5};
HangAction hang_action(const WorkerRecord& worker, Clock::time_point now, Clock::duration hang_timeout);
// When hang_action() can next change its answer for this worker.
std::optional<Clock::time_point> hang_deadline(const WorkerRecord& worker, Clock::duration hang_timeout);

// systemd's watchdog: a ping every `interval` (half of WatchdogSec), withheld while a
// worker survives SIGKILL, so that systemd restarts the whole service.
class WatchdogPinger {
 public:
  enum class Action { none, ping, withhold };
  explicit WatchdogPinger(Clock::duration interval) : interval_(interval) {}

  bool enabled() const { return interval_.count() > 0; }
  Clock::duration interval() const { return interval_; }
  Action on_turn(Clock::time_point now, bool pool_healthy);
  std::optional<Clock::time_point> next_deadline() const;

 private:
  Clock::duration interval_;
  Clock::time_point next_ping_{};
};

}  // namespace corral
