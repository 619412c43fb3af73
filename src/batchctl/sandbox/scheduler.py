"""The schedule runner: what moto's EventBridge Scheduler never does, invoking each schedule's target when it is due.

moto stores schedules but never runs them. The runner reads them (this process's moto) and, for each ENABLED
schedule whose Step Functions target is due by its expression (`at(...)`, `rate(...)`, `cron(...)` in its
ScheduleExpressionTimezone, within StartDate and EndDate), starts the target state machine with the target's Input,
signed as the target's RoleArn (rolekeys.py): the strict sandbox judges that call against the role's policies, as
AWS judges the scheduler's (a role without states:StartExecution on the machine gets AccessDenied, and the invocation
fails: counted in `failed`, logged, and nothing is started). A rate counts from when the runner first saw the schedule
(AWS: from its creation); a one-time `at()` fires once. Targets other than Step Functions are skipped.
[EventBridge Scheduler user guide, "Schedule types" and "Setting up the execution role"]

Imports: stdlib, batchctl.cron, batchctl.sandbox.rolekeys; boto3, botocore and moto inside methods.
"""

from __future__ import annotations

import logging
import threading
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from batchctl import cron
from batchctl.sandbox.rolekeys import client_as

log = logging.getLogger(__name__)


@dataclass
class Due:
    """When a schedule next fires; `expression` is the one it was computed for (an update recomputes it)."""

    expression: str
    at: datetime | None


@dataclass
class ScheduleRunner:
    endpoint_url: str
    interval_s: float = 1.0
    fired: int = 0
    failed: int = 0
    _due: dict[str, Due] = field(default_factory=dict)
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None
    _clients: dict[tuple[str, str], Any] = field(default_factory=dict)

    def start(self) -> None:
        self._thread = threading.Thread(target=self._loop, name="batchctl-schedule-runner", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread:
            self._thread.join(timeout=10)

    def _loop(self) -> None:
        while not self._stop.is_set():
            try:
                self.run_once(datetime.now(UTC))
            except Exception as exc:  # a background thread never dies or prints a traceback
                log.debug("schedule runner: %s", exc)
            self._stop.wait(self.interval_s)

    def run_once(self, now: datetime) -> int:
        """Invoke every schedule due at `now` (aware); returns how many state machines were started."""
        started = 0
        for region, schedule in _schedules():
            if schedule.state != "ENABLED" or ":states:" not in str(schedule.target.get("Arn", "")):
                continue
            due = self._due.get(schedule.arn)
            if due is None or due.expression != schedule.schedule_expression:
                due = Due(schedule.schedule_expression, _next(schedule, after=now))
                self._due[schedule.arn] = due
            if due.at is None or now < due.at:
                continue
            due.at = None if schedule.schedule_expression.startswith("at(") else _next(schedule, after=now)
            started += self._invoke(region, schedule)
        return started

    def _invoke(self, region: str, schedule: Any) -> int:
        from botocore.exceptions import BotoCoreError, ClientError

        target = schedule.target
        try:
            self._client(region, str(target.get("RoleArn", ""))).start_execution(
                stateMachineArn=target["Arn"], name=str(uuid.uuid4()), input=str(target.get("Input") or "{}")
            )
        except (ClientError, BotoCoreError) as exc:
            self.failed += 1
            log.warning(
                "schedule %s/%s could not start %s: %s",
                schedule.group_name,
                schedule.name,
                target["Arn"],
                exc,
            )
            return 0
        self.fired += 1
        return 1

    def _client(self, region: str, role_arn: str) -> Any:
        if (region, role_arn) not in self._clients:
            self._clients[(region, role_arn)] = client_as(
                "stepfunctions", region=region, endpoint_url=self.endpoint_url, role_arn=role_arn or None
            )
        return self._clients[(region, role_arn)]


def _timestamp(value: Any) -> datetime | None:
    if value is None or value == "":
        return None
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    return datetime.fromtimestamp(float(value), UTC)


def _next(schedule: Any, *, after: datetime) -> datetime | None:
    """The schedule's first run time after `after` (an `at()` time even if it has passed: it is then due at once,
    as the runner may first see a schedule after its time), or None when it never runs again."""
    expression = str(schedule.schedule_expression)
    zone = str(schedule.schedule_expression_timezone or "UTC")
    if expression.startswith("at("):
        from zoneinfo import ZoneInfo

        when = datetime.fromisoformat(expression[3:-1]).replace(tzinfo=ZoneInfo(zone))
        found: datetime | None = when.astimezone(UTC)
    else:
        start = _timestamp(schedule.start_date)
        runs = cron.next_runs(expression, zone, after=max(after, start) if start else after, count=1)
        found = runs[0].astimezone(UTC) if runs else None
    end = _timestamp(schedule.end_date)
    return None if found is None or (end is not None and found > end) else found


def _schedules() -> list[tuple[str, Any]]:
    """(region, schedule) for every schedule moto holds in this process. Read with dict's own methods: moto's
    BackendDict creates a backend for any key it is asked for."""
    from moto.scheduler.models import scheduler_backends

    found = []
    for by_region in list(dict.values(scheduler_backends)):
        for region, backend in list(dict.items(by_region)):
            for group in list(backend.schedule_groups.values()):
                found += [(region, schedule) for schedule in list(group.schedules.values())]
    return found
