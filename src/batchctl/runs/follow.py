"""Following a run: poll it to its end reporting each change, the log streams of its Batch jobs, and reading its
container output on a background thread meanwhile (the reader is passed in: logtail's Tailer is one).
Imports: aws, naming, errors, runs.executions, runs.batchjobs, stdlib."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Collection
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Protocol

from batchctl.aws import Aws
from batchctl.errors import BatchctlError, RunError
from batchctl.naming import Names
from batchctl.runs.batchjobs import (
    BatchJob,
    array_children,
    describe_batch_jobs,
    explain_if_allowed,
    is_stuck,
)
from batchctl.runs.executions import RUNNING_STATUSES, describe_execution, describe_run, run_batch_jobs

__all__ = [
    "LOG_LOOKBACK_MS",
    "LOG_POLL_S",
    "LOG_SETTLE_S",
    "LOG_STOP_TIMEOUT_S",
    "BackgroundLogTail",
    "LogReader",
    "RunStatus",
    "RunStreams",
    "RunUpdate",
    "follow",
    "log_start_ms",
    "run_log_streams",
]

# Reading a run's container output while it is followed:
LOG_LOOKBACK_MS = 60_000  # start a minute before the run: a container's first lines can be stamped earlier
LOG_POLL_S = 1.0  # between two FilterLogEvents passes
LOG_STOP_TIMEOUT_S = 30.0  # how long stop() waits for the pass in flight to end
# The last lines can reach CloudWatch Logs a moment after the job ends: stop() waits this long, then reads once more.
LOG_SETTLE_S = 1.0
STREAM_REFRESH_S = 5.0  # how often the streams of a run still going are looked up again


@dataclass(frozen=True, slots=True)
class RunUpdate:
    """One change seen while following a run: the execution's status, or one of its Batch jobs."""

    run_id: str
    status: str
    step: str | None = None
    batch_job_id: str | None = None
    batch_status: str | None = None
    reason: str | None = None


@dataclass(frozen=True, slots=True)
class RunStatus:
    """How a run ended (or stands)."""

    job: str
    run_id: str
    status: str
    error: str | None = None
    cause: str | None = None
    batch_jobs: tuple[BatchJob, ...] = ()

    @property
    def succeeded(self) -> bool:
        return self.status == "SUCCEEDED"


def follow(
    aws: Aws,
    names: Names,
    *,
    job: str,
    run_id: str,
    on_update: Callable[[RunUpdate], None],
    poll_s: float = 2.0,
    timeout_s: float | None = None,
    now: Callable[[], datetime] = lambda: datetime.now(UTC),
) -> RunStatus:
    """Poll the run (DescribeExecution, its history for Batch jobs, DescribeJobs) until it is no longer running.

    `on_update` hears every change: the execution's status, each Batch job's status (with its reason), and why a
    job stays RUNNABLE once it has for minutes. Bounded by `timeout_s` when given.
    """
    execution = describe_run(aws, names, job=job, run_id=run_id)
    arn = execution.arn
    deadline = None if timeout_s is None else aws.clock() + timeout_s
    last_status: str | None = None
    batch_status: dict[str, str] = {}
    explained: set[str] = set()
    while True:
        if execution.status != last_status:
            on_update(RunUpdate(run_id=run_id, status=execution.status))
            last_status = execution.status
        jobs = run_batch_jobs(aws, arn)
        moment = now()
        for batch_job in jobs:
            changed = RunUpdate(
                run_id=run_id,
                status=execution.status,
                step=batch_job.step,
                batch_job_id=batch_job.job_id,
                batch_status=batch_job.status,
                reason=batch_job.status_reason,
            )
            if batch_status.get(batch_job.job_id) != batch_job.status:
                batch_status[batch_job.job_id] = batch_job.status
                on_update(changed)
            if batch_job.job_id not in explained and is_stuck(batch_job, moment):
                explained.add(batch_job.job_id)
                reason = explain_if_allowed(aws, batch_job)
                if reason:
                    on_update(replace(changed, reason=reason))
        if execution.status not in RUNNING_STATUSES:
            return RunStatus(
                job=job,
                run_id=run_id,
                status=execution.status,
                error=execution.error,
                cause=execution.cause,
                batch_jobs=tuple(jobs),
            )
        if deadline is not None and aws.clock() >= deadline:
            raise RunError(
                f"run {run_id!r} of job {job!r} is still {execution.status} after {timeout_s:.0f}s",
                hint=f"follow it later with `batchctl status {job}`",
            )
        aws.sleep(poll_s)
        execution = describe_execution(aws, arn, job=job)


