"""The jobs of jobs.yaml as the run commands see them (JobInfo) and looking one up by name.
Imports: config, naming, errors, stdlib."""

from __future__ import annotations

import difflib
from dataclasses import dataclass

from batchctl.config import JobsFile, resolve_steps
from batchctl.errors import RunUsageError
from batchctl.naming import Names

__all__ = ["JobInfo", "find_job"]


@dataclass(frozen=True, slots=True)
class JobInfo:
    """What the run commands need to know about one job of jobs.yaml."""

    name: str
    has_queue: bool = False
    has_schedule: bool = False
    steps: tuple[str, ...] = ("main",)
    commands: tuple[tuple[str, ...], ...] = ()
    multi_step: bool = False  # step names are part of the job definition names
    array: bool = False  # a step runs as an array job: one run writes several log streams at once

    def require_queue(self) -> None:
        """RunUsageError (exit 2, before any AWS call) unless the job has a queue to send to."""
        if not self.has_queue:
            how = "it runs on its schedule" if self.has_schedule else "it has no queue"
            raise RunUsageError(
                f"job {self.name!r} has no queue: {how}",
                hint=f"start it directly with `batchctl submit {self.name} --direct --body ...`, "
                "or add `queue: {}` to the job in jobs.yaml and deploy",
            )

    def require_schedule(self) -> None:
        """RunUsageError (exit 2, before any AWS call) unless the job has a schedule to pause or resume."""
        if not self.has_schedule:
            raise RunUsageError(
                f"job {self.name!r} has no schedule",
                hint="it runs through its queue or `batchctl submit --direct`"
                if self.has_queue
                else "it runs with `batchctl submit --direct`",
            )

    def job_definitions(self, names: Names) -> dict[str, str]:
        """Job definition name of each step."""
        return {
            step: names.job_definition(self.name, step if self.multi_step else None) for step in self.steps
        }


def find_job(cfg: JobsFile, name: str) -> JobInfo:
    """The job called `name`; an unknown name is a RunUsageError (exit 2) listing the known ones."""
    job = cfg.jobs.get(name)
    if job is None:
        known = sorted(cfg.jobs)
        close = difflib.get_close_matches(name, known, n=1)
        raise RunUsageError(
            f"no job named {name!r} in {cfg.project}/{cfg.stage}; its jobs are: {', '.join(known)}",
            hint=f"did you mean {close[0]!r}?"
            if close
            else "job names are the keys under `jobs:` in jobs.yaml",
        )
    steps = resolve_steps(cfg, name)
    return JobInfo(
        name=name,
        has_queue=job.queue is not None,
        has_schedule=job.schedule is not None,
        steps=tuple(step.name for step in steps),
        commands=tuple(tuple(step.command) for step in steps),
        multi_step=job.steps is not None,
        array=any(step.array_size for step in steps),
    )
