"""`batchctl schedule pause|resume JOB`: stop or restart a job's EventBridge Scheduler schedule without a deploy."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.markup import escape

from batchctl.cli.complete import complete_job
from batchctl.cli.context import CliState
from batchctl.cli.unlock import LockTimeoutOption, stage_lock

schedule_app = typer.Typer(help="Pause or resume a job's schedule.", no_args_is_help=True)

JobArgument = Annotated[str, typer.Argument(help="Job name from jobs.yaml.", autocompletion=complete_job)]


def _set_state(ctx: typer.Context, job: str, *, enabled: bool, lock_timeout: float) -> None:
    from batchctl import runs

    state: CliState = ctx.obj
    ui = state.ui
    info = runs.find_job(state.config(), job)
    info.require_schedule()  # a usage mistake: found before the lock (an AWS call) is taken
    command = f"schedule {'resume' if enabled else 'pause'} {job}"
    with stage_lock(state, command=command, timeout_s=lock_timeout):
        result = runs.set_schedule_state(state.aws(), state.names(), job=info, enabled=enabled)
    verb = "resumed" if enabled else "paused"
    if result.changed:
        ui.info(escape(f"{verb} the schedule {result.schedule} of job {job}"))
        ui.info("note: `batchctl deploy` sets the schedule back to jobs.yaml's `schedule.enabled`")
    else:
        ui.info(escape(f"the schedule {result.schedule} of job {job} is already {verb}"))
    ui.emit(
        {"job": job, "schedule": result.schedule, "state": result.state, "changed": result.changed},
        f"{result.schedule}: {result.state}",
    )


@schedule_app.command("pause")
def pause(ctx: typer.Context, job: JobArgument, lock_timeout: LockTimeoutOption = 0.0) -> None:
    """Stop a job's schedule without a deploy."""
    _set_state(ctx, job, enabled=False, lock_timeout=lock_timeout)


@schedule_app.command("resume")
def resume(ctx: typer.Context, job: JobArgument, lock_timeout: LockTimeoutOption = 0.0) -> None:
    """Restart a job's schedule without a deploy."""
    _set_state(ctx, job, enabled=True, lock_timeout=lock_timeout)
