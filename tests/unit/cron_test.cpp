// Cron expressions and the zones they are read in: the syntax, the errors, and what
// daylight-saving changes do (cronie's rule). tests/reference/cron_reference.py
// compares thousands of random expressions with python3-croniter.
#include <gtest/gtest.h>

#include <date/tz.h>

#include <cstdio>
#include <cstdlib>
#include <set>

#include "tasks/cron_expression.hpp"
#include "tasks/time_zone.hpp"

namespace corral::tasks {
namespace {

using std::chrono::sys_seconds;

// "2024-03-31 02:30:00" as a wall-clock time.
date::local_seconds wall_time(const char* text) {
  int year = 0;
  unsigned month = 0, day = 0, hour = 0, minute = 0, second = 0;
  EXPECT_EQ(std::sscanf(text, "%d-%u-%u %u:%u:%u", &year, &month, &day, &hour, &minute, &second), 6) << text;
  return date::local_days{date::year{year} / month / day} + std::chrono::hours(hour) + std::chrono::minutes(minute) +
         std::chrono::seconds(second);
}

std::vector<std::string> next_fires(std::string_view expression, const TimeZone& zone, sys_seconds start, int count,
                                    const date::time_zone* shown_in) {
  const auto cron = CronExpression::parse(expression);
  std::vector<std::string> times;
  for (int i = 0; i < count; ++i) {
    start = cron.next_after(start, zone);
    times.push_back(date::format("%F %T %Z", date::make_zoned(shown_in, start)));
  }
  return times;
}

// The next `count` fire times after the wall-clock time `start` in `zone_name`, each
// after the one before, as wall-clock times with the zone's abbreviation.
std::vector<std::string> fires(std::string_view expression, const char* zone_name, const char* start, int count = 3) {
  const auto zone = TimeZone::named(zone_name);
  return next_fires(expression, zone, zone.zone()->to_sys(wall_time(start), date::choose::earliest), count,
                    zone.zone());
}

// The same from a start in UTC, shown in UTC: date's zones (which `fires` shows
// times in) have no daylight-saving time after 2037.
std::vector<std::string> fires_in_utc(std::string_view expression, const char* zone_name, const char* start,
                                      int count) {
  return next_fires(expression, TimeZone::named(zone_name), sys_seconds{wall_time(start).time_since_epoch()}, count,
                    date::locate_zone("UTC"));
}

std::string parse_error(std::string_view expression) {
  try {
    CronExpression::parse(expression);
  } catch (const std::invalid_argument& error) {
    return error.what();
  }
  return "accepted";
}

using Times = std::vector<std::string>;

// One row of a table: an expression's next fire times after a wall-clock start.
struct Fires {
  const char* expression;
  const char* start;
  Times expected;  // as many as are checked
};

// Every row of `table`, read in `zone_name`.
void expect_fires(const char* zone_name, const std::vector<Fires>& table) {
  for (const auto& row : table) {
    EXPECT_EQ(fires(row.expression, zone_name, row.start, static_cast<int>(row.expected.size())), row.expected)
        << row.expression << " in " << zone_name << " after " << row.start;
  }
}

// ---- syntax ----

TEST(CronExpression, ReadsValuesRangesStepsAndLists) {
  expect_fires("UTC", {
      {"* * * * *", "2024-05-01 10:00:30",
       {"2024-05-01 10:01:00 UTC", "2024-05-01 10:02:00 UTC", "2024-05-01 10:03:00 UTC"}},
      {"7 9 * * *", "2024-05-01 10:00:00",
       {"2024-05-02 09:07:00 UTC", "2024-05-03 09:07:00 UTC", "2024-05-04 09:07:00 UTC"}},
      {"10-12 0 * * *", "2024-05-01 00:00:00",
       {"2024-05-01 00:10:00 UTC", "2024-05-01 00:11:00 UTC", "2024-05-01 00:12:00 UTC", "2024-05-02 00:10:00 UTC"}},
      {"*/20 0 * * *", "2024-05-01 00:00:00",
       {"2024-05-01 00:20:00 UTC", "2024-05-01 00:40:00 UTC", "2024-05-02 00:00:00 UTC"}},
      {"10-30/10 0 * * *", "2024-05-01 00:00:00",
       {"2024-05-01 00:10:00 UTC", "2024-05-01 00:20:00 UTC", "2024-05-01 00:30:00 UTC", "2024-05-02 00:10:00 UTC"}},
      // 20 to the hour's end
      {"0 20/2 * * *", "2024-05-01 00:00:00",
       {"2024-05-01 20:00:00 UTC", "2024-05-01 22:00:00 UTC", "2024-05-02 20:00:00 UTC"}},
      {"5,1-2,*/30 0 * * *", "2024-05-01 00:00:00",
       {"2024-05-01 00:01:00 UTC", "2024-05-01 00:02:00 UTC", "2024-05-01 00:05:00 UTC", "2024-05-01 00:30:00 UTC",
        "2024-05-02 00:00:00 UTC"}},
      {"0 0 31 * *", "2024-05-01 00:00:00",
       {"2024-05-31 00:00:00 UTC", "2024-07-31 00:00:00 UTC", "2024-08-31 00:00:00 UTC"}},
  });
}

TEST(CronExpression, TakesSecondsFirstWithSixFields) {
  expect_fires("UTC", {
      {"*/20 * * * * *", "2024-05-01 10:00:30",
       {"2024-05-01 10:00:40 UTC", "2024-05-01 10:01:00 UTC", "2024-05-01 10:01:20 UTC"}},
      {"30 0 12 * * *", "2024-05-01 12:00:30",
       {"2024-05-02 12:00:30 UTC", "2024-05-03 12:00:30 UTC", "2024-05-04 12:00:30 UTC"}},
      {"0 0 12 * * *", "2024-05-01 00:00:00", {"2024-05-01 12:00:00 UTC"}},  // as "0 12 * * *"
  });
}

TEST(CronExpression, ReadsMonthAndWeekdayNamesInAnyCase) {
  // 2024-05-01 is a Wednesday.
  expect_fires("UTC", {
      {"0 0 1 jan,Jul *", "2024-05-01 00:00:00",
       {"2024-07-01 00:00:00 UTC", "2025-01-01 00:00:00 UTC", "2025-07-01 00:00:00 UTC"}},
      {"0 0 1 OCT-DEC/2 *", "2024-05-01 00:00:00",
       {"2024-10-01 00:00:00 UTC", "2024-12-01 00:00:00 UTC", "2025-10-01 00:00:00 UTC"}},
      {"0 9 * * MON-FRI", "2024-05-02 12:00:00",
       {"2024-05-03 09:00:00 UTC", "2024-05-06 09:00:00 UTC", "2024-05-07 09:00:00 UTC"}},
      {"0 9 * * fri-sun", "2024-05-01 12:00:00",
       {"2024-05-03 09:00:00 UTC", "2024-05-04 09:00:00 UTC", "2024-05-05 09:00:00 UTC"}},
      {"0 9 * * Sat,sun", "2024-05-01 12:00:00", {"2024-05-04 09:00:00 UTC", "2024-05-05 09:00:00 UTC"}},
  });
}

TEST(CronExpression, ReadsBothZeroAndSevenAsSunday) {
  expect_fires("UTC", {
      {"0 0 * * 0", "2024-05-01 00:00:00", {"2024-05-05 00:00:00 UTC", "2024-05-12 00:00:00 UTC"}},
      {"0 0 * * 7", "2024-05-01 00:00:00", {"2024-05-05 00:00:00 UTC", "2024-05-12 00:00:00 UTC"}},
      {"0 0 * * 6-7", "2024-05-01 00:00:00", {"2024-05-04 00:00:00 UTC", "2024-05-05 00:00:00 UTC"}},
  });
}

TEST(CronExpression, SpellsOutMacros) {
  const auto from = "2024-05-01 10:30:00";
  expect_fires("UTC", {
      {"@yearly", from, {"2025-01-01 00:00:00 UTC"}},
      {"@annually", from, {"2025-01-01 00:00:00 UTC"}},
      {"@monthly", from, {"2024-06-01 00:00:00 UTC"}},
      {"@weekly", from, {"2024-05-05 00:00:00 UTC"}},
      {"@daily", from, {"2024-05-02 00:00:00 UTC"}},
      {"@midnight", from, {"2024-05-02 00:00:00 UTC"}},
      {"@hourly", from, {"2024-05-01 11:00:00 UTC"}},
  });
  EXPECT_EQ(CronExpression::parse("@daily").text(), "@daily");
}

TEST(CronExpression, OrsTheDayFieldsWhenBothAreRestricted) {
  expect_fires("UTC", {
      // Vixie cron: the 13th of the month and every Friday.
      {"0 0 13 * FRI", "2024-05-01 00:00:00",
       {"2024-05-03 00:00:00 UTC", "2024-05-10 00:00:00 UTC", "2024-05-13 00:00:00 UTC", "2024-05-17 00:00:00 UTC"}},
      // A field starting with '*' is unrestricted for this, even with a step: ANDed.
      {"0 0 */2 * FRI", "2024-05-01 00:00:00",
       {"2024-05-03 00:00:00 UTC", "2024-05-17 00:00:00 UTC", "2024-05-31 00:00:00 UTC"}},
      {"0 0 13 * *", "2024-05-01 00:00:00", {"2024-05-13 00:00:00 UTC"}},
      // "1-31" is restricted, so any day of the month fires.
      {"0 0 1-31 * MON", "2024-05-01 00:00:00", {"2024-05-02 00:00:00 UTC"}},
  });
}

TEST(CronExpression, FindsLeapDays) {
  expect_fires("UTC", {
      {"0 0 29 2 *", "2024-03-01 00:00:00",
       {"2028-02-29 00:00:00 UTC", "2032-02-29 00:00:00 UTC", "2036-02-29 00:00:00 UTC"}},
      // February 29th on a Sunday (*/7 ANDs): decades apart.
      {"0 0 29 2 */7", "2033-01-01 00:00:00", {"2060-02-29 00:00:00 UTC"}},
  });
}

TEST(CronExpression, FiresStrictlyAfterTheGivenInstant) {
  const auto cron = CronExpression::parse("0 12 * * *");
  const auto zone = TimeZone::named("UTC");
  const sys_seconds noon{date::sys_days{date::year{2024} / 5 / 1} + std::chrono::hours(12)};
  EXPECT_EQ(cron.next_after(noon - std::chrono::seconds(1), zone), noon);
  EXPECT_EQ(cron.next_after(noon, zone), noon + date::days{1});
}

// ---- errors ----

TEST(CronExpression, RefusesMistakesNamingTheFieldAndTheValue) {
  const std::pair<const char*, const char*> cases[] = {
      {"61 * * * *", "cron \"61 * * * *\": minute 61 is out of range 0-59"},
      {"* 24 * * *", "hour 24 is out of range 0-23"},
      {"* * 0 * *", "day-of-month 0 is out of range 1-31"},
      {"* * * 13 *", "month 13 is out of range 1-12"},
      {"* * * * 8", "day-of-week 8 is out of range 0-7"},
      {"60 * * * * *", "second 60 is out of range 0-59"},
      {"* * *", "3 fields; write 5 fields (minute hour day-of-month month day-of-week) or 6 with seconds first"},
      {"* * * * * * *", "7 fields"},
      {"", "0 fields"},
      {"1,,2 * * * *", "minute has an empty item in the list \"1,,2\""},
      {"* * * * 1,", "day-of-week has an empty item"},
      {"*/0 * * * *", "minute step 0 in \"*/0\" never advances"},
      {"* */90 * * *", "hour step 90 in \"*/90\" is larger than the field's range 0-23"},
      {"5-1 * * * *", "minute range 5-1 is reversed; ranges do not wrap around (write 5-59,0-1)"},
      {"* * * JNA *", "month \"JNA\" is neither a number nor a month name (JAN-DEC)"},
      {"* * * * FRX", "day-of-week \"FRX\" is neither a number nor a weekday name (SUN-SAT)"},
      {"* MON * * *", "hour \"MON\" is not a number"},
      {"1-2-3 * * * *", "minute \"2-3\" in \"1-2-3\" is not a number"},
      {"5x * * * *", "minute \"5x\" is not a number"},
      {"*-5 * * * *", "minute \"*-5\": '*' stands alone or takes a step"},
      {"-5 * * * *", "minute \"-5\" is missing a value"},
      {"@reboot", "@reboot is not supported"},
      {"@weekdays", "unknown macro; use @yearly"},
      {"0 0 30 2 *", "never fires: day-of-month \"30\" does not occur in month \"2\""},
      {"0 0 31 APR,JUN *", "never fires"},
  };
  for (const auto& [expression, message] : cases) {
    EXPECT_NE(parse_error(expression).find(message), std::string::npos)
        << expression << ": " << parse_error(expression);
  }
}

TEST(CronExpression, AcceptsWhatNeverFiresOnlyWhenTheWeekdaysSaveIt) {
  // ORed with Mondays, "February 30th" fires on Mondays in February.
  expect_fires("UTC", {{"0 0 30 2 MON", "2024-01-01 00:00:00", {"2024-02-05 00:00:00 UTC"}}});
}

// ---- daylight-saving time, cronie's rule ----

TEST(CronExpressionDst, FixedTimeInTheSpringGapRunsOnceAtTheJump) {
  // Europe/Berlin, 2024-03-31: 02:00 CET becomes 03:00 CEST.
  EXPECT_EQ(fires("30 2 * * *", "Europe/Berlin", "2024-03-30 12:00:00"),
            (Times{"2024-03-31 03:00:00 CEST", "2024-04-01 02:30:00 CEST", "2024-04-02 02:30:00 CEST"}));
  EXPECT_EQ(fires("0,15,45 2 * * *", "Europe/Berlin", "2024-03-31 01:00:00", 2),
            (Times{"2024-03-31 03:00:00 CEST", "2024-04-01 02:00:00 CEST"}));
  // America/New_York, 2024-03-10: 02:00 EST becomes 03:00 EDT.
  EXPECT_EQ(fires("30 2 * * *", "America/New_York", "2024-03-09 12:00:00", 2),
            (Times{"2024-03-10 03:00:00 EDT", "2024-03-11 02:30:00 EDT"}));
}

TEST(CronExpressionDst, WildcardJobsDoNotRunAtSkippedTimes) {
  EXPECT_EQ(fires("*/30 * * * *", "Europe/Berlin", "2024-03-31 01:00:00"),
            (Times{"2024-03-31 01:30:00 CET", "2024-03-31 03:00:00 CEST", "2024-03-31 03:30:00 CEST"}));
  EXPECT_EQ(fires("*/20 2 * * *", "Europe/Berlin", "2024-03-31 00:00:00", 1), Times{"2024-04-01 02:00:00 CEST"});
}

TEST(CronExpressionDst, FixedTimeInTheRepeatedHourRunsOnce) {
  // Europe/Berlin, 2024-10-27: 03:00 CEST becomes 02:00 CET.
  EXPECT_EQ(fires("30 2 * * *", "Europe/Berlin", "2024-10-26 12:00:00"),
            (Times{"2024-10-27 02:30:00 CEST", "2024-10-28 02:30:00 CET", "2024-10-29 02:30:00 CET"}));
  // America/New_York, 2024-11-03: 02:00 EDT becomes 01:00 EST.
  EXPECT_EQ(fires("30 1 * * *", "America/New_York", "2024-11-02 12:00:00", 2),
            (Times{"2024-11-03 01:30:00 EDT", "2024-11-04 01:30:00 EST"}));
  // From inside the second pass, the first pass's run is not repeated.
  const auto zone = TimeZone::named("Europe/Berlin");
  const auto second_pass = zone.zone()->to_sys(wall_time("2024-10-27 02:10:00"), date::choose::latest);
  EXPECT_EQ(next_fires("45 2 * * *", zone, second_pass, 1, zone.zone()), Times{"2024-10-28 02:45:00 CET"});
}

TEST(CronExpressionDst, WildcardJobsRunInBothPassesOfTheRepeatedHour) {
  EXPECT_EQ(fires("*/30 * * * *", "Europe/Berlin", "2024-10-27 01:45:00", 6),
            (Times{"2024-10-27 02:00:00 CEST", "2024-10-27 02:30:00 CEST", "2024-10-27 02:00:00 CET",
                   "2024-10-27 02:30:00 CET", "2024-10-27 03:00:00 CET", "2024-10-27 03:30:00 CET"}));
  EXPECT_EQ(fires("*/30 1 * * *", "America/New_York", "2024-11-03 00:00:00", 5),
            (Times{"2024-11-03 01:00:00 EDT", "2024-11-03 01:30:00 EDT", "2024-11-03 01:00:00 EST",
                   "2024-11-03 01:30:00 EST", "2024-11-04 01:00:00 EST"}));
}

TEST(CronExpressionDst, KeepsDaylightSavingTimeAfter2037) {
  // The zoneinfo files list transitions to 2037; the rule at their end goes on.
  EXPECT_EQ(fires_in_utc("0 12 1 7 *", "Europe/Berlin", "2045-01-01 00:00:00", 1),
            Times{"2045-07-01 10:00:00 UTC"});  // 12:00 CEST
  EXPECT_EQ(fires_in_utc("30 2 * * *", "Europe/Berlin", "2050-03-26 12:00:00", 2),
            (Times{"2050-03-27 01:00:00 UTC", "2050-03-28 00:30:00 UTC"}));  // the jump to CEST, then 02:30 CEST
  EXPECT_EQ(fires_in_utc("0 0 1 * *", "Australia/Sydney", "2041-03-15 00:00:00", 2),
            (Times{"2041-03-31 13:00:00 UTC", "2041-04-30 14:00:00 UTC"}));  // midnight AEDT, then AEST
}

TEST(CronExpressionDst, RunsForwardAndNeverTwiceForOneFixedTime) {
  for (const char* zone_name : {"Europe/Berlin", "America/New_York"}) {
    const auto zone = TimeZone::named(zone_name);
    for (const char* expression : {"15,45 1-3 * * *", "*/7 1-3 * * *", "0 2 * * *", "*/13 0-4 * * SUN"}) {
      const auto cron = CronExpression::parse(expression);
      const bool fixed = expression[0] != '*';
      std::set<date::local_seconds> wall_times;
      sys_seconds time{date::sys_days{date::year{2024} / 1 / 1}};
      while (time < sys_seconds{date::sys_days{date::year{2025} / 1 / 1}}) {
        const auto next = cron.next_after(time, zone);
        ASSERT_GT(next, time) << expression << " in " << zone_name;
        if (fixed) {
          EXPECT_TRUE(wall_times.insert(zone.zone()->to_local(next)).second) << expression;
        }
        time = next;
      }
    }
  }
}

// ---- zones ----

TEST(TimeZone, NamesZonesFromTheSystemDatabase) {
  EXPECT_EQ(TimeZone::named("Europe/Berlin").name(), "Europe/Berlin");
  EXPECT_EQ(TimeZone::named("UTC").zone()->name(), "UTC");
}

TEST(TimeZone, RefusesUnknownNamesSayingWhatIsAccepted) {
  for (const char* name : {"Europe/Berln", "", "CET-1CEST", "../../etc/passwd"}) {
    try {
      TimeZone::named(name);
      ADD_FAILURE() << name << " was accepted";
    } catch (const std::invalid_argument& error) {
      EXPECT_EQ(error.what(), "unknown time zone \"" + std::string(name) +
                                  "\" (a name from /usr/share/zoneinfo, such as \"Europe/Berlin\" or \"UTC\")");
    }
  }
}

TEST(TimeZone, LocalReadsTzAndFallsBackWithoutIt) {
  const char* saved = std::getenv("TZ");
  const std::string previous = saved ? saved : "";
  setenv("TZ", ":America/New_York", 1);
  EXPECT_EQ(TimeZone::local().name(), "America/New_York");
  setenv("TZ", "CET-1CEST", 1);  // a POSIX rule, no zone: /etc/localtime, else UTC
  EXPECT_NO_THROW(TimeZone::local());
  if (saved) {
    setenv("TZ", previous.c_str(), 1);
  } else {
    unsetenv("TZ");
  }
}

}  // namespace
}  // namespace corral::tasks
