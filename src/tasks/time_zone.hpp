#pragma once

#include <chrono>
#include <memory>
#include <string>
#include <string_view>

namespace date {
class time_zone;
struct sys_info;
}  // namespace date

namespace Posix {
class time_zone;
}

namespace corral::tasks {

class CronExpression;

// An IANA time zone from the system's tzdata, in which cron expressions are read.
class TimeZone {
 public:
  // The system's local zone (TZ, else /etc/localtime).
  static TimeZone local();
  // "Europe/Berlin", "UTC"...; throws std::invalid_argument for an unknown name.
  static TimeZone named(std::string_view name);

  const std::string& name() const noexcept { return name_; }
  const date::time_zone* zone() const noexcept { return zone_; }

 private:
  friend class CronExpression;

  TimeZone(const date::time_zone* zone, std::string name);
  // The period of one UTC offset around `instant`, continued past the zoneinfo table.
  date::sys_info period_at(std::chrono::sys_seconds instant) const;

  const date::time_zone* zone_;
  std::string name_;
  // The rule at the end of the zoneinfo file, for the years after its table (which
  // ends in 2037); null when the zone has no daylight-saving time to continue.
  std::shared_ptr<const Posix::time_zone> rule_after_table_;
};

}  // namespace corral::tasks