def run_log_streams(
    aws: Aws, names: Names, *, job: str, run_id: str
) -> tuple[dict[str, str], bool, datetime]:
    """The log streams of a run's Batch jobs (stream → step), whether the run has ended, and when it started.

    Every attempt of every job counts (a retried job's first attempt wrote to its own stream), and so does every
    child of an array job (`<id>:<index>`, DescribeJobs; AWS-QUIRKS 41: a job has a log stream only once it runs).
    """
    execution = describe_run(aws, names, job=job, run_id=run_id)
    jobs = run_batch_jobs(aws, execution.arn)
    children = array_children(jobs)
    streams: dict[str, str] = {}
    # An array job's parent runs no container itself: its children's streams are the output.
    parents = {batch_job.job_id for batch_job in jobs if batch_job.array_size}
    for batch_job in [*jobs, *(describe_batch_jobs(aws, children) if children else [])]:
        if batch_job.job_id in parents:
            continue
        for stream in batch_job.log_streams:
            streams.setdefault(stream, batch_job.step or "")
    return streams, execution.status not in RUNNING_STATUSES, execution.started


# ---- container output in the background --------------------------------------------------------------------------


def log_start_ms(started: datetime) -> int:
    """Where to start reading a run's output (epoch ms): LOG_LOOKBACK_MS before the run started."""
    return int(started.timestamp() * 1000) - LOG_LOOKBACK_MS


class LogReader(Protocol):
    """What BackgroundLogTail needs of a log reader; logtail.Tailer is one."""

    def poll(self) -> int:
        """Read once from where the last pass ended; returns how many events it printed."""
        ...

    def follow(self, *, stop_event: threading.Event, poll_s: float = ...) -> None:
        """Poll every `poll_s` until `stop_event` is set."""
        ...


class BackgroundLogTail:
    """Runs `reader.follow` on a daemon thread between start() and stop(), so a run's output shows while the run is
    followed. stop() ends it and, unless told otherwise, waits LOG_SETTLE_S, calls `refresh` (e.g. to look for new
    log streams) and reads once more. A BatchctlError while reading ends the reading and is kept in `failures`
    (then no last read); the caller decides how to report it."""

    def __init__(
        self,
        reader: LogReader,
        *,
        refresh: Callable[[], None] | None = None,
        poll_s: float = LOG_POLL_S,
        stop_timeout_s: float = LOG_STOP_TIMEOUT_S,
        settle_s: float = LOG_SETTLE_S,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self._reader = reader
        self._refresh = refresh
        self._poll_s = poll_s
        self._stop_timeout_s = stop_timeout_s
        self._settle_s = settle_s
        self._sleep = sleep
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._started = False
        self._failures: list[BatchctlError] = []

    @property
    def failures(self) -> tuple[BatchctlError, ...]:
        """What went wrong while reading, in order (empty when all went well)."""
        return tuple(self._failures)

    def start(self) -> None:
        """Start reading on a thread named `batchctl-logs`; a second start() is an error."""
        if self._started:
            raise RuntimeError("a BackgroundLogTail starts once")
        self._started = True
        self._thread = threading.Thread(target=self._pump, name="batchctl-logs", daemon=True)
        self._thread.start()

    def stop(self, *, final_read: bool = True) -> tuple[BatchctlError, ...]:
        """Stop reading (waiting at most LOG_STOP_TIMEOUT_S for the thread), then with `final_read` and no failure
        so far: wait LOG_SETTLE_S, refresh, read once more. Returns `failures`. Pass final_read=False when the run
        was not followed to its end (an error or Ctrl-C)."""
        self._stop.set()
        thread, self._thread = self._thread, None
        if thread is None:
            return self.failures
        thread.join(timeout=self._stop_timeout_s)
        if final_read and not self._failures:
            self._sleep(self._settle_s)
            try:
                if self._refresh is not None:
                    self._refresh()
                self._reader.poll()
            except BatchctlError as exc:
                self._failures.append(exc)
        return self.failures

    def _pump(self) -> None:
        try:
            self._reader.follow(stop_event=self._stop, poll_s=self._poll_s)
        except BatchctlError as exc:
            self._failures.append(exc)


class RunStreams:
    """The log streams of one run (looked up again every few seconds while it runs), for a log reader to read."""

    def __init__(self, aws: Aws, names: Names, *, job: str, run_id: str, step: str | None = None) -> None:
        self._aws, self._names, self._job, self._run_id, self._step = aws, names, job, run_id, step
        self._lock = threading.Lock()
        # The first look also proves that the run exists, and gives its start.
        self._streams, self._final, self.started = run_log_streams(aws, names, job=job, run_id=run_id)
        self._checked_at = time.monotonic()

    def refresh(self) -> None:
        with self._lock:
            self._streams, self._final, _ = run_log_streams(
                self._aws, self._names, job=self._job, run_id=self._run_id
            )
            self._checked_at = time.monotonic()

    def __call__(self) -> Collection[str]:
        if not self._final and time.monotonic() - self._checked_at >= STREAM_REFRESH_S:
            self.refresh()
        with self._lock:
            return [s for s, step in self._streams.items() if self._step is None or step == self._step]
