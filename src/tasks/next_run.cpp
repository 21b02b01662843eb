#include "tasks/next_run.hpp"

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

}  // namespace corral::tasks
