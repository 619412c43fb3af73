"""`batchctl cancel RUN` and `batchctl cancel JOB --all`: stop runs and terminate their Batch jobs in every state,
wait until all of them have ended, and report each. Changes runs, not the stage's resources: no stage lock."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer
from rich.markup import escape

from batchctl.cli.context import CliState
from batchctl.errors import ExitCode, RunError

if TYPE_CHECKING:
    from batchctl.runs.cancel import CancelResult
    from batchctl.ui import Ui


def _report(ui: Ui, results: list[CancelResult]) -> None:
    for result in results:
        verdict = "stopped" if result.stopped else "NOT stopped"
        ui.result(escape(f"run {result.run_id} of {result.job}: {result.status} ({verdict})"))
        for job in result.batch_jobs:
            reason = f" ({job.status_reason})" if job.status_reason else ""
            ui.result(escape(f"  {job.step or '-'} {job.job_id} {job.status}{reason}"))


def cancel(
    ctx: typer.Context,
    target: Annotated[
        str,
        typer.Argument(help="Run id (or a unique prefix of it); with --all, a job name.", show_default=False),
    ],
    all_runs: Annotated[
        bool, typer.Option("--all", help="Cancel every running run of the job TARGET.", show_default=False)
    ] = False,
    reason: Annotated[
        str | None, typer.Option("--reason", help="Why: kept on the execution and on each Batch job.")
    ] = None,
    timeout: Annotated[
        float, typer.Option("--timeout", min=1, help="How long to wait for everything to stop, in seconds.")
    ] = 300.0,
) -> None:
    """Stop a run (or every running run of a job) and terminate its Batch jobs, waiting until all have ended."""
    from batchctl import runs
    from batchctl.runs import cancel as cancelling
    from batchctl.runs.executions import RUNNING_STATUSES, locate_run

    state: CliState = ctx.obj
    ui = state.ui
    aws, names = state.aws(), state.names()
    if all_runs:
        job = runs.find_job(state.config(), target).name
        executions = cancelling.running_executions(aws, names.state_machine_arn(job), job=job)
        if not executions:
            ui.info(escape(f"job {job} has no running run"))
            ui.emit({"runs": []})
            return
    else:
        execution = locate_run(aws, names, jobs=sorted(state.config().jobs), run_id=target)
        if execution.status not in RUNNING_STATUSES:
            raise RunError(
                f"run {execution.run_id} of {execution.job} already finished ({execution.status})",
                hint="there is nothing to cancel",
            )
        executions = [execution]
    count = len(executions)
    ui.info(f"cancelling {count} run(s) and their Batch jobs; waiting up to {timeout:.0f}s for them to stop")
    with ui.status(f"stopping {count} run(s)"):
        results = cancelling.cancel_runs(
            aws, executions, reason=reason or cancelling.DEFAULT_REASON, timeout_s=timeout
        )
    ui.emit({"runs": [r.to_dict() for r in results]}, lambda: _report(ui, results))
    if not all(result.stopped for result in results):
        ui.info(
            f"not everything stopped within {timeout:.0f}s; `batchctl status` shows where each run stands"
        )
        raise typer.Exit(int(ExitCode.FAILED))
