"""corral's cron parser (through cron_next) against python3-croniter 1.3.5.

Thousands of random valid expressions (lists, ranges, steps, names, both day fields,
macros, 5 fields and 6 with seconds first) from random instants in UTC, Europe/Berlin
and America/New_York, many of them in the weeks and hours of the daylight-saving
changes, and invalid expressions, which must print "error:". The seed is fixed
(CORRAL_CRON_SEED overrides it) and printed on failure.

Where croniter is not the reference, and what is checked instead:

- Day-of-month with day-of-week. corral ORs them when neither field starts with '*'
  (Vixie cron, cronie); croniter decides on the expanded sets: it ORs "*/2" (a list
  once expanded) and ANDs "1-31" or "MON-SUN" (every value, so '*'). croniter is asked
  for the Vixie reading then: day_or=False where Vixie ANDs, and both fields '*' where
  Vixie ORs with a field that allows every day. When croniter ORs with a day of the
  month that none of the months has ("30 FEB MON") it gives up ("failed to find next
  date") instead of answering with the weekdays; it is asked for the weekdays then.
- A day-of-month the month lacks. From February 7th, "0 0 1,30 * *" gives March 30th:
  croniter adds 23 days to reach "February 30th", lands on March 2nd and skips March
  1st. Counted as "croniter overruns a short month" when croniter itself, asked from
  the start of corral's month, gives corral's answer.
- Daylight-saving time. corral follows cronie (see next_after in
  src/tasks/cron_expression.cpp). croniter (with pytz, which its DST code is written
  for) computes in the UTC offset of the start, then shifts the result by the change
  of offset when the result is further away than the start's hours to midnight.
  Compared with the cronie rule:
    * "gap, fixed-time job": a time skipped when clocks go forward (02:30 in Berlin
      on the last Sunday of March) runs at 03:30 new time, or when the start is late
      the evening before, at 01:30 old time; cronie runs it once, at the jump (03:00).
    * "gap, wildcard job": a wildcard job ("*/10 2 * * *") due at skipped times runs
      at them as read in the old offset (03:00 new time, or 01:00 old time); cronie
      does not run wildcard jobs at times that do not exist.
    * "repeat, wildcard job": a wildcard job ("*/30 * * * *", "*/10 2 * * *") runs
      in the first pass of the repeated hour only; cronie runs it in both.
    * "repeat, fixed-time job": from a start inside the second pass of the repeated
      hour, a fixed-time job due later in that hour runs again; cronie runs it in the
      first pass only.
    * "wrong UTC offset": the change falls between the start and a fire on the same
      day, which croniter leaves in the start's offset (09:00 becomes 10:00 on the
      spring day), or croniter shifts a fire that needed no shift; an hour off.
  A fire time is a DST case only when a change of offset falls between an hour
  before the start and the later of the two answers. It must then equal the cronie
  rule computed here independently: wall-clock times enumerated from croniter's
  expanded fields, mapped to instants with zoneinfo's fold.
- After 2037. pytz's tables, like the zoneinfo files', list transitions to 2037;
  pytz stops there, zoneinfo goes on with the file's closing rule, as corral does
  (TimeZone). Fire times after 2037 in Berlin and New York are checked against the
  cronie rule with zoneinfo only.
- croniter does not read day-of-week 7 as Sunday in 6-field expressions (it skips
  its LOWMAP for that field when there are 6), so 6-field expressions whose
  day-of-week reaches 7 are not generated; 5-field ones cover 7.
Every other fire time must equal croniter's.

Usage: cron_reference.py PATH/TO/cron_next
"""
import bisect
import datetime
import os
import random
import subprocess
import sys
import time

try:
    import pytz
    from croniter import CroniterBadDateError, croniter
except ImportError:
    # meson may find a python3 (pyenv, a venv) without Debian's python3-croniter.
    if os.path.exists("/usr/bin/python3") and os.path.realpath(sys.executable) != os.path.realpath("/usr/bin/python3"):
        os.execv("/usr/bin/python3", ["/usr/bin/python3", *sys.argv])
    raise
from zoneinfo import ZoneInfo

