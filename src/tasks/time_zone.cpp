#include "tasks/time_zone.hpp"

#include <algorithm>
#include <cstdlib>
#include <fstream>
#include <iterator>
#include <stdexcept>

#include <date/tz.h>
#include <fmt/format.h>

// ptz.h (3.0.1) names hh_mm_ss under both "using namespace date" and "using namespace
// std::chrono", which C++20 makes ambiguous; this name is date's alone.
namespace date {
template <class Duration>
using hh_mm_ss_of_date = hh_mm_ss<Duration>;
}  // namespace date
#define hh_mm_ss hh_mm_ss_of_date
#include <date/ptz.h>
#undef hh_mm_ss

namespace corral::tasks {
namespace {

constexpr std::string_view zoneinfo_dir = "/usr/share/zoneinfo";

// The database is read from /usr/share/zoneinfo on first use; without it no zone,
// not even UTC, can be had. (libdate-tz exports the free functions, not tzdb's.)
void require_database() {
  try {
    date::get_tzdb();
  } catch (const std::exception& error) {
    throw std::runtime_error(fmt::format(
        "time zones are unavailable: cannot read {} ({}); install the tzdata package", zoneinfo_dir, error.what()));
  }
}

// The zone TZ names, if it names one: glibc also reads ":Europe/Berlin" and a path
// into the zoneinfo directory. A POSIX rule such as "CET-1CEST" names none.
const date::time_zone* zone_from_tz_variable() {
  const char* value = std::getenv("TZ");
  if (value == nullptr) return nullptr;
  std::string_view name = value;
  if (name.starts_with(':')) name.remove_prefix(1);
  if (name.starts_with(zoneinfo_dir) && name.substr(zoneinfo_dir.size()).starts_with('/')) {
    name.remove_prefix(zoneinfo_dir.size() + 1);
  }
  if (name.empty()) return nullptr;
  require_database();
  try {
    return date::locate_zone(name);
  } catch (const std::runtime_error&) {
    return nullptr;
  }
}

// libdate-tz 3.0.1 reads the transitions the zoneinfo file lists, which end in 2037,
// and not the POSIX rule after them (TZif version 2 and later) that says how they go
// on: without it Europe/Berlin would stay on winter time from October 2037.
std::shared_ptr<const Posix::time_zone> rule_after_table(const date::time_zone& zone) {
  std::ifstream file(fmt::format("{}/{}", zoneinfo_dir, zone.name()), std::ios::binary);
  const std::string contents{std::istreambuf_iterator<char>(file), std::istreambuf_iterator<char>()};
  if (!contents.starts_with("TZif") || contents.size() < 6 || contents[4] < '2' || !contents.ends_with('\n')) {
    return nullptr;
  }
  const auto line = contents.rfind('\n', contents.size() - 2);
  if (line == std::string::npos) return nullptr;
  const auto rule = contents.substr(line + 1, contents.size() - line - 2);
  // Without a ',' the rule is one offset, which the table's last period already has.
  if (rule.find(',') == std::string::npos) return nullptr;
  try {
    return std::make_shared<const Posix::time_zone>(rule);
  } catch (const std::exception&) {
    return nullptr;  // a rule this library cannot read: the table's last offset stands
  }
}

}  // namespace

TimeZone::TimeZone(const date::time_zone* zone, std::string name)
    : zone_(zone), name_(std::move(name)), rule_after_table_(rule_after_table(*zone)) {}

date::sys_info TimeZone::period_at(std::chrono::sys_seconds instant) const {
  auto period = zone_->get_info(instant);
  // The table's last period runs to the year 32767.
  if (!rule_after_table_ || period.end < date::sys_days{date::year{10000} / 1 / 1}) return period;
  auto continued = rule_after_table_->get_info(instant);
  continued.begin = std::max(continued.begin, period.begin);
  return continued;
}

TimeZone TimeZone::local() {
  if (const auto* zone = zone_from_tz_variable()) return TimeZone(zone, std::string(zone->name()));
  try {
    const auto* zone = date::current_zone();
    return TimeZone(zone, std::string(zone->name()));
  } catch (const std::runtime_error&) {
    // No /etc/localtime, as in many containers: the C library reads that as UTC too.
    return named("UTC");
  }
}

TimeZone TimeZone::named(std::string_view name) {
  require_database();
  try {
    const auto* zone = date::locate_zone(name);
    return TimeZone(zone, std::string(name));
  } catch (const std::runtime_error&) {
    throw std::invalid_argument(fmt::format(
        "unknown time zone \"{}\" (a name from {}, such as \"Europe/Berlin\" or \"UTC\")", name, zoneinfo_dir));
  }
}

}  // namespace corral::tasks
