#include "tasks/next_run.hpp"

#include <algorithm>

namespace corral::tasks {

NextRun::NextRun(const Schedule& schedule) : period_(schedule.period()) {
  if (period_.count() > 0) return;
  cron_ = CronExpression::parse(schedule.expression());
  zone_ = schedule.time_zone().empty() ? TimeZone::local() : TimeZone::named(schedule.time_zone());
}

WallTime NextRun::after(WallTime after) const {
  if (!cron_) {
    // Whole multiples of the period since the epoch: every machine agrees on them.
    const auto since_epoch = after.time_since_epoch();
    const auto periods = since_epoch.count() >= 0 ? since_epoch / period_ + 1 : -((-since_epoch) / period_);
    return WallTime(period_ * periods);
  }
  const auto seconds = std::chrono::floor<std::chrono::seconds>(after);
  return cron_->next_after(seconds, *zone_);
}

std::chrono::milliseconds shortest_interval(const Schedule& schedule, WallTime from) {
  if (schedule.period().count() > 0) return schedule.period();
  // A year of runs, so that the answer does not depend on the date (a daily run's day of
  // 23 hours comes once a year), or the first 1,000 when they come sooner (their gaps
  // are then under 9 hours, and a year's daylight-saving days change them by an hour).
  const NextRun next(schedule);
  const auto first = next.after(from);
  auto previous = first;
  std::chrono::milliseconds shortest = std::chrono::milliseconds::max();
  for (int run = 0; run < 1000 && previous - first < std::chrono::days(366); ++run) {
    const auto following = next.after(previous);
    shortest = std::min(shortest, std::chrono::duration_cast<std::chrono::milliseconds>(following - previous));
    previous = following;
  }
  return shortest;
}

std::optional<std::string> jitter_problem(const TaskSpec& spec) {
  if (spec.options.jitter.count() <= 0) return std::nullopt;
  const auto interval = shortest_interval(spec.schedule, read_wall_clock());
  if (spec.options.jitter < interval) return std::nullopt;
  return "the jitter (" + std::to_string(spec.options.jitter.count()) +
         " ms) must be shorter than the time between two runs (" + std::to_string(interval.count()) + " ms)";
}

}  // namespace corral::tasks
