"""Pausing and resuming a job's EventBridge Scheduler schedule without a deploy.
Imports: aws, naming, errors, specs, runs.jobs, stdlib."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from batchctl.aws import Aws
from batchctl.errors import AwsError, NotManagedError, RunError
from batchctl.naming import Names
from batchctl.runs.jobs import JobInfo
from batchctl.specs import schedule_owned

__all__ = ["ScheduleState", "set_schedule_state"]


@dataclass(frozen=True, slots=True)
class ScheduleState:
    job: str
    schedule: str
    state: str  # ENABLED | DISABLED
    changed: bool


# UpdateSchedule replaces the whole schedule: every field we do not send is reset to its default (Description
# included, which holds our ownership marker).
_SCHEDULE_FIELDS = (
    "ActionAfterCompletion",
    "Description",
    "EndDate",
    "FlexibleTimeWindow",
    "KmsKeyArn",
    "ScheduleExpression",
    "ScheduleExpressionTimezone",
    "StartDate",
    "Target",
)


def set_schedule_state(
    aws: Aws, names: Names, *, job: JobInfo, enabled: bool, now: datetime | None = None
) -> ScheduleState:
    """Enable or disable the job's schedule without a deploy (GetSchedule, then UpdateSchedule sending every field
    back with the new State); no call when it is already in that state. A schedule with the job's name that
    batchctl did not create (no marker of ours in its Description) is never changed: NotManagedError."""
    job.require_schedule()
    name, group = names.schedule(job.name), names.schedule_group
    key = f"{group}/{name}"
    try:
        current = aws.call("scheduler", "get_schedule", key=key, Name=name, GroupName=group)
    except AwsError as exc:
        if exc.code == "ResourceNotFoundException":
            raise RunError(f"the schedule {key} does not exist", hint="run `batchctl deploy` first") from exc
        raise
    description = str(current.get("Description") or "")
    if not schedule_owned(description, name=name, group=group, project=names.project, stage=names.stage):
        raise NotManagedError(
            f"the schedule {key} exists but is not managed by batchctl for this project and stage "
            f"(its description is {description!r}, not batchctl's marker)",
            hint="pause or resume it where it was created, or delete it and run `batchctl deploy`",
        )
    wanted = "ENABLED" if enabled else "DISABLED"
    if current.get("State") == wanted:
        return ScheduleState(job=job.name, schedule=key, state=wanted, changed=False)
    params: dict[str, Any] = {
        field: current[field] for field in _SCHEDULE_FIELDS if current.get(field) is not None
    }
    start = params.get("StartDate")
    # Scheduler refuses a StartDate more than 5 minutes in the past; a past start date changes nothing anyway.
    if isinstance(start, datetime) and start < (now or datetime.now(UTC)):
        del params["StartDate"]
    aws.call("scheduler", "update_schedule", key=key, Name=name, GroupName=group, State=wanted, **params)
    return ScheduleState(job=job.name, schedule=key, state=wanted, changed=True)
