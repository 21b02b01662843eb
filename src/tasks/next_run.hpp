#pragma once

#include <chrono>
#include <optional>
#include <string>

#include "corral/task.hpp"
#include "tasks/cron_expression.hpp"
#include "tasks/task_spec.hpp"
#include "tasks/time_zone.hpp"

namespace corral::tasks {

using WallTime = std::chrono::sys_time<std::chrono::milliseconds>;

inline WallTime read_wall_clock() {
  return std::chrono::floor<std::chrono::milliseconds>(std::chrono::system_clock::now());
}

// A Schedule made ready to answer "when next?" many times: the cron expression parsed
// and the zone looked up once.
class NextRun {
 public:
  explicit NextRun(const Schedule& schedule);

  // The first time strictly after `after` at which a run is due.
  WallTime after(WallTime after) const;

 private:
  std::chrono::milliseconds period_{0};
  std::optional<CronExpression> cron_;
  std::optional<TimeZone> zone_;
};

// The shortest time between two runs: the period, or, for a cron schedule, the
// shortest gap between its runs in the year after `from` (at most 1,000 runs). A task's jitter must be shorter,
// or a run could start after the next one is due.
std::chrono::milliseconds shortest_interval(const Schedule& schedule, WallTime from);

// Why the task's jitter does not fit its schedule (it is as long as the time between
// runs, or longer), or nothing.
std::optional<std::string> jitter_problem(const TaskSpec& spec);

}  // namespace corral::tasks