EXPRESSIONS = 4000
INVALID_EXPRESSIONS = 500  # besides the listed ones
ZONES = ["UTC", "Europe/Berlin", "America/New_York"]
DST_ZONES = ZONES[1:]
FIRST_YEAR, LAST_YEAR = 1998, 2040
PYTZ_END = datetime.datetime(2038, 1, 1, tzinfo=datetime.timezone.utc).timestamp()
UTC = datetime.timezone.utc
MONTHS = ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"]
WEEKDAYS = ["sun", "mon", "tue", "wed", "thu", "fri", "sat"]
LONGEST_MONTH = [0, 31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31]
FIELD_NAMES = ["second", "minute", "hour", "day-of-month", "month", "day-of-week"]
# min, max, (names, value of the first), values worth hitting often
FIELDS = {
    "second": (0, 59, None, [0, 30, 59]),
    "minute": (0, 59, None, [0, 15, 30, 45, 59]),
    "hour": (0, 23, None, [0, 1, 2, 3, 23]),  # the hours clocks change in
    "day-of-month": (1, 31, None, [1, 29, 30, 31]),
    "month": (1, 12, (MONTHS, 1), [2, 3, 10, 11]),
    "day-of-week": (0, 7, (WEEKDAYS, 0), [0, 7]),  # the changes are on Sundays
}
MACROS = {"@yearly": "0 0 1 1 *", "@annually": "0 0 1 1 *", "@monthly": "0 0 1 * *", "@weekly": "0 0 * * 0",
          "@daily": "0 0 * * *", "@midnight": "0 0 * * *", "@hourly": "0 * * * *"}

# Each with what the message must say.
INVALID = [
    ("61 * * * *", 'cron "61 * * * *": minute 61 is out of range 0-59'),
    ("* 24 * * *", "hour 24 is out of range 0-23"),
    ("* * 0 * *", "day-of-month 0 is out of range 1-31"),
    ("* * 32 * *", "day-of-month 32 is out of range"),
    ("* * * 13 *", "month 13 is out of range"),
    ("* * * 0 *", "month 0 is out of range"),
    ("* * * * 8", "day-of-week 8 is out of range 0-7"),
    ("60 * * * * *", "second 60 is out of range"),
    ("99999999999 * * * *", "minute 99999999999 is out of range"),
    ("*/0 * * * *", "minute step 0"),
    ("*/60 * * * *", "minute step 60"),
    ("5/ * * * *", 'minute step ""'),
    ("5-1 * * * *", "minute range 5-1 is reversed"),
    ("* * * * 5-0", "day-of-week range 5-0 is reversed"),
    ("* * * JNA *", 'month "JNA" is neither a number nor a month name'),
    ("* * * * FRX", 'day-of-week "FRX" is neither a number nor a weekday name'),
    ("* JAN * * *", 'hour "JAN" is not a number'),
    ("* * * * MON#2", 'day-of-week "MON#2" is neither'),
    ("* * L * *", 'day-of-month "L" is not a number'),
    ("H * * * *", 'minute "H" is not a number'),
    ("a * * * *", 'minute "a" is not a number'),
    ("1.5 * * * *", 'minute "1.5" is not a number'),
    ("1-2-3 * * * *", 'minute "2-3" in "1-2-3" is not a number'),
    ("*-5 * * * *", 'minute "*-5"'),
    ("/5 * * * *", 'minute "/5" is missing a value'),
    ("-1 * * * *", 'minute "-1" is missing a value'),
    ("1,,2 * * * *", 'minute has an empty item in the list "1,,2"'),
    (",1 * * * *", "minute has an empty item"),
    ("* * * * 1,", "day-of-week has an empty item"),
    ("* * * * * *x", 'day-of-week "*x"'),
    ("* * * *", "4 fields"),
    ("* * * * * * *", "7 fields"),
    ("", "0 fields"),
    ("@reboot", "@reboot is not supported"),
    ("@weekdays", "unknown macro"),
    ("0 0 30 2 *", "never fires"),
    ("0 0 31 4,6,9,11 *", "never fires"),
    ("0 0 0 30 FEB *", "never fires"),
]


# ---- random expressions ----

def random_case(rng, name):
    return rng.choice([name, name.upper(), name.capitalize()])


def value_text(rng, field, value):
    names = FIELDS[field][2]
    if names and rng.random() < 0.35:
        labels, first = names
        index = value % 7 if field == "day-of-week" else value - first
        return random_case(rng, labels[index])
    return str(value)


def random_value(rng, field, low=None):
    minimum, maximum, _, hot = FIELDS[field]
    low = minimum if low is None else low
    candidates = [v for v in hot if v >= low]
    if candidates and rng.random() < 0.4:
        return rng.choice(candidates)
    return rng.randint(low, maximum)


