"""What starts each job's runs, in words for `plan`: its queue, its schedule with the next run times, its S3 bucket,
or only a command. Pure. Imports: config, cron, naming, stdlib."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from batchctl import cron
from batchctl.config import JobsFile
from batchctl.naming import Names


@dataclass(frozen=True, slots=True)
class Trigger:
    """What starts a job's runs, in words: its queue, its schedule (with the next run times), or only a command."""

    job: str
    kind: str  # "queue" | "schedule" | "direct"
    text: str
    queue: str | None = None
    expression: str | None = None
    timezone: str | None = None
    enabled: bool = True
    next_runs: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return {
            "job": self.job,
            "kind": self.kind,
            "text": self.text,
            "queue": self.queue,
            "expression": self.expression,
            "timezone": self.timezone,
            "enabled": self.enabled,
            "next_runs": list(self.next_runs),
        }


def build_triggers(cfg: JobsFile, names: Names, *, now: datetime, count: int = 3) -> list[Trigger]:
    """Each job's triggers in human words; schedules list their next `count` run times after `now`."""
    triggers: list[Trigger] = []
    for job in sorted(cfg.jobs):
        job_cfg = cfg.jobs[job]
        if job_cfg.queue:
            queue = names.queue(job)
            triggers.append(
                Trigger(
                    job=job,
                    kind="queue",
                    queue=queue,
                    text=(
                        f"on demand: each message to SQS queue {queue} starts a run "
                        + (
                            f"(after {job_cfg.queue.max_receive_count} failed receives it moves to "
                            f"{names.dead_letter_queue(job)})"
                            if job_cfg.queue.dead_letter
                            else "(no dead-letter queue: a message that cannot start a run waits until it expires)"
                        )
                    ),
                )
            )
        if job_cfg.schedule:
            schedule = job_cfg.schedule
            runs = cron.next_runs(schedule.expression, schedule.timezone, after=now, count=count)
            shown = ", ".join(r.strftime("%a %Y-%m-%d %H:%M %Z") for r in runs) or "none in the next 8 years"
            state = "" if schedule.enabled else " (paused: enabled is false)"
            triggers.append(
                Trigger(
                    job=job,
                    kind="schedule",
                    expression=schedule.expression,
                    timezone=schedule.timezone,
                    enabled=schedule.enabled,
                    next_runs=tuple(r.isoformat() for r in runs),
                    text=f"on schedule {schedule.expression} in {schedule.timezone}{state}; next runs: {shown}",
                )
            )
        if job_cfg.s3:
            s3 = job_cfg.s3
            keys = " and ".join(
                part
                for part in (s3.prefix and f"starting {s3.prefix!r}", s3.suffix and f"ending {s3.suffix!r}")
                if part
            )
            triggers.append(
                Trigger(
                    job=job,
                    kind="s3",
                    text=f"on each object created in S3 bucket {s3.bucket}"
                    + (f" with a key {keys}" if keys else "")
                    + f" (EventBridge rule {names.s3_rule(job)}; body: the object's s3:// URI)",
                )
            )
        if not job_cfg.queue and not job_cfg.schedule and not job_cfg.s3:
            triggers.append(
                Trigger(job=job, kind="direct", text=f"only when started: batchctl submit {job} --direct")
            )
    return triggers
