#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "tasks/time_zone.hpp"

namespace corral::tasks {

// A cron expression: 5 fields (minute hour day-of-month month day-of-week) or 6 with
// seconds first (as Egg.js and node-cron read them).
class CronExpression {
 public:
  // Throws std::invalid_argument with a message naming the field and what is wrong.
  static CronExpression parse(std::string_view text);

  // The first instant strictly after `after` at which the expression fires in `zone`.
  std::chrono::sys_seconds next_after(std::chrono::sys_seconds after, const TimeZone& zone) const;

  const std::string& text() const noexcept { return text_; }

 private:
  CronExpression() = default;

  bool fires_on_day(unsigned day_of_month, unsigned weekday) const;
  std::optional<std::chrono::seconds> first_time_of_day_from(std::chrono::seconds time_of_day) const;
  // Wall-clock times are seconds since 1970-01-01 00:00 on the zone's clock; the
  // first matching one in [from, until).
  std::optional<std::chrono::seconds> next_wall_time(std::chrono::seconds from, std::chrono::seconds until) const;

  std::string text_;
  // Bit v is set when the field allows the value v.
  std::uint64_t seconds_ = 0;
  std::uint64_t minutes_ = 0;
  std::uint64_t hours_ = 0;
  std::uint64_t days_of_month_ = 0;
  std::uint64_t months_ = 0;
  std::uint64_t days_of_week_ = 0;  // 0 is Sunday (7 is read as 0)
  // Both day fields restricted (neither starts with '*'): a day matching either fires,
  // as in Vixie cron; otherwise a day must match both.
  bool days_ored_ = false;
  // The minute or the hour starts with '*' (cronie's MIN_STAR/HR_STAR), which decides
  // what a daylight-saving change does to the job; see next_after.
  bool wildcard_ = false;
};

}  // namespace corral::tasks
