"""Following a run from the CLI (`submit --wait`, `logs tail --run`): one progress line per change, the run's log
streams for `logtail`, and its container output on stdout while it runs."""

from __future__ import annotations

import sys
import threading
import time
from collections.abc import Collection
from typing import TYPE_CHECKING

from rich.markup import escape

from batchctl.errors import BatchctlError, RunError

if TYPE_CHECKING:
    from batchctl.aws import Aws
    from batchctl.cli.context import CliState
    from batchctl.logtail import LogEvent, LogSource
    from batchctl.naming import Names
    from batchctl.runs import JobInfo, RunStatus, RunUpdate

STREAM_REFRESH_S = 5.0


def describe_update(update: RunUpdate) -> str:
    """One progress line for a change seen while following a run (markup-escaped)."""
    if update.batch_job_id is None:
        return f"run {escape(update.run_id)}: {escape(update.status)}"
    step = f"{update.step}: " if update.step else ""
    text = f"  {escape(step)}Batch job {escape(update.batch_job_id)} {escape(update.batch_status or '')}"
    if update.reason:
        text += f" ({escape(update.reason)})"
    return text


class RunStreams:
    """The log streams of one run (refreshed every few seconds while it runs), for `logtail` to read."""

    def __init__(self, aws: Aws, names: Names, *, job: str, run_id: str, step: str | None = None) -> None:
        from batchctl import runs

        self._aws, self._names, self._job, self._run_id, self._step = aws, names, job, run_id, step
        self._lock = threading.Lock()
        # The first look also proves that the run exists, and gives its start.
        self._streams, self._final, self.started = runs.run_log_streams(aws, names, job=job, run_id=run_id)
        self._checked_at = time.monotonic()

    def refresh(self) -> None:
        from batchctl import runs

        with self._lock:
            self._streams, self._final, _ = runs.run_log_streams(
                self._aws, self._names, job=self._job, run_id=self._run_id
            )
            self._checked_at = time.monotonic()

    def __call__(self) -> Collection[str]:
        if not self._final and time.monotonic() - self._checked_at >= STREAM_REFRESH_S:
            self.refresh()
        with self._lock:
            return [s for s, step in self._streams.items() if self._step is None or step == self._step]


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
    from batchctl import logtail, runs

    ui = state.ui
    tailer: logtail.Tailer | None = None
    thread: threading.Thread | None = None
    stop = threading.Event()
    failures: list[BatchctlError] = []
    streams: RunStreams | None = None
    if logs:
        source: LogSource | None = None
        try:
            source = logtail.resolve_log_source(
                aws, names, job=job.name, definitions=job.job_definitions(names)
            )
        except RunError as exc:
            ui.warn(f"no container output to show: {exc.message}")
        if source is not None:
            streams = RunStreams(aws, names, job=job.name, run_id=run_id)
            tailer = logtail.Tailer(
                aws=aws,
                group=source.group,
                start_ms=int(streams.started.timestamp() * 1000) - 60_000,
                on_event=lambda event: write_event(event, flush=True),
                streams=streams,
            )

            def pump() -> None:
                assert tailer is not None
                try:
                    tailer.follow(stop_event=stop, poll_s=1.0)
                except BatchctlError as exc:
                    failures.append(exc)

            thread = threading.Thread(target=pump, name="batchctl-logs", daemon=True)
            thread.start()
    try:
        outcome = runs.follow(
            aws,
            names,
            job=job.name,
            run_id=run_id,
            on_update=lambda u: ui.info(describe_update(u)),
            poll_s=poll_s,
        )
    finally:
        stop.set()
        if thread is not None:
            thread.join(timeout=30)
    if tailer is not None and streams is not None and not failures:
        # The last lines can reach CloudWatch Logs a moment after the job ends: read once more.
        time.sleep(1.0)
        try:
            streams.refresh()
            tailer.poll()
        except BatchctlError as exc:
            failures.append(exc)
    for failure in failures:
        ui.warn(f"reading the container output failed: {failure.message}")
    verdict = f"run {run_id} of {job.name} {outcome.status}"
    if outcome.succeeded:
        ui.info(escape(verdict))
    else:
        details = [part for part in (outcome.error, runs.summarize_cause(outcome.cause)) if part]
        ui.error(RunError(": ".join([verdict, *details])))
    return outcome
