"""EventBridge Scheduler rules moto lacks (its CreateSchedule accepts any expression and any role).

- ScheduleExpression is `at(yyyy-mm-ddThh:mm:ss)`, `rate(N unit)` with N >= 1 and unit minute(s)/hour(s)/day(s)
  (singular only for 1), or `cron(...)` with 6 fields (minutes hours day-of-month month day-of-week year) where
  exactly one of day-of-month and day-of-week is `?`; else ValidationException "Invalid Schedule Expression X."
  [Scheduler user guide "Schedule types on EventBridge Scheduler"; API_CreateSchedule]
- The target's RoleArn must be assumable by scheduler.amazonaws.com (IAM propagation and trust, see iam.py); else
  ValidationException "The execution role you provide must allow AWS EventBridge Scheduler to assume the role."
  [terraform-provider-aws internal/service/scheduler/retry.go retries exactly this]

Imports: stdlib and the strict wire; StrictApp only for typing.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import TYPE_CHECKING

from batchctl.sandbox.strict.wire import Call, RefusedError

if TYPE_CHECKING:
    from batchctl.sandbox.strict.app import StrictApp

SCHEDULER_PRINCIPAL = "scheduler.amazonaws.com"
MONTHS = ("JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC")
DAYS = ("SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT")
# (low, high, names) per cron field: minutes, hours, day-of-month, month, day-of-week, year.
FIELDS: tuple[tuple[int, int, tuple[str, ...]], ...] = (
    (0, 59, ()),
    (0, 23, ()),
    (1, 31, ()),
    (1, 12, MONTHS),
    (1, 7, DAYS),
    (1970, 2199, ()),
)
DAY_OF_MONTH, DAY_OF_WEEK = 2, 4


def valid_expression(expression: str) -> bool:
    if match := re.fullmatch(r"at\((\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2})\)", expression):
        try:
            datetime.strptime(match.group(1), "%Y-%m-%dT%H:%M:%S")
        except ValueError:
            return False
        return True
    if match := re.fullmatch(r"rate\((\d+) (minute|minutes|hour|hours|day|days)\)", expression):
        value, unit = int(match.group(1)), match.group(2)
        return value >= 1 and (value == 1) == (not unit.endswith("s"))
    if match := re.fullmatch(r"cron\((.*)\)", expression):
        return valid_cron(match.group(1).split())
    return False


def valid_cron(fields: list[str]) -> bool:
    if len(fields) != 6:
        return False
    if (fields[DAY_OF_MONTH] == "?") == (fields[DAY_OF_WEEK] == "?"):
        return False  # exactly one of day-of-month / day-of-week is "?"
    return all(valid_field(text, index) for index, text in enumerate(fields))


def valid_field(text: str, index: int) -> bool:
    if text == "?":
        return index in (DAY_OF_MONTH, DAY_OF_WEEK)
    return all(valid_part(part, index) for part in text.split(","))


def valid_part(part: str, index: int) -> bool:
    low, high, names = FIELDS[index]
    if index == DAY_OF_MONTH and re.fullmatch(r"L|LW|\d{1,2}W", part):
        return part in ("L", "LW") or low <= int(part[:-1]) <= high
    if index == DAY_OF_WEEK and (match := re.fullmatch(r"(\w+)(#[1-5]|L)", part)):
        return _value(match.group(1), low, high, names) is not None
    if index == DAY_OF_WEEK and part == "L":
        return True
    base, slash, step = part.partition("/")
    if slash and not (step.isdigit() and int(step) >= 1):
        return False
    if base == "*":
        return True
    start, dash, end = base.partition("-")
    if _value(start, low, high, names) is None:
        return False
    return not dash or _value(end, low, high, names) is not None


def _value(text: str, low: int, high: int, names: tuple[str, ...]) -> int | None:
    if text.upper() in names:
        return names.index(text.upper()) + low
    if text.isdigit() and low <= int(text) <= high:
        return int(text)
    return None


def install(app: StrictApp) -> None:
    @app.before("scheduler", "CreateSchedule", "UpdateSchedule")
    def schedule(call: Call) -> None:
        expression = str(call.params.get("ScheduleExpression", ""))
        if not valid_expression(expression):
            raise RefusedError("ValidationException", f"Invalid Schedule Expression {expression}.")
        role = str((call.params.get("Target") or {}).get("RoleArn", ""))
        if role and not app.roles.assumable(role, SCHEDULER_PRINCIPAL):
            raise RefusedError(
                "ValidationException",
                "The execution role you provide must allow AWS EventBridge Scheduler to assume the role.",
            )
