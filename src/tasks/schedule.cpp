// The public Schedule and the task names and option names shared by the config file,
// the supervisor and `corral status`.
#include <fmt/format.h>

#include <stdexcept>

#include "corral/task.hpp"
#include "tasks/cron_expression.hpp"
#include "tasks/task_spec.hpp"
#include "tasks/time_zone.hpp"

namespace corral {

Schedule Schedule::every(std::chrono::seconds period) {
  if (period < std::chrono::seconds(1) || period > tasks::max_task_duration) {
    throw std::invalid_argument(
        fmt::format("corral::Schedule::every: a period of {} s; use 1 s to 366 days", period.count()));
  }
  Schedule schedule;
  schedule.period_ = period;
  return schedule;
}

Schedule Schedule::cron(std::string expression, std::string time_zone) {
  tasks::CronExpression::parse(expression);  // throws, naming the field
  if (!time_zone.empty()) {
    try {
      tasks::TimeZone::named(time_zone);
    } catch (const std::runtime_error& error) {
      // No zone database at all (tzdata missing) is this zone's problem too.
      throw std::invalid_argument(error.what());
    }
  }
  Schedule schedule;
  schedule.expression_ = std::move(expression);
  schedule.time_zone_ = std::move(time_zone);
  return schedule;
}

std::string Schedule::describe() const {
  if (period_.count() > 0) return fmt::format("every {}s", period_.count());
  return fmt::format("cron {} ({})", expression_, time_zone_.empty() ? "local time" : time_zone_);
}

}  // namespace corral

namespace corral::tasks {

bool valid_task_name(std::string_view name) {
  if (name.empty() || name.size() > 64 || !(name.front() >= 'a' && name.front() <= 'z')) return false;
  for (const char c : name) {
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_')) return false;
  }
  return true;
}

const char* run_on_name(RunOn run_on) {
  return run_on == RunOn::all ? "all" : "one";
}

const char* missed_name(MissedRuns missed) {
  return missed == MissedRuns::run_once ? "run-once" : "skip";
}

}  // namespace corral::tasks
