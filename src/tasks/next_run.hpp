#pragma once

#include <chrono>
#include <optional>

#include "corral/task.hpp"
#include "tasks/cron_expression.hpp"
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

}  // namespace corral::tasks
