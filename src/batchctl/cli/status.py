"""`batchctl status`: a job's (or every job's) recent runs: id, source, status, start, duration, Batch jobs; with
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
    """Each Batch job's status (with its step when the job has several); the ids are in `-o json`."""
    steps = {job.step for job in summary.batch_jobs}
    parts = [
        f"{job.step} {job.status}" if job.step and len(steps) > 1 else job.status
        for job in summary.batch_jobs
    ]
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
    """Recent runs: id (or a unique prefix), source, status, started, duration, Batch jobs."""
    from batchctl import endpoints, runs

    state: CliState = ctx.obj
    ui = state.ui
    cfg = state.config()
    jobs = [runs.find_job(cfg, job).name] if job else sorted(cfg.jobs)
    aws = state.aws()
    names = state.names()
    with ui.status("reading runs"):
        summaries = runs.list_runs(aws, names, jobs=jobs, limit=limit, failed_only=failed)
    payload = {"project": cfg.project, "stage": cfg.stage, "runs": [s.to_dict() for s in summaries]}
    if ui.is_json:  # what an app needs to reach the jobs, as `batchctl outputs` gives it
        found = endpoints.read_endpoints(aws, cfg, names)
        payload["outputs"] = [e.to_dict() for e in found if e.job in jobs]
    if summaries:
        ui.emit(payload, lambda: _render(ui, summaries, failed=failed))
    else:
        which = f"job {job}" if job else f"{cfg.project}/{cfg.stage}"
        ui.emit(payload, lambda: ui.info(f"No {'failed ' if failed else ''}runs of {which}."))


# Shown only when the terminal is wide enough (in this order); -o json always has them.
OPTIONAL_COLUMNS = ("SOURCE", "BATCH")
COLUMN_GAP = 2


def _render(ui: Ui, summaries: list[RunSummary], *, failed: bool) -> None:
    """The runs as a table on stdout, as wide as the terminal allows without folding an id or a time; why any
    RUNNABLE Batch job is stuck on stderr."""
    from batchctl.runs import iso_utc, short_ids, summarize_cause
    from batchctl.ui import render_table

    # STATUS is the `status` of -o json. RUN: the id, or a prefix no other run shown starts with, which retry,
    # cancel and `logs tail --run` accept.
    shown = short_ids(s.run_id for s in summaries)
    cells: dict[str, list[str]] = {
        "RUN": [shown[s.run_id] for s in summaries],
        "JOB": [s.job for s in summaries],
        "SOURCE": [s.source for s in summaries],
        "STATUS": [s.status for s in summaries],
        "STARTED (UTC)": [iso_utc(s.started).replace("T", " ")[:19] for s in summaries],
        "DURATION": [format_duration(s.duration_s) for s in summaries],
        "BATCH": [_batch_column(s) for s in summaries],
    }
    if failed:
        cells["ERROR"] = [s.error or "" for s in summaries]
        cells["CAUSE"] = [summarize_cause(s.cause, limit=120) for s in summaries]
    widths = {name: max(len(name), *map(len, values)) for name, values in cells.items()}
    kept = [name for name in cells if name not in OPTIONAL_COLUMNS and name not in ("ERROR", "CAUSE")]
    used = sum(widths[name] + COLUMN_GAP for name in kept) - COLUMN_GAP
    for name in OPTIONAL_COLUMNS:
        if used + COLUMN_GAP + widths[name] <= ui.out.width - (40 if failed else 0):
            kept.append(name)
            used += COLUMN_GAP + widths[name]
    columns = [name for name in cells if name in kept or name in ("ERROR", "CAUSE")]
    rows = [[cells[name][index] for name in columns] for index in range(len(summaries))]
    render_table(ui, columns=columns, rows=rows, no_wrap=("RUN", "STATUS", "STARTED (UTC)", "DURATION"))
    for summary in summaries:
        if summary.stuck:
            ui.warn(f"run {summary.run_id} of {summary.job}: {summary.stuck}")
