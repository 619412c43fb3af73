"""The one grammar of AWS cron (EventBridge Scheduler's 6 fields): parse() validates and raises; next run times.

Imports: stdlib only. Pure: the caller passes the current time. Fields: minutes hours day-of-month month day-of-week
year, with day-of-week 1-7 = SUN-SAT, `?` (no value), `L` (last), `W` (nearest weekday), `LW` (last weekday of the
month) and `#` (nth weekday of the month). Also rate expressions (`rate(5 minutes)`), which config validates.
"""

from __future__ import annotations

import calendar
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from functools import partial
from typing import TypeVar
from zoneinfo import ZoneInfo

__all__ = ["Cron", "CronError", "next_runs", "parse", "rate_seconds"]

MONTHS = {name.upper(): i for i, name in enumerate(calendar.month_abbr) if name}
DAYS = {"SUN": 1, "MON": 2, "TUE": 3, "WED": 4, "THU": 5, "FRI": 6, "SAT": 7}
SEARCH_DAYS = 366 * 8  # far enough for any yearly expression; sparse year lists beyond it show no next run

DayTest = Callable[[date], bool]
T = TypeVar("T")


class CronError(ValueError):
    """A cron expression AWS refuses; the message names the field and says what is wrong."""


@dataclass(frozen=True, slots=True)
class _Field:
    name: str
    low: int
    high: int
    names: Mapping[str, int]


MINUTES = _Field("minutes", 0, 59, {})
HOURS = _Field("hours", 0, 23, {})
DAY_OF_MONTH = _Field("day-of-month", 1, 31, {})
MONTH = _Field("month", 1, 12, MONTHS)
DAY_OF_WEEK = _Field("day-of-week", 1, 7, DAYS)
YEAR = _Field("year", 1970, 2199, {})


# ---- parsing --------------------------------------------------------------------------------------------------


def _is_number(text: str) -> bool:
    return text.isascii() and text.isdigit()


def _number(text: str, field: _Field) -> int:
    """One value: a number within the field's bounds, or a name (JAN, MON; any case) where the field has names."""
    named = field.names.get(text.upper())
    if named is not None:
        return named
    if not _is_number(text):
        hint = f" or {next(iter(field.names))}-style names" if field.names else ""
        raise CronError(f"{text!r} is not a number{hint}")
    if not field.low <= int(text) <= field.high:
        raise CronError(f"{text} is outside {field.low}-{field.high}")
    return int(text)


def _values(text: str, field: _Field) -> frozenset[int]:
    """`*`, `a`, `a-b`, each with an optional `/step`, and comma lists of those. `a/step` runs from a to the
    field's end; a range may wrap past the end (FRI-MON, 22-2), and its step carries across the wrap."""
    found: set[int] = set()
    for part in text.split(","):
        base, slash, step_text = part.partition("/")
        if slash and not (_is_number(step_text) and 1 <= int(step_text) <= field.high):
            raise CronError(f"step {step_text!r} must be a number from 1 to {field.high}")
        if base == "*":
            start, end = field.low, field.high
        else:
            numbers = []
            for bound in base.split("-", 1) if "-" in base[1:] else [base]:
                if not bound:
                    raise CronError(f"{part!r} is not a value, range or list")
                numbers.append(_number(bound, field))
            if len(numbers) == 2:
                start, end = numbers
            else:
                start = numbers[0]
                end = field.high if slash else start
        span: Sequence[int] = (
            range(start, end + 1)
            if start <= end
            else [*range(start, field.high + 1), *range(field.low, end + 1)]
        )
        found.update(span[:: int(step_text) if slash else 1])
    return frozenset(found)


def _day_of_month(text: str, field: _Field) -> DayTest:
    if text == "L":
        return _is_last_day
    # LW is missing from AWS's table of wildcards, yet EventBridge accepts it with Quartz's meaning: the last
    # weekday (Monday to Friday) of the month.
    if text == "LW":
        return _is_last_weekday_of_month
    if match := re.fullmatch(r"([0-9]{1,2})W", text):
        return partial(_is_nearest_weekday, _number(match.group(1), field))
    return partial(_day_in, _values(text, field))


def _day_of_week(text: str, field: _Field) -> DayTest:
    if text == "L":  # alone, L is the last day of the week: Saturday
        return partial(_weekday_in, frozenset({7}))
    if match := re.fullmatch(r"(\w+)L", text):
        return partial(_is_last_weekday, _number(match.group(1), field))
    if match := re.fullmatch(r"(\w+)#(\w+)", text):
        weekday = _number(match.group(1), field)
        if match.group(2) not in {"1", "2", "3", "4", "5"}:
            raise CronError("the # occurrence must be 1-5")
        return partial(_is_nth_weekday, weekday, int(match.group(2)))
    return partial(_weekday_in, _values(text, field))


def _in_field(field: _Field, text: str, parse_field: Callable[[str, _Field], T]) -> T:
    """Parse one field; a problem is raised as `day-of-week '8': 8 is outside 1-7`."""
    try:
        if text == "?":
            raise CronError("'?' is only allowed in day-of-month or day-of-week")
        return parse_field(text, field)
    except CronError as exc:
        raise CronError(f"{field.name} {text!r}: {exc}") from None


def parse(expression: str) -> Cron:
    """Parse an AWS cron expression, bare or as `cron(...)`; raise CronError saying what is wrong (the first
    problem, fields checked left to right)."""
    text = expression.strip()
    if text.startswith("cron(") and text.endswith(")"):
        text = text[len("cron(") : -1]
    fields = text.split()
    if len(fields) != 6:
        extra = " (add a year field, e.g. '*')" if len(fields) == 5 else ""
        raise CronError(
            "AWS cron has 6 fields (minutes hours day-of-month month day-of-week year), "
            f"this has {len(fields)}{extra}"
        )
    minutes, hours, dom, month, dow, year = fields
    if (dom == "?") == (dow == "?"):
        raise CronError("exactly one of day-of-month and day-of-week must be '?', e.g. '0 12 * * ? *'")
    # Keyword arguments are evaluated in the order written: the fields' order, so the first problem is reported.
    return Cron(
        minutes=_in_field(MINUTES, minutes, _values),
        hours=_in_field(HOURS, hours, _values),
        day_of_month=None if dom == "?" else _in_field(DAY_OF_MONTH, dom, _day_of_month),
        months=_in_field(MONTH, month, _values),
        day_of_week=None if dow == "?" else _in_field(DAY_OF_WEEK, dow, _day_of_week),
        years=_in_field(YEAR, year, _values),
    )


# ---- matching days --------------------------------------------------------------------------------------------


def _aws_weekday(day: date) -> int:
    """AWS numbering: 1 = Sunday ... 7 = Saturday."""
    return (day.isoweekday() % 7) + 1


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
    return parse(expression).next_runs(after=after, zone=zone, count=count)
