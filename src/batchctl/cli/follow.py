"""Following a run from the CLI (`submit --wait`, `logs tail --run`): one progress line per change, the run's log
streams for `logtail`, and its container output on stdout while it runs."""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING

from rich.markup import escape

from batchctl.errors import RunError

if TYPE_CHECKING:
    from batchctl.aws import Aws
    from batchctl.cli.context import CliState
    from batchctl.logtail import LogEvent
    from batchctl.naming import Names
    from batchctl.runs import BackgroundLogTail, JobInfo, RunStatus, RunUpdate
    from batchctl.ui import Ui


def describe_update(update: RunUpdate) -> str:
    """One progress line for a change seen while following a run (markup-escaped)."""
    if update.batch_job_id is None:
        return f"run {escape(update.run_id)}: {escape(update.status)}"
    step = f"{update.step}: " if update.step else ""
    text = f"  {escape(step)}Batch job {escape(update.batch_job_id)} {escape(update.batch_status or '')}"
    if update.reason:
        text += f" ({escape(update.reason)})"
    return text


def write_event(event: LogEvent, *, flush: bool) -> None:
    """One log line on stdout, labelled with its stream once more than one stream has shown."""
    from batchctl.logtail import stream_label

    prefix = f"{stream_label(event.stream)} | " if event.many_streams else ""
    sys.stdout.write(f"{prefix}{event.message}\n")
    if flush:
        sys.stdout.flush()


def wait_for_run(
    state: CliState, aws: Aws, names: Names, *, job: JobInfo, run_id: str, logs: bool, poll_s: float
) -> RunStatus:
    """Follow a run to its end, printing progress on stderr (and its container output on stdout with `logs`)."""
    from batchctl import runs

    ui = state.ui
    tail = _output_tail(state, aws, names, job=job, run_id=run_id) if logs else None
    if tail is not None:
        tail.start()
    try:
        outcome = runs.follow(
            aws,
            names,
            job=job.name,
            run_id=run_id,
            on_update=lambda u: _progress(ui, u),
            poll_s=poll_s,
        )
    except BaseException:
        if tail is not None:
            tail.stop(final_read=False)
        raise
    for failure in tail.stop() if tail is not None else ():
        ui.warn(f"reading the container output failed: {failure.message}")
    verdict = f"run {run_id} of {job.name} {outcome.status}"
    if outcome.succeeded:
        ui.info(escape(verdict))
    else:
        details = [part for part in (outcome.error, runs.summarize_cause(outcome.cause)) if part]
        ui.error(RunError(": ".join([verdict, *details])))
    return outcome


def _progress(ui: Ui, update: RunUpdate) -> None:
    """A progress line, except the run's final state: the verdict after the run says it, once."""
    from batchctl.runs.executions import RUNNING_STATUSES

    if update.batch_job_id is not None or update.status in RUNNING_STATUSES:
        ui.info(describe_update(update))


def _output_tail(
    state: CliState, aws: Aws, names: Names, *, job: JobInfo, run_id: str
) -> BackgroundLogTail | None:
    """The run's container output, read in the background; None (with a warning) when the job logs nowhere."""
    from batchctl import logtail, runs

    try:
        source = logtail.resolve_log_source(aws, names, job=job.name, definitions=job.job_definitions(names))
    except RunError as exc:
        state.ui.warn(f"no container output to show: {exc.message}")
        return None
    streams = runs.RunStreams(aws, names, job=job.name, run_id=run_id)
    reader = logtail.Tailer(
        aws=aws,
        group=source.group,
        start_ms=runs.log_start_ms(streams.started),
        on_event=lambda event: write_event(event, flush=True),
        streams=streams,
        label_streams=len(job.steps) > 1 or job.array,
    )
    return runs.BackgroundLogTail(reader, refresh=streams.refresh)
