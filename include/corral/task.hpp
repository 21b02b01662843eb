#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>

namespace corral {

namespace detail {
struct TaskRunAccess;
}

// When a task runs: every fixed period, or on a cron expression. Values, checked when
// made: a schedule that exists is a valid one.
//
//   corral::Schedule::every(std::chrono::minutes(1))
//   corral::Schedule::cron("30 3 * * MON-FRI", "Europe/Berlin")
class Schedule {
 public:
  // Every `period` (1 s to 366 days), at whole multiples of it since the Unix epoch, so
  // that every worker and machine agrees on when a run is due. Throws
  // std::invalid_argument for a shorter period.
  static Schedule every(std::chrono::seconds period);
  // A cron expression: 5 fields (minute hour day-of-month month day-of-week) or 6 with
  // seconds first, names (MON, JAN), ranges, lists, steps and @daily-style macros, read
  // in `time_zone` (an IANA name; empty: the machine's local time). docs/library.md
  // explains daylight-saving time. Throws std::invalid_argument naming the field or
  // the zone that is wrong.
  static Schedule cron(std::string expression, std::string time_zone = "");

  // "every 60s" or "cron 30 3 * * MON-FRI (Europe/Berlin)".
  std::string describe() const;

  std::chrono::seconds period() const noexcept { return period_; }  // 0 for a cron schedule
  const std::string& expression() const noexcept { return expression_; }
  const std::string& time_zone() const noexcept { return time_zone_; }

 private:
  Schedule() = default;
  std::chrono::seconds period_{0};
  std::string expression_;
  std::string time_zone_;
};

// Which workers run each run of a task.
enum class RunOn {
  one,  // one ready worker, the least loaded; with the Redis store, one machine
  all,  // every ready worker of this machine, once each
};

// What happens to a run that could not start on time: corral was down, or no worker
// was ready.
enum class MissedRuns {
  skip,      // dropped (and counted); the next run is the next one due
  run_once,  // the latest missed run runs once as soon as it can, however many were missed
};

// How a task runs; `[[task]]` entries of the configuration file override these.
struct TaskOptions {
  RunOn run_on = RunOn::one;
  // A run still going after this (up to 366 days) is recorded as timed out and its
  // worker is recycled (as uWSGI's harakiri does): the run's thread cannot be stopped
  // from outside.
  std::chrono::milliseconds timeout = std::chrono::minutes(1);
  // Each run starts up to this much after it is due, at random, to spread load (up
  // to 366 days; keep it well under the period).
  std::chrono::milliseconds jitter{0};
  // false: a run due while the previous one still runs is skipped (and counted).
  bool overlap = false;
  MissedRuns missed = MissedRuns::skip;
  // run_on = one: a run whose worker died while running it runs once more, on the
  // next ready worker (another, or in a pool of one, the dead one's replacement).
  bool retry = false;
  bool enabled = true;
};

// What a task's function is given: which run this is, and whether to stop early.
class TaskRun {
 public:
  TaskRun(const TaskRun&) = delete;
  TaskRun& operator=(const TaskRun&) = delete;

  const std::string& task() const noexcept;
  // When the run was due (before jitter); a manual run (`corral task run`) is due when asked.
  std::chrono::system_clock::time_point scheduled() const noexcept;
  // 1, or 2 for the retry of a run whose worker died.
  unsigned attempt() const noexcept;
  // True once the run is past its timeout, or its worker's drain deadline (stop,
  // reload) is a second away: a long task checks this between steps and returns early.
  bool stop_requested() const noexcept;

 private:
  friend struct detail::TaskRunAccess;
  struct State;
  explicit TaskRun(std::shared_ptr<const State> state);
  std::shared_ptr<const State> state_;
};

// A task's work. It runs on a thread of its own in the worker, beside the worker's
// event loop, so requests are served meanwhile: it must not touch Request, Response or
// the event loop. Throwing records the run as failed; the worker lives on.
using TaskFunction = std::function<void(const TaskRun&)>;

// A task function for the SQLite store: deletes expired keys and sessions, 1,000 rows
// at a time, until none are left or stop is requested. With Redis, which expires keys
// itself, it does nothing. The seed's service runs it every minute.
void purge_expired_store(const TaskRun& run);

}  // namespace corral
