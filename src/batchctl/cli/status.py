"""`batchctl status`: a job's (or every job's) recent runs: id, source, state, start, duration, Batch jobs; with
--failed also the error and cause; and why a run whose Batch job sits in RUNNABLE is stuck."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer

from batchctl.cli.complete import complete_job
from batchctl.cli.context import CliState

if TYPE_CHECKING:
    from batchctl.runs import RunSummary
    from batchctl.ui import Ui


def format_duration(seconds: float) -> str:
    """`4.2s`, `3m07s`, `2h05m`."""
    if seconds < 60:
        return f"{seconds:.1f}s"
    minutes, secs = divmod(int(seconds), 60)
    if minutes < 60:
        return f"{minutes}m{secs:02d}s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h{minutes:02d}m"


def _batch_column(summary: RunSummary) -> str:
    parts = []
    for job in summary.batch_jobs:
        step = f"{job.step} " if job.step else ""
        parts.append(f"{step}{job.job_id[:8]} {job.status}")
    return ", ".join(parts) or "-"


def status(
    ctx: typer.Context,
    job: Annotated[
        str | None, typer.Argument(help="Job name (every job if omitted).", autocompletion=complete_job)
    ] = None,
    limit: Annotated[int, typer.Option("--limit", min=1, max=1000, help="How many runs to show.")] = 20,
    failed: Annotated[
        bool, typer.Option("--failed", help="Only failed, timed-out and aborted runs, with error and cause.")
    ] = False,
) -> None:
    """Recent runs: id, source, state, started, duration, Batch job ids."""
    from batchctl import runs

    state: CliState = ctx.obj
    ui = state.ui
    cfg = state.config()
    jobs = [runs.find_job(cfg, job).name] if job else sorted(cfg.jobs)
    aws = state.aws()
    names = state.names()
    with ui.status("reading runs"):
        summaries = runs.list_runs(aws, names, jobs=jobs, limit=limit, failed_only=failed)
    payload = {"project": cfg.project, "stage": cfg.stage, "runs": [s.to_dict() for s in summaries]}
    if summaries:
        ui.emit(payload, lambda: _render(ui, summaries, failed=failed))
    else:
        which = f"job {job}" if job else f"{cfg.project}/{cfg.stage}"
        ui.emit(payload, lambda: ui.info(f"No {'failed ' if failed else ''}runs of {which}."))


def _render(ui: Ui, summaries: list[RunSummary], *, failed: bool) -> None:
    """The runs as a table on stdout; why any RUNNABLE Batch job is stuck on stderr."""
    from batchctl.runs import iso_utc, summarize_cause
    from batchctl.ui import render_table

    columns = ["RUN", "JOB", "SOURCE", "STATE", "STARTED (UTC)", "DURATION", "BATCH JOBS"]
    if failed:
        columns += ["ERROR", "CAUSE"]
    rows = []
    for summary in summaries:
        row = [
            summary.run_id,
            summary.job,
            summary.source,
            summary.status,
            iso_utc(summary.started).replace("T", " ")[:19],
            format_duration(summary.duration_s),
            _batch_column(summary),
        ]
        if failed:
            row += [summary.error or "", summarize_cause(summary.cause, limit=120)]
        rows.append(row)
    render_table(ui, columns=columns, rows=rows)
    for summary in summaries:
        if summary.stuck:
            ui.warn(f"run {summary.run_id} of {summary.job}: {summary.stuck}")
