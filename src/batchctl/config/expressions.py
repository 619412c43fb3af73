"""What is wrong with a schedule's expression or time zone, in words for validate: cron (through cron.parse, the one
AWS cron grammar), rate, IANA time zone. Pure; imports only the standard library and batchctl.cron."""

from __future__ import annotations

import re
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from batchctl import cron


def cron_problem(expression: str) -> str | None:
    """What cron.parse (the one AWS cron grammar) finds wrong with an expression, or None."""
    try:
        cron.parse(expression)
    except cron.CronError as exc:
        return str(exc)
    return None


def rate_problem(expression: str) -> str | None:
    """What is wrong with a rate (`1 hour`, `5 minutes`; singular exactly for 1), or None."""
    match = re.fullmatch(r"(\d+) (minute|hour|day)(s?)", expression)
    if not match:
        return "expected '<n> minute(s)|hour(s)|day(s)', e.g. '1 hour' or '5 minutes'"
    count, unit, plural = int(match.group(1)), match.group(2), match.group(3)
    if count < 1:
        return "the rate must be at least 1"
    if (count == 1) == bool(plural):
        fixed = f"{count} {unit}" + ("" if count == 1 else "s")
        return f"AWS wants the singular unit for 1 and the plural otherwise: {fixed!r}"
    return None


def timezone_problem(name: str) -> str | None:
    """What is wrong with an IANA time zone name, or None."""
    not_zones = {"localtime", "posixrules", "Factory"}
    if name and name not in not_zones and not name.startswith(("posix/", "right/", "/", ".")):
        try:
            ZoneInfo(name)
            return None
        except (ZoneInfoNotFoundError, ValueError, OSError):
            pass
    import difflib  # only on the error path
    from zoneinfo import available_timezones

    zones = sorted(available_timezones() - not_zones)
    exact = [z for z in zones if z.lower() == name.lower()]
    close = exact or difflib.get_close_matches(name, zones, n=1)
    suggestion = f"; did you mean {close[0]!r}?" if close else ""
    return f"{name!r} is not an IANA time zone such as UTC or Asia/Tokyo{suggestion}"
