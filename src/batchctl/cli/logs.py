"""`batchctl logs tail JOB`: a job's container output from CloudWatch Logs, merged in time order; --follow keeps
polling (Ctrl-C ends it quietly, exit 0)."""

from __future__ import annotations

import json
import sys
from typing import TYPE_CHECKING, Annotated

import typer

from batchctl.cli.complete import complete_job, complete_run
from batchctl.cli.context import CliState
from batchctl.cli.follow import write_event
from batchctl.errors import RunUsageError

if TYPE_CHECKING:
    from batchctl.logtail import LogEvent

DEFAULT_SINCE = "1h"

logs_app = typer.Typer(help="Container output of a job's runs.", no_args_is_help=True)


def _event_dict(event: LogEvent) -> dict[str, object]:
    from batchctl.runs import iso_utc

    return {
        "time": iso_utc(event.time),
        "timestamp_ms": event.timestamp_ms,
        "stream": event.stream,
        "event_id": event.event_id,
        "message": event.message,
    }


@logs_app.command("tail")
def tail(
    ctx: typer.Context,
    job: Annotated[str, typer.Argument(help="Job name from jobs.yaml.", autocompletion=complete_job)],
    follow: Annotated[
        bool, typer.Option("--follow", "-f", help="Keep polling for new events (Ctrl-C stops).")
    ] = False,
    since: Annotated[
        str | None,
        typer.Option(
            "--since",
            help="Start at 10m, 2h, 1d ago or at an ISO time (UTC unless it has an offset). "
            f"Default: {DEFAULT_SINCE}, or the start of --run.",
        ),
    ] = None,
    filter_pattern: Annotated[
        str | None, typer.Option("--filter", help="CloudWatch Logs filter pattern, e.g. ERROR.")
    ] = None,
    run: Annotated[
        str | None,
        typer.Option(
            "--run",
            help="Only the output of this run (its id or a unique prefix).",
            autocompletion=complete_run,
        ),
    ] = None,
    step: Annotated[str | None, typer.Option("--step", help="Only the output of this step.")] = None,
) -> None:
    """Print (and with --follow keep printing) a job's container output. With -o json: one document, or with
    --follow one JSON object per line."""
    from batchctl import logtail, runs

    state: CliState = ctx.obj
    ui = state.ui
    info = runs.find_job(state.config(), job)
    if step is not None and step not in info.steps:
        raise RunUsageError(
            f"job {job!r} has no step {step!r}; its steps are: {', '.join(info.steps)}",
            hint="step names are the `name:` of each entry under `steps:` (a single-command job has `main`)",
        )
    start_ms = logtail.parse_since(since) if since is not None else None
    aws = state.aws()
    names = state.names()
    source = logtail.resolve_log_source(aws, names, job=job, definitions=info.job_definitions(names))
    streams: runs.RunStreams | None = None
    prefix: str | None = None
    if run is not None:
        run = runs.locate_run(aws, names, jobs=[job], run_id=run).run_id  # a unique prefix names the run too
        streams = runs.RunStreams(aws, names, job=job, run_id=run, step=step)
        if start_ms is None:
            start_ms = runs.log_start_ms(streams.started)
    elif step is not None:
        prefix = source.stream_prefixes[step] + "/"
    if start_ms is None:
        start_ms = logtail.parse_since(DEFAULT_SINCE)

    collected: list[dict[str, object]] = []

    def on_event(event: LogEvent) -> None:
        if not ui.is_json:
            write_event(event, flush=follow)
        elif follow:
            sys.stdout.write(json.dumps({"version": 1, **_event_dict(event)}, sort_keys=True) + "\n")
            sys.stdout.flush()
        else:
            collected.append(_event_dict(event))

    ui.info(f"reading {source.group}" + (" (Ctrl-C to stop)" if follow else ""))
    try:
        count = logtail.tail(
            aws,
            source.group,
            start_ms=start_ms,
            on_event=on_event,
            filter_pattern=filter_pattern,
            stream_prefix=prefix,
            streams=streams,
            follow=follow,
            # Lines of several streams interleave: label each from the first whenever more than one can show.
            label_streams=run is None or (step is None and len(info.steps) > 1) or info.array,
        )
    except KeyboardInterrupt:
        # Ending a follow with Ctrl-C is how it is meant to stop: exit 0, no message.
        sys.stdout.flush()
        return

    def nothing_shown() -> None:
        if count == 0 and streams is not None and not streams():
            ui.info(f"run {run} has no container output yet: its Batch jobs have not started running")
        elif count == 0:
            ui.info("no events in that time range" + (" matching the filter" if filter_pattern else ""))

    ui.emit({"job": job, "log_group": source.group, "events": collected}, nothing_shown)