def random_item(rng, field):
    minimum, maximum, _, _ = FIELDS[field]
    kind = rng.random()
    if kind < 0.35:
        return value_text(rng, field, random_value(rng, field))
    step = rng.randint(1, max(1, (maximum - minimum) // rng.choice([1, 2, 3, 6])))
    low = random_value(rng, field)
    high = random_value(rng, field, low)
    if kind < 0.55:
        return f"{value_text(rng, field, low)}-{value_text(rng, field, high)}"
    if kind < 0.75:
        return f"{value_text(rng, field, low)}-{value_text(rng, field, high)}/{step}"
    if kind < 0.87:
        return f"{value_text(rng, field, low)}/{step}"
    return f"*/{step}"


def random_field(rng, field):
    roll = rng.random()
    if roll < (0.45 if field in ("day-of-month", "month", "day-of-week") else 0.2):
        return "*"
    if roll < 0.5 and field in ("second", "minute", "hour"):
        return f"*/{rng.randint(1, FIELDS[field][1] // 2)}"
    return ",".join(random_item(rng, field) for _ in range(rng.choice([1, 1, 1, 2, 3])))


def random_expression(rng):
    """A macro, or fields in corral's order (seconds first when 6)."""
    if rng.random() < 0.03:
        return [rng.choice(list(MACROS))]
    names = FIELD_NAMES if rng.random() < 0.35 else FIELD_NAMES[1:]
    fields = [random_field(rng, name) for name in names]
    if rng.random() < 0.25:  # due at the hours the clocks change, on the days they do
        fields[-4] = rng.choice(["1", "2", "3", "1-3", "2,3", "1/1", "*", "*/1", "0-4/2", "*/2"])
        fields[-3:] = [rng.choice(["*", "*", "*/1", "1-31", "1/1", "25-31,1-8"]), rng.choice(["*", "3,10,11", "*/1"]),
                       rng.choice(["*", "*", "SUN", "0", "7", "*/7", "SAT-SUN", "0-6"])]
    return fields


def random_invalid(rng):
    """A valid expression with one field broken, and what the message must say."""
    fields = random_expression(rng)
    while len(fields) == 1:
        fields = random_expression(rng)
    index = rng.randrange(len(fields))
    name = FIELD_NAMES[index + 6 - len(fields)]
    minimum, maximum, _, _ = FIELDS[name]
    kind = rng.randrange(5)
    if kind == 0:
        value = rng.choice([maximum + 1 + rng.randrange(40)] + ([0] if minimum == 1 else []))
        fields[index], expected = str(value), f"{name} {value} is out of range {minimum}-{maximum}"
    elif kind == 1:
        high = rng.randint(minimum, maximum - 1)
        low = rng.randint(high + 1, maximum)
        fields[index], expected = f"{low}-{high}", f"{name} range {low}-{high} is reversed"
    elif kind == 2:
        fields[index], expected = rng.choice(["*/0", f"{minimum}-{maximum}/0", f"{maximum}/0"]), f"{name} step 0"
    elif kind == 3:
        fields[index] += rng.choice([",", ",,1"])
        expected = f"{name} has an empty item"
    else:
        fields[index], expected = "xyz", f'{name} "xyz" is '
    text = " ".join(fields)
    return text, f'cron "{text}": {expected}'


def random_start(rng, zone_name, changes):
    if zone_name in DST_ZONES and rng.random() < 0.6:
        spread = 3 * 3600 if rng.random() < 0.4 else 4 * 86400
        return rng.choice(changes) + rng.randint(-spread, spread)
    low = datetime.datetime(FIRST_YEAR, 1, 1, tzinfo=UTC).timestamp()
    high = datetime.datetime(LAST_YEAR, 1, 1, tzinfo=UTC).timestamp()
    return rng.randint(int(low), int(high))


# ---- one expression, read the Vixie way ----

class Schedule:
    def __init__(self, fields):
        self.text = " ".join(fields)
        if len(fields) == 1:
            fields = MACROS[fields[0]].split()
        if len(fields) == 5:
            fields = ["0", *fields]
            croniter_fields = fields[1:]
        else:  # croniter takes the seconds last
            croniter_fields = fields[1:] + fields[:1]
        self.croniter_plain = " ".join(croniter_fields)
        minute, hour, day_of_month, day_of_week = fields[1], fields[2], fields[3], fields[5]
        self.wildcard = minute.startswith("*") or hour.startswith("*")  # cronie's MIN_STAR/HR_STAR
        self.day_or = not day_of_month.startswith("*") and not day_of_week.startswith("*")

        expanded, _ = croniter.expand(self.croniter_plain)
        every = [range(0, 60), range(0, 24), range(1, 32), range(1, 13), range(0, 7), range(0, 60)]
        sets = [sorted(every[i] if values == ["*"] else {v % 7 if i == 4 else v for v in values})
                for i, values in enumerate(expanded)]
        self.minutes, self.hours, self.days, self.months, self.weekdays = sets[:5]
        self.seconds = sets[5] if len(expanded) == 6 else [0]
        # 6 fields: croniter keeps a 7 (and may count it as a seventh day, making '*').
        self.reaches_day_7 = len(expanded) == 6 and expanded[4] != croniter.expand(" ".join(fields[1:]))[0][4]
        self.day_of_month_never = not any(d <= LONGEST_MONTH[m] for m in self.months for d in self.days)
        self.never_fires = self.day_of_month_never and not self.day_or

        croniter_or = expanded[2] != ["*"] and expanded[4] != ["*"]
        self.day_fields_adjusted = croniter_or != self.day_or
        self.croniter_day_or = self.day_or or not croniter_or
        if self.day_or and not croniter_or:  # one field allows every day: either-or is every day
            croniter_fields[2] = croniter_fields[4] = "*"
        self.croniter_gives_up = self.day_or and self.day_of_month_never
        if self.croniter_gives_up:  # the day-of-month half of the OR never comes
            croniter_fields[2] = "*"
        self.croniter_text = " ".join(croniter_fields)

    def croniter_next(self, start):
        return int(croniter(self.croniter_text, start, day_or=self.croniter_day_or).get_next(float))

    def fires_on(self, day):
        if day.month not in self.months:
            return False
        by_day = day.day in self.days
        by_weekday = day.isoweekday() % 7 in self.weekdays
        return by_day or by_weekday if self.day_or else by_day and by_weekday

    def matches(self, wall):
        return (self.fires_on(wall.date()) and wall.hour in self.hours and wall.minute in self.minutes
                and wall.second in self.seconds)

    def walls_after(self, wall):
        """Matching wall-clock times after `wall` (naive), in order."""
        day = wall.date()
        for _ in range(100 * 366):
            if self.fires_on(day):
                for hour in self.hours:
                    for minute in self.minutes:
                        for second in self.seconds:
                            candidate = datetime.datetime(day.year, day.month, day.day, hour, minute, second)
                            if candidate > wall:
                                yield candidate
            day += datetime.timedelta(days=1)


# ---- the cronie rule, independently of corral and of croniter's arithmetic ----

def offset(zone, instant):
    return int(datetime.datetime.fromtimestamp(instant, zone).utcoffset().total_seconds())


def naive_wall(zone, instant):
    return datetime.datetime.fromtimestamp(instant, zone).replace(tzinfo=None)


def naive_utc(instant):
    return datetime.datetime.fromtimestamp(instant, UTC).replace(tzinfo=None)


def first_instant_with_offset_other_than(zone, low, high):
    """offset(low) differs from offset(high); the first instant after low that has high's."""
    before = offset(zone, low)
    while high - low > 1:
        middle = (low + high) // 2
        low, high = (middle, high) if offset(zone, middle) == before else (low, middle)
    return high


def instants_of_wall_time(schedule, zone, wall):
    """(instant, how) for one matching wall-clock time, by cronie's rule."""
    first = int(wall.replace(tzinfo=zone, fold=0).timestamp())
    second = int(wall.replace(tzinfo=zone, fold=1).timestamp())
    if first == second:
        return [(first, "plain")]
    if naive_wall(zone, first) == wall:  # the hour repeats: fold 0 is the first pass
        return [(first, "first pass"), (second, "second pass")] if schedule.wildcard else [(first, "first pass")]
    if schedule.wildcard:  # skipped by the jump forward
        return []
    # In the gap fold 0 reads the offset before the jump (the later instant).
    return [(first_instant_with_offset_other_than(zone, second, first), "gap")]


def cronie_next(schedule, zone, instant):
    """The first fire after `instant`, as (instant, how)."""
    lowest = min(offset(zone, instant), offset(zone, instant + 7200))
    best = None
    for wall in schedule.walls_after(naive_utc(instant + lowest)):
        if best is not None:
            span = range(instant, best[0] + 1, 30 * 86400)
            highest = max([offset(zone, t) for t in span] + [offset(zone, best[0])])
            if wall - datetime.timedelta(seconds=highest) >= naive_utc(best[0]):
                return best  # no later wall-clock time comes before best
        for candidate in instants_of_wall_time(schedule, zone, wall):
            if candidate[0] > instant and (best is None or candidate[0] < best[0]):
                best = candidate
    raise AssertionError(f"{schedule.text!r} does not fire")


def transitions(zone):
    """Instants at which the zone's UTC offset changes."""
    found = []
    start = int(datetime.datetime(FIRST_YEAR - 1, 1, 1, tzinfo=UTC).timestamp())
    end = int(datetime.datetime(LAST_YEAR + 1, 1, 1, tzinfo=UTC).timestamp())
    for day in range(start, end, 86400):
        if offset(zone, day) != offset(zone, day + 86400):
            found.append(first_instant_with_offset_other_than(zone, day, day + 86400))
    return found


# ---- comparing one fire time ----

def exists(zone, wall):
    return naive_wall(zone, int(wall.replace(tzinfo=zone).timestamp())) == wall


def croniter_walls(zone, start, theirs):
    """The wall-clock times croniter can have meant by `theirs`: it reads them in the
    start's offset, then may shift the result by the change of offset (an hour in
    these zones)."""
    return [naive_utc(theirs + offset(zone, start) + shift) for shift in (0, 3600, -3600)]


def local_text(zone, instant):
    return datetime.datetime.fromtimestamp(instant, zone).strftime("%Y-%m-%d %H:%M:%S %Z") + f" ({instant})"


class Comparison:
    def __init__(self):
        self.counts = {"fire times": 0, "equal to croniter": 0,
                       "equal to croniter, across a DST change (cronie rule checked too)": 0,
                       "day fields read the Vixie way: expressions": 0,
                       "day fields read the Vixie way: fire times croniter's reading would change": 0,
                       "croniter gives up on an OR, asked for the weekdays: expressions": 0,
                       "croniter overruns a short month": 0,
                       "after 2037, checked against the cronie rule (zoneinfo)": 0}
        self.dst = {}
        self.failures = []

    def count(self, name, by=1):
        self.counts[name] = self.counts.get(name, 0) + by

    def line(self, schedule, zone_name, zones, changes, start, output):
        pytz_zone, zone = zones
        if output.startswith("error:"):
            self.failures.append(f"{schedule.text!r} in {zone_name}: corral refused it: {output}")
            return
        self.count("day fields read the Vixie way: expressions", schedule.day_fields_adjusted)
        self.count("croniter gives up on an OR, asked for the weekdays: expressions", schedule.croniter_gives_up)
        previous = start
        for ours in map(int, output.split()):
            self.fire(schedule, zone_name, pytz_zone, zone, changes, previous, ours)
            previous = ours

    def fire(self, schedule, zone_name, pytz_zone, zone, changes, start, ours):
        self.count("fire times")
        theirs = schedule.croniter_next(datetime.datetime.fromtimestamp(start, pytz_zone))
        if schedule.day_fields_adjusted:
            plain = croniter(schedule.croniter_plain, datetime.datetime.fromtimestamp(start, pytz_zone))
            try:
                self.count("day fields read the Vixie way: fire times croniter's reading would change",
                           int(plain.get_next(float)) != theirs)
            except CroniterBadDateError:
                self.count("day fields read the Vixie way: fire times croniter's reading would change")

        def report(problem, cronie=None):
            text = (f"{schedule.text!r} in {zone_name} after {local_text(zone, start)}: {problem}\n"
                    f"      corral   {local_text(zone, ours)}\n      croniter {local_text(zone, theirs)}"
                    f"  (asked for {schedule.croniter_text!r}, day_or={schedule.croniter_day_or})")
            if cronie:
                text += f"\n      cronie   {local_text(zone, cronie[0])} ({cronie[1]})"
            self.failures.append(text)

        if zone_name in DST_ZONES and max(ours, theirs) >= PYTZ_END:
            self.count("after 2037, checked against the cronie rule (zoneinfo)")
            expected = cronie_next(schedule, zone, start)
            if ours != expected[0]:
                report("differs from the cronie rule", expected)
            return
        crossed = bisect.bisect_right(changes, start - 3600) < bisect.bisect_right(changes, max(ours, theirs))
        expected = cronie_next(schedule, zone, start) if crossed else None
        if expected and ours != expected[0]:
            report("differs from the cronie rule", expected)
        elif ours == theirs:
            self.count("equal to croniter")
            self.count("equal to croniter, across a DST change (cronie rule checked too)", crossed)
        elif self.overrun_short_month(schedule, pytz_zone, zone, start, ours, theirs):
            self.count("croniter overruns a short month")
        elif not crossed:
            report("differs from croniter")
        else:
            kind = self.dst_difference(schedule, zone, start, ours, theirs, expected[1])
            self.dst[kind] = self.dst.get(kind, 0) + 1
            if kind == "other":
                report("a DST difference of no known kind", expected)

    @staticmethod
    def overrun_short_month(schedule, pytz_zone, zone, start, ours, theirs):
        """croniter went past ours by adding days to reach a day its month lacks."""
        wall = naive_wall(zone, start)
        days_in_month = (wall.replace(day=28) + datetime.timedelta(days=4)).replace(day=1) - datetime.timedelta(days=1)
        lacked = [d for d in schedule.days if wall.day <= d > days_in_month.day]
        month_start = datetime.datetime(*naive_wall(zone, ours).timetuple()[:2], 1)
        from_month_start = schedule.croniter_next(pytz_zone.localize(month_start) - datetime.timedelta(seconds=1))
        return theirs > ours and lacked and from_month_start == ours

    @staticmethod
    def dst_difference(schedule, zone, start, ours, theirs, how):
        if how == "gap":
            return "gap, fixed-time job"
        if how == "second pass":
            return "repeat, wildcard job"
        second_pass = int(naive_wall(zone, theirs).replace(tzinfo=zone, fold=1).timestamp()) == theirs and \
            int(naive_wall(zone, theirs).replace(tzinfo=zone, fold=0).timestamp()) != theirs
        if theirs < ours and not schedule.wildcard and second_pass and schedule.matches(naive_wall(zone, theirs)):
            return "repeat, fixed-time job"
        if schedule.wildcard and theirs < ours and any(
                schedule.matches(wall) and not exists(zone, wall) for wall in croniter_walls(zone, start, theirs)):
            return "gap, wildcard job"
        if abs(theirs - ours) == 3600:
            return "wrong UTC offset"
        return "other"


def main():
    if len(sys.argv) != 2:
        sys.exit(__doc__.strip().splitlines()[-1])
    began = time.monotonic()
    seed = int(os.environ.get("CORRAL_CRON_SEED", "20240331"))
    rng = random.Random(seed)
    zones = {name: (pytz.utc if name == "UTC" else pytz.timezone(name), ZoneInfo(name)) for name in ZONES}
    changes = {name: transitions(zones[name][1]) if name in DST_ZONES else [] for name in ZONES}

    cases = []
    while len(cases) < EXPRESSIONS:
        schedule = Schedule(random_expression(rng))
        if schedule.reaches_day_7 or schedule.never_fires:
            continue
        zone_name = rng.choice(ZONES)
        cases.append((schedule, zone_name, random_start(rng, zone_name, changes[zone_name])))

    invalid = INVALID + [random_invalid(rng) for _ in range(INVALID_EXPRESSIONS)]
    lines = [f"{schedule.text}\t{zone_name}\t{start}" for schedule, zone_name, start in cases]
    lines += [f"{text}\tUTC\t0" for text, _ in invalid]
    run = subprocess.run([sys.argv[1]], input="\n".join(lines) + "\n", capture_output=True, text=True, check=True)
    outputs = run.stdout.splitlines()
    assert len(outputs) == len(lines), f"cron_next wrote {len(outputs)} lines for {len(lines)}"

    comparison = Comparison()
    for (schedule, zone_name, start), output in zip(cases, outputs):
        comparison.line(schedule, zone_name, zones[zone_name], changes[zone_name], start, output)
    for (text, expected), output in zip(invalid, outputs[len(cases):]):
        if not output.startswith("error: ") or expected not in output:
            comparison.failures.append(f"{text!r}: wanted an error saying {expected!r}, got {output!r}")

    print(f"cron reference, seed {seed}: {len(cases)} expressions from {len(cases)} instants, "
          f"{len(invalid)} invalid expressions, {time.monotonic() - began:.1f} s")
    for name, count in comparison.counts.items():
        print(f"  {name}: {count}")
    for name, count in sorted(comparison.dst.items()):
        print(f"  DST difference (corral follows cronie), {name}: {count}")
    if comparison.failures:
        print(f"\nFAILED: {len(comparison.failures)} differences; run again with CORRAL_CRON_SEED={seed}. The first:")
        for failure in comparison.failures[:12]:
            print("  " + failure)
        sys.exit(1)


if __name__ == "__main__":
    main()
