"""Next run times of EventBridge Scheduler expressions (AWS's 6-field cron, and rate), in a time zone.

Imports: stdlib only. Pure: the caller passes the current time. Validation lives in config.py; this module assumes
a valid expression. AWS cron fields: minutes hours day-of-month month day-of-week year, with day-of-week 1-7 =
SUN-SAT, `?` (no value), `L` (last), `W` (nearest weekday) and `#` (nth weekday of the month).
"""

from __future__ import annotations

import calendar
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from functools import partial
from zoneinfo import ZoneInfo

MONTHS = {name: i for i, name in enumerate(calendar.month_abbr) if name} | {
    name.upper(): i for i, name in enumerate(calendar.month_abbr) if name
}
DAYS = {"SUN": 1, "MON": 2, "TUE": 3, "WED": 4, "THU": 5, "FRI": 6, "SAT": 7}
SEARCH_DAYS = 366 * 8  # far enough for any yearly expression; sparse year lists beyond it show no next run

DayTest = Callable[[date], bool]


def _value(text: str, names: dict[str, int]) -> int:
    return names.get(text.upper(), 0) or int(text)


def _ints(field: str, low: int, high: int, names: dict[str, int] | None = None) -> set[int]:
    """Values of a numeric field: `*`, `a`, `a-b`, `*/n`, `a/n`, `a-b/n`, and comma lists of those."""
    names = names or {}
    found: set[int] = set()
    for part in field.split(","):
        base, _, step_text = part.partition("/")
        step = int(step_text) if step_text else 1
        if base in ("*", "?"):
            start, end = low, high
        elif "-" in base:
            a, b = base.split("-", 1)
            start, end = _value(a, names), _value(b, names)
        else:
            start = _value(base, names)
            end = high if step_text else start
        if start <= end:
            found.update(range(start, end + 1, step))
        else:  # a wrapping range such as FRI-MON
            found.update(v for v in range(low, high + 1) if v >= start or v <= end)
    return {v for v in found if low <= v <= high}


def _always(_day: date) -> bool:
    return True


def _any_of(tests: tuple[DayTest, ...], day: date) -> bool:
    return any(test(day) for test in tests)


def _aws_weekday(day: date) -> int:
    """AWS numbering: 1 = Sunday ... 7 = Saturday."""
    return (day.isoweekday() % 7) + 1


def _day_of_month_test(field: str) -> DayTest | None:
    if field == "?":
        return None
    if field == "*":
        return _always
    tests: list[DayTest] = []
    for part in field.split(","):
        if part == "L":
            tests.append(_is_last_day)
        elif part == "LW":
            tests.append(_is_last_weekday_of_month)
        elif part.endswith("W"):
            wanted = int(part[:-1])
            tests.append(partial(_is_nearest_weekday, wanted))
        else:
            values = _ints(part, 1, 31)
            tests.append(partial(_day_in, frozenset(values)))
    return partial(_any_of, tuple(tests))


def _day_of_week_test(field: str) -> DayTest | None:
    if field == "?":
        return None
    if field == "*":
        return _always
    tests: list[DayTest] = []
    for part in field.split(","):
        if "#" in part:
            day_text, nth_text = part.split("#", 1)
            weekday, nth = _value(day_text, DAYS), int(nth_text)
            tests.append(partial(_is_nth_weekday, weekday, nth))
        elif part.endswith("L") and part != "L":
            weekday = _value(part[:-1], DAYS)
            tests.append(partial(_is_last_weekday, weekday))
        elif part == "L":
            tests.append(partial(_weekday_in, frozenset({7})))
        else:
            values = _ints(part, 1, 7, DAYS)
            tests.append(partial(_weekday_in, frozenset(values)))
    return partial(_any_of, tuple(tests))


def _is_last_day(day: date) -> bool:
    return day.day == calendar.monthrange(day.year, day.month)[1]


def _is_last_weekday_of_month(day: date) -> bool:
    return day == _last_weekday(day.year, day.month)


def _is_nearest_weekday(wanted: int, day: date) -> bool:
    return day == _nearest_weekday(day.year, day.month, wanted)


def _day_in(values: frozenset[int], day: date) -> bool:
    return day.day in values


