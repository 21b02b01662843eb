#include "tasks/cron_expression.hpp"

#include <algorithm>
#include <array>
#include <bit>
#include <cctype>
#include <charconv>
#include <climits>
#include <span>
#include <stdexcept>
#include <utility>
#include <vector>

#include <date/tz.h>
#include <fmt/format.h>

namespace corral::tasks {
namespace {

using std::chrono::seconds;
using namespace std::chrono_literals;

constexpr std::array<std::string_view, 12> month_names{"jan", "feb", "mar", "apr", "may", "jun",
                                                       "jul", "aug", "sep", "oct", "nov", "dec"};
constexpr std::array<std::string_view, 7> weekday_names{"sun", "mon", "tue", "wed", "thu", "fri", "sat"};

// What a field is called, the values it takes and the names that stand for some
// (names[i] is first_named + i).
struct FieldKind {
  std::string_view name;
  int min;
  int max;
  std::span<const std::string_view> names = {};
  int first_named = 0;
  std::string_view names_hint = {};
};

constexpr FieldKind second_field{"second", 0, 59};
constexpr FieldKind minute_field{"minute", 0, 59};
constexpr FieldKind hour_field{"hour", 0, 23};
constexpr FieldKind day_of_month_field{"day-of-month", 1, 31};
constexpr FieldKind month_field{"month", 1, 12, month_names, 1, "a month name (JAN-DEC)"};
// 7 is Sunday as well as 0, as in Vixie cron, so that MON-SUN and 5-7 read naturally.
constexpr FieldKind day_of_week_field{"day-of-week", 0, 7, weekday_names, 0, "a weekday name (SUN-SAT)"};

constexpr std::string_view fields_wanted =
    "write 5 fields (minute hour day-of-month month day-of-week) or 6 with seconds first";

// Macros as Vixie cron spells them out; @reboot is left out (see parse).
constexpr std::array<std::pair<std::string_view, std::string_view>, 7> macros{{{"@yearly", "0 0 1 1 *"},
                                                                               {"@annually", "0 0 1 1 *"},
                                                                               {"@monthly", "0 0 1 * *"},
                                                                               {"@weekly", "0 0 * * 0"},
                                                                               {"@daily", "0 0 * * *"},
                                                                               {"@midnight", "0 0 * * *"},
                                                                               {"@hourly", "0 * * * *"}}};

// The longest each month gets (February in a leap year), to refuse what never fires.
constexpr std::array<unsigned, 13> longest_month{0, 31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};

// Far enough for the rarest schedule that fires at all: February 29th on one weekday
// can be 40 years away (2100 is no leap year).
constexpr auto search_limit = std::chrono::duration_cast<seconds>(date::years{100});

[[noreturn]] void fail(std::string_view text, std::string_view problem) {
  throw std::invalid_argument(fmt::format("cron \"{}\": {}", text, problem));
}

std::string lowercase(std::string_view text) {
  std::string lower(text);
  std::ranges::transform(lower, lower.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return lower;
}

std::vector<std::string_view> split(std::string_view text, std::string_view separators) {
  std::vector<std::string_view> parts;
  for (std::size_t start = 0; start <= text.size();) {
    const auto end = std::min(text.find_first_of(separators, start), text.size());
    parts.push_back(text.substr(start, end - start));
    start = end + 1;
  }
  return parts;
}

std::vector<std::string_view> words(std::string_view text) {
  auto parts = split(text, " \t\n\r\f\v");
  std::erase_if(parts, [](std::string_view part) { return part.empty(); });
  return parts;
}

// Digits only (no sign, no spaces); a number too big for int reads as INT_MAX, which
// is out of every field's range.
std::optional<int> number(std::string_view token) {
  if (token.empty() || !std::ranges::all_of(token, [](char c) { return c >= '0' && c <= '9'; })) return std::nullopt;
  int value = 0;
  const auto [end, error] = std::from_chars(token.data(), token.data() + token.size(), value);
  return error == std::errc{} ? value : INT_MAX;
}

// Reads one field of `text` into a bit set.
class FieldReader {
 public:
  FieldReader(std::string_view text, const FieldKind& kind, std::string_view field)
      : text_(text), kind_(kind), field_(field) {}

  std::uint64_t read() const {
    std::uint64_t allowed = 0;
    for (const auto item : split(field_, ",")) allowed |= read_item(item);
    return allowed;
  }

 private:
  // `*`, `N`, `A-B`, each optionally `/STEP`; `N/STEP` runs from N to the field's end.
  std::uint64_t read_item(std::string_view item) const {
    if (item.empty()) {
      fail(text_, fmt::format("{} has an empty item in the list \"{}\"", kind_.name, field_));
    }
    auto range = item;
    int step = 1;
    const bool stepped = item.find('/') != std::string_view::npos;
    if (stepped) {
      const auto slash = item.find('/');
      range = item.substr(0, slash);
      step = read_step(item.substr(slash + 1), item);
    }
    int low = kind_.min;
    int high = kind_.max;
    if (range.starts_with('*')) {
      if (range != "*") {
        fail(text_, fmt::format("{} \"{}\": '*' stands alone or takes a step, as in \"*/5\"", kind_.name, item));
      }
    } else if (const auto dash = range.find('-'); dash == std::string_view::npos) {
      low = read_value(range, item);
      high = stepped ? kind_.max : low;
    } else {
      const auto low_text = range.substr(0, dash);
      const auto high_text = range.substr(dash + 1);
      low = read_value(low_text, item);
      high = read_value(high_text, item);
      // The name SUN after a later day ends the week there (MON-SUN, FRI-SUN).
      if (&kind_ == &day_of_week_field && high == 0 && low > 0 && !number(high_text)) high = 7;
      if (low > high) {
        fail(text_, fmt::format("{} range {} is reversed; ranges do not wrap around (write {}-{},{}-{})", kind_.name,
                                range, low, kind_.max, kind_.min, high));
      }
    }
    std::uint64_t allowed = 0;
    for (int value = low; value <= high; value += step) allowed |= std::uint64_t{1} << value;
    return allowed;
  }

  int read_step(std::string_view token, std::string_view item) const {
    const auto step = number(token);
    if (!step) fail(text_, fmt::format("{} step \"{}\" in \"{}\" is not a number", kind_.name, token, item));
    if (*step == 0) fail(text_, fmt::format("{} step 0 in \"{}\" never advances; use 1 or more", kind_.name, item));
    // A step does not carry into the next hour, day...: "*/90" would be once an hour.
    if (*step > kind_.max - kind_.min) {
      fail(text_, fmt::format("{} step {} in \"{}\" is larger than the field's range {}-{}; steps restart there",
                              kind_.name, *step, item, kind_.min, kind_.max));
    }
    return *step;
  }

  int read_value(std::string_view token, std::string_view item) const {
    const auto where = token == item ? std::string() : fmt::format(" in \"{}\"", item);
    if (token.empty()) fail(text_, fmt::format("{} \"{}\" is missing a value", kind_.name, item));
    if (const auto value = number(token)) {
      if (*value < kind_.min || *value > kind_.max) {
        fail(text_, fmt::format("{} {}{} is out of range {}-{}", kind_.name, token, where, kind_.min, kind_.max));
      }
      return *value;
    }
    if (kind_.names.empty()) fail(text_, fmt::format("{} \"{}\"{} is not a number", kind_.name, token, where));
    const auto name = lowercase(token);
    if (const auto found = std::ranges::find(kind_.names, name); found != kind_.names.end()) {
      return kind_.first_named + static_cast<int>(found - kind_.names.begin());
    }
    fail(text_, fmt::format("{} \"{}\"{} is neither a number nor {}", kind_.name, token, where, kind_.names_hint));
  }

  std::string_view text_;
  const FieldKind& kind_;
  std::string_view field_;
};

int next_allowed(std::uint64_t allowed, int from) {
  if (from >= 64) return -1;
  const auto rest = allowed >> from;
  return rest == 0 ? -1 : from + std::countr_zero(rest);
}

}  // namespace

CronExpression CronExpression::parse(std::string_view text) {
  CronExpression expression;
  expression.text_ = std::string(text);
  auto fields = words(text);
  if (fields.size() == 1 && fields[0].starts_with('@')) {
    const auto macro = lowercase(fields[0]);
    if (macro == "@reboot") {
      fail(text, "@reboot is not supported (tasks run on a schedule, not when corral starts); use a schedule such as "
                 "\"@daily\"");
    }
    const auto found = std::ranges::find(macros, macro, [](const auto& entry) { return entry.first; });
    if (found == macros.end()) {
      fail(text, "unknown macro; use @yearly, @annually, @monthly, @weekly, @daily, @midnight or @hourly");
    }
    fields = words(found->second);
  }
  if (fields.size() != 5 && fields.size() != 6) fail(text, fmt::format("{} fields; {}", fields.size(), fields_wanted));
  const bool has_seconds = fields.size() == 6;
  if (!has_seconds) fields.insert(fields.begin(), "0");
  const auto read = [&](const FieldKind& kind, std::string_view field) {
    return FieldReader(text, kind, field).read();
  };
  expression.seconds_ = read(second_field, fields[0]);
  expression.minutes_ = read(minute_field, fields[1]);
  expression.hours_ = read(hour_field, fields[2]);
  expression.days_of_month_ = read(day_of_month_field, fields[3]);
  expression.months_ = read(month_field, fields[4]);
  const auto days_of_week = read(day_of_week_field, fields[5]);
  expression.days_of_week_ = (days_of_week & 0x7f) | (days_of_week >> 7 & 1);
  expression.days_ored_ = !fields[3].starts_with('*') && !fields[5].starts_with('*');
  expression.wildcard_ = fields[1].starts_with('*') || fields[2].starts_with('*');

  // With the days ANDed, a day of the month that no allowed month has never comes;
  // every other schedule fires (each date falls on each weekday in some year).
  if (!expression.days_ored_) {
    bool some_day = false;
    for (unsigned month = 1; month <= 12; ++month) {
      const auto days_in_month = (std::uint64_t{1} << (longest_month[month] + 1)) - 2;
      if (expression.months_ >> month & 1 && expression.days_of_month_ & days_in_month) some_day = true;
    }
    if (!some_day) {
      fail(text, fmt::format("never fires: day-of-month \"{}\" does not occur in month \"{}\"", fields[3], fields[4]));
    }
  }
  return expression;
}

bool CronExpression::fires_on_day(unsigned day_of_month, unsigned weekday) const {
  const bool by_day_of_month = days_of_month_ >> day_of_month & 1;
  const bool by_weekday = days_of_week_ >> weekday & 1;
  return days_ored_ ? by_day_of_month || by_weekday : by_day_of_month && by_weekday;
}

std::optional<seconds> CronExpression::first_time_of_day_from(seconds time_of_day) const {
  const int start = static_cast<int>(time_of_day.count());
  const int start_hour = start / 3600;
  const int start_minute = start / 60 % 60;
  for (int hour = next_allowed(hours_, start_hour); hour >= 0; hour = next_allowed(hours_, hour + 1)) {
    const bool start_hour_reached = hour == start_hour;
    for (int minute = next_allowed(minutes_, start_hour_reached ? start_minute : 0); minute >= 0;
         minute = next_allowed(minutes_, minute + 1)) {
      const bool start_minute_reached = start_hour_reached && minute == start_minute;
      if (const int second = next_allowed(seconds_, start_minute_reached ? start % 60 : 0); second >= 0) {
        return seconds(hour * 3600 + minute * 60 + second);
      }
    }
  }
  return std::nullopt;
}

std::optional<seconds> CronExpression::next_wall_time(seconds from, seconds until) const {
  const date::local_seconds end{until};
  auto day = date::floor<date::days>(date::local_seconds{from});
  auto time_of_day = date::local_seconds{from} - day;
  while (day < end) {
    const date::year_month_day today{day};
    if (!(months_ >> static_cast<unsigned>(today.month()) & 1)) {
      day = date::local_days{(date::year_month{today.year(), today.month()} + date::months{1}) / 1};
    } else if (const auto time = fires_on_day(static_cast<unsigned>(today.day()), date::weekday{day}.c_encoding())
                                     ? first_time_of_day_from(time_of_day)
                                     : std::nullopt) {
      const auto found = day + *time;
      if (found >= end) return std::nullopt;
      return found.time_since_epoch();
    } else {
      day += date::days{1};
    }
    time_of_day = 0s;
  }
  return std::nullopt;
}

// Daylight-saving time follows cronie, which keeps Vixie cron's rule (cron.c, the
// cases of the clock's "timeDiff"):
// - the clock jumps forward over local times: a fixed-time job due in the skipped
//   interval runs once, at the jump; a wildcard job (minute or hour starting with '*')
//   does not run for times that did not exist;
// - the clock goes back and an hour repeats: a fixed-time job runs in the first pass
//   only, a wildcard job in both (real time goes through both).
// The search walks the zone's periods of one UTC offset, in each looking for the first
// matching wall-clock time, so it skips months and days rather than stepping.
std::chrono::sys_seconds CronExpression::next_after(std::chrono::sys_seconds after, const TimeZone& zone) const {
  const auto give_up = after + search_limit;
  auto period = zone.period_at(after);
  for (bool first = true; period.begin < give_up; period = zone.period_at(period.end), first = false) {
    const auto offset = period.offset;
    const auto offset_before = zone.period_at(period.begin - 1s).offset;
    const auto begin = period.begin.time_since_epoch();
    // Wall-clock times from begin + offset_before to begin + offset were skipped.
    if (!first && !wildcard_ && offset_before < offset && next_wall_time(begin + offset_before, begin + offset)) {
      return period.begin;
    }
    auto from = first ? (after + 1s).time_since_epoch() + offset : begin + offset;
    // Wall-clock times up to begin + offset_before come the second time.
    if (!wildcard_ && offset_before > offset) from = std::max(from, begin + offset_before);
    const auto until = std::min(period.end, give_up).time_since_epoch() + offset;
    if (const auto wall_time = next_wall_time(from, until)) return std::chrono::sys_seconds{*wall_time - offset};
  }
  throw std::runtime_error(fmt::format("cron \"{}\": does not fire in the 100 years after {} in {}", text_,
                                       date::format("%F %T UTC", after), zone.name()));
}

}  // namespace corral::tasks