def _weekday_in(values: frozenset[int], day: date) -> bool:
    return _aws_weekday(day) in values


def _is_nth_weekday(weekday: int, nth: int, day: date) -> bool:
    return _aws_weekday(day) == weekday and (day.day - 1) // 7 + 1 == nth


def _is_last_weekday(weekday: int, day: date) -> bool:
    return _aws_weekday(day) == weekday and day.day + 7 > calendar.monthrange(day.year, day.month)[1]


def _last_weekday(year: int, month: int) -> date:
    day = date(year, month, calendar.monthrange(year, month)[1])
    while day.isoweekday() > 5:
        day -= timedelta(days=1)
    return day


def _nearest_weekday(year: int, month: int, wanted: int) -> date | None:
    last = calendar.monthrange(year, month)[1]
    if wanted > last:
        return None
    day = date(year, month, wanted)
    if day.isoweekday() == 6:  # Saturday → Friday, unless that leaves the month
        return day - timedelta(days=1) if wanted > 1 else day + timedelta(days=2)
    if day.isoweekday() == 7:  # Sunday → Monday, unless that leaves the month
        return day + timedelta(days=1) if wanted < last else day - timedelta(days=2)
    return day


@dataclass(frozen=True, slots=True)
class Cron:
    """A parsed 6-field AWS cron expression."""

    minutes: frozenset[int]
    hours: frozenset[int]
    months: frozenset[int]
    years: frozenset[int]
    day_of_month: DayTest | None
    day_of_week: DayTest | None

    @classmethod
    def parse(cls, expression: str) -> Cron:
        fields = expression.strip().removeprefix("cron(").removesuffix(")").split()
        minutes, hours, dom, month, dow, year = fields
        return cls(
            minutes=frozenset(_ints(minutes, 0, 59)),
            hours=frozenset(_ints(hours, 0, 23)),
            months=frozenset(_ints(month, 1, 12, MONTHS)),
            years=frozenset(_ints(year, 1970, 2199)),
            day_of_month=_day_of_month_test(dom),
            day_of_week=_day_of_week_test(dow),
        )

    def matches_day(self, day: date) -> bool:
        if day.year not in self.years or day.month not in self.months:
            return False
        tests = [t for t in (self.day_of_month, self.day_of_week) if t is not None]
        return all(test(day) for test in tests)

    def next_runs(self, *, after: datetime, zone: ZoneInfo, count: int) -> list[datetime]:
        """The next `count` run times strictly after `after`, as aware datetimes in `zone`."""
        local = after.astimezone(zone)
        found: list[datetime] = []
        day = local.date()
        for _ in range(SEARCH_DAYS):
            if self.matches_day(day):
                for hour in sorted(self.hours):
                    for minute in sorted(self.minutes):
                        moment = datetime(day.year, day.month, day.day, hour, minute, tzinfo=zone)
                        # A wall time skipped by a DST change does not exist: AWS runs such a schedule at the
                        # next valid time; round-tripping through UTC gives that time.
                        moment = moment.astimezone(UTC).astimezone(zone)
                        if moment > local and (not found or moment > found[-1]):
                            found.append(moment)
                            if len(found) == count:
                                return found
            day += timedelta(days=1)
        return found


RATE_UNITS = {"minute": 60, "minutes": 60, "hour": 3600, "hours": 3600, "day": 86400, "days": 86400}


def rate_seconds(expression: str) -> int:
    """`rate(5 minutes)` → 300."""
    value, unit = expression.strip().removeprefix("rate(").removesuffix(")").split()
    return int(value) * RATE_UNITS[unit]


def next_runs(expression: str, timezone: str, *, after: datetime, count: int = 3) -> list[datetime]:
    """Next run times of a `cron(...)` or `rate(...)` expression. A rate counts from `after` (on AWS it counts
    from when the schedule was created or last changed)."""
    zone = ZoneInfo(timezone)
    if expression.startswith("rate("):
        step = timedelta(seconds=rate_seconds(expression))
        start = after.astimezone(zone)
        return [start + step * (i + 1) for i in range(count)]
    return Cron.parse(expression).next_runs(after=after, zone=zone, count=count)
