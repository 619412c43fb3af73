"""Runs as Step Functions executions (a run id is the execution name): describing one (the one place a missing
execution becomes a RunError), finding the run a queued message started, listing, locating and retrying runs.
Imports: asl, aws, naming, errors, runs.body, runs.submit, runs.batchjobs, stdlib."""

from __future__ import annotations

import contextlib
import json
import logging
import re
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from batchctl import asl
from batchctl.aws import Aws, AwsDict
from batchctl.errors import AwsError, ConfirmationRequiredError, RunError
from batchctl.naming import Names
from batchctl.runs.batchjobs import (
    BatchJob,
    batch_jobs_from_history,
    describe_batch_jobs,
    explain_if_allowed,
    is_stuck,
)
from batchctl.runs.body import EXECUTION_NAME_LIMIT
from batchctl.runs.ids import resolve_run
from batchctl.runs.submit import iso_utc, start_execution

__all__ = [
    "RUNNING_STATUSES",
    "Execution",
    "RetryResult",
    "RunSummary",
    "describe_execution",
    "describe_run",
    "execution_history",
    "expand_run_id",
    "find_execution_for_message",
    "list_runs",
    "locate_run",
    "related_runs",
    "retry_name",
    "retry_run",
    "run_batch_jobs",
    "source_of_input",
    "summarize_cause",
]

log = logging.getLogger(__name__)

MAX_PARALLEL_CALLS = 16
RUNNING_STATUSES = frozenset({"RUNNING", "PENDING_REDRIVE"})
FAILED_STATUSES = ("FAILED", "TIMED_OUT", "ABORTED")
EXECUTION_MISSING_CODES = frozenset({"ExecutionDoesNotExist", "StateMachineDoesNotExist", "InvalidArn"})
_RETRY_SUFFIX = re.compile(r"-r\d+$")


@dataclass(frozen=True, slots=True)
class Execution:
    """One Step Functions execution of a job's workflow: a run."""

    job: str
    run_id: str
    arn: str
    status: str
    started: datetime
    stopped: datetime | None
    input_text: str | None
    error: str | None
    cause: str | None
    redrivable: bool


def describe_execution(aws: Aws, arn: str, *, job: str) -> Execution:
    """DescribeExecution as an Execution; errors come as AwsError (describe_run turns a missing run into a RunError)."""
    answer = aws.call("stepfunctions", "describe_execution", key=arn, executionArn=arn)
    return Execution(
        job=job,
        run_id=str(answer["name"]),
        arn=arn,
        status=str(answer["status"]),
        started=answer["startDate"],
        stopped=answer.get("stopDate"),
        input_text=answer.get("input"),
        error=answer.get("error"),
        cause=answer.get("cause"),
        # AWS says whether RedriveExecution would work; moto does not say (and lacks the call).
        redrivable=answer.get("redriveStatus") == "REDRIVABLE",
    )


def describe_run(aws: Aws, names: Names, *, job: str, run_id: str) -> Execution:
    """The run `run_id` of `job`; a missing execution (or workflow) is a RunError saying how to list the runs."""
    arn = names.execution_arn(job, run_id)
    try:
        return describe_execution(aws, arn, job=job)
    except AwsError as exc:
        if exc.code in EXECUTION_MISSING_CODES:
            raise RunError(
                f"no run {run_id!r} of job {job!r}", hint=f"list runs with `batchctl status {job}`"
            ) from exc
        raise


def execution_history(aws: Aws, arn: str) -> list[AwsDict]:
    """Every history event of the execution, oldest first."""
    events: list[AwsDict] = []
    for page in aws.pages("stepfunctions", "get_execution_history", key=arn, executionArn=arn):
        events.extend(page.get("events", []))
    return events


def run_batch_jobs(aws: Aws, arn: str) -> list[BatchJob]:
    """The Batch jobs the execution submitted, in order, as DescribeJobs shows them now."""
    return describe_batch_jobs(aws, batch_jobs_from_history(execution_history(aws, arn)))


def source_of_input(input_text: str | None) -> str:
    """Who started a run, from its input: a pipe sends an array of SQS records; the others say `source`; any other
    JSON is a start by hand (the console, `aws stepfunctions start-execution`), which the workflow runs as manual."""
    if input_text is None:
        return "unknown"
    try:
        document = json.loads(input_text)
    except json.JSONDecodeError:
        return "unknown"
    if isinstance(document, list):
        return asl.SOURCE_QUEUE
    if isinstance(document, dict) and isinstance(document.get("source"), str):
        return str(document["source"])
    return asl.SOURCE_MANUAL


def _carries_message(input_text: str | None, message_id: str) -> bool:
    try:
        document = json.loads(input_text or "null")
    except json.JSONDecodeError:
        return False
    return isinstance(document, list) and any(
        isinstance(record, dict) and record.get("messageId") == message_id for record in document
    )


def _recent_executions(aws: Aws, arn: str, *, job: str, since: datetime) -> Iterator[AwsDict]:
    """Executions of the machine started at or after `since`, newest first."""
    try:
        for page in aws.pages("stepfunctions", "list_executions", key=arn, stateMachineArn=arn):
            for item in page.get("executions", []):
                if item["startDate"] < since:
                    return
                yield item
    except AwsError as exc:
        if exc.code == "StateMachineDoesNotExist":
            raise RunError(
                f"the workflow of job {job!r} does not exist", hint="run `batchctl deploy` first"
            ) from exc
        raise


def find_execution_for_message(
    aws: Aws,
    names: Names,
    *,
    job: str,
    message_id: str,
    sent_at: datetime,
    timeout_s: float = 300.0,
    poll_s: float = 2.0,
) -> str:
    """The run the job's pipe started for the SQS message `message_id` (its id is in the input); bounded wait."""
    arn = names.state_machine_arn(job)
    # Allow for clock skew between this machine and AWS.
    since = sent_at - timedelta(minutes=5)
    inspected: set[str] = set()
    deadline = aws.clock() + timeout_s
    while True:
        for item in _recent_executions(aws, arn, job=job, since=since):
            execution_arn = str(item["executionArn"])
            if execution_arn in inspected:
                continue
            inspected.add(execution_arn)
            execution = describe_execution(aws, execution_arn, job=job)
            if _carries_message(execution.input_text, message_id):
                return execution.run_id
        if aws.clock() >= deadline:
            raise RunError(
                f"no run of job {job!r} picked up message {message_id} within {timeout_s:.0f}s",
                hint=f"the message is in the queue; check the pipe {names.pipe(job)} "
                f"and its dead-letter queue, then `batchctl status {job}`",
            )
        aws.sleep(poll_s)


# ---- listing runs -------------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class RunSummary:
    """One run as `status` shows it."""

    job: str
    run_id: str
    source: str
    status: str
    started: datetime
    stopped: datetime | None
    duration_s: float
    batch_jobs: tuple[BatchJob, ...] = ()
    error: str | None = None
    cause: str | None = None
    stuck: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "job": self.job,
            "run_id": self.run_id,
            "source": self.source,
            "status": self.status,
            "started": iso_utc(self.started),
            "stopped": iso_utc(self.stopped) if self.stopped else None,
            "duration_s": round(self.duration_s, 3),
            "batch_jobs": [j.to_dict() for j in self.batch_jobs],
            "error": self.error,
            "cause": self.cause,
            "stuck": self.stuck,
        }


def _list_job_executions(
    aws: Aws, names: Names, *, job: str, limit: int, failed_only: bool
) -> list[tuple[str, AwsDict]] | None:
    """The newest executions of one job (None when its state machine does not exist)."""
    arn = names.state_machine_arn(job)
    filters: Sequence[str | None] = FAILED_STATUSES if failed_only else (None,)
    found: list[tuple[str, AwsDict]] = []
    try:
        for status in filters:
            params: dict[str, Any] = {"stateMachineArn": arn, "maxResults": min(limit, 1000)}
            if status:
                params["statusFilter"] = status
            answer = aws.call("stepfunctions", "list_executions", key=arn, **params)
            found.extend((job, item) for item in answer.get("executions", []))
    except AwsError as exc:
        if exc.code == "StateMachineDoesNotExist":
            return None
        raise
    return found


def list_runs(
    aws: Aws,
    names: Names,
    *,
    jobs: Sequence[str],
    limit: int = 20,
    failed_only: bool = False,
    now: datetime | None = None,
    parallelism: int = MAX_PARALLEL_CALLS,
) -> list[RunSummary]:
    """The newest `limit` runs of `jobs` (only FAILED, TIMED_OUT, ABORTED with `failed_only`), newest first, with
    their source, Batch jobs (one batched DescribeJobs), error and cause, and why a RUNNABLE job is stuck."""
    moment = now or datetime.now(UTC)
    workers = max(1, min(parallelism, len(jobs) or 1))
    with ThreadPoolExecutor(max_workers=workers) as pool:
        listed = list(
            pool.map(
                lambda job: _list_job_executions(aws, names, job=job, limit=limit, failed_only=failed_only),
                jobs,
            )
        )
    missing = [job for job, items in zip(jobs, listed, strict=True) if items is None]
    if jobs and len(missing) == len(jobs):
        which = f"job {jobs[0]!r} is not" if len(jobs) == 1 else f"none of the {len(jobs)} jobs is"
        raise RunError(
            f"{which} deployed in {names.prefix} (no state machine)", hint="run `batchctl deploy` first"
        )
    if missing:
        log.debug("not deployed: %s", ", ".join(missing))
    items = sorted(
        (pair for found in listed if found for pair in found),
        key=lambda pair: pair[1]["startDate"],
        reverse=True,
    )[:limit]
    if not items:
        return []

    def details(pair: tuple[str, AwsDict]) -> tuple[Execution, list[tuple[str | None, str]]]:
        job, item = pair
        execution_arn = str(item["executionArn"])
        return describe_execution(aws, execution_arn, job=job), batch_jobs_from_history(
            execution_history(aws, execution_arn)
        )

    with ThreadPoolExecutor(max_workers=max(1, min(parallelism, len(items)))) as pool:
        described = list(pool.map(details, items))
    all_jobs = [pair for _, pairs in described for pair in pairs]
    by_id = {job.job_id: job for job in describe_batch_jobs(aws, all_jobs)} if all_jobs else {}

    explanations: dict[tuple[str | None, float | None, str | None], str | None] = {}
    summaries: list[RunSummary] = []
    for execution, pairs in described:
        batch_jobs = tuple(by_id[job_id] for _, job_id in pairs if job_id in by_id)
        stuck = None
        for batch_job in batch_jobs:
            if is_stuck(batch_job, moment):
                key = (batch_job.queue, batch_job.vcpus, batch_job.assign_public_ip)
                if key not in explanations:
                    explanations[key] = explain_if_allowed(aws, batch_job)
                reason = explanations[key]
                minutes = int((moment - (batch_job.created_at or moment)).total_seconds() // 60)
                stuck = f"Batch job {batch_job.job_id} RUNNABLE for {minutes} min" + (
                    f": {reason}" if reason else ": waiting for capacity"
                )
                break
        end = execution.stopped or moment
        summaries.append(
            RunSummary(
                job=execution.job,
                run_id=execution.run_id,
                source=source_of_input(execution.input_text),
                status=execution.status,
                started=execution.started,
                stopped=execution.stopped,
                duration_s=max(0.0, (end - execution.started).total_seconds()),
                batch_jobs=batch_jobs,
                error=execution.error,
                cause=execution.cause,
                stuck=stuck,
            )
        )
    return summaries


def summarize_cause(cause: str | None, *, limit: int = 200) -> str:
    """A failed run's cause in one line: a Batch cause is the DescribeJobs JSON, so take its reasons from it."""
    if not cause:
        return ""
    try:
        document = json.loads(cause)
    except json.JSONDecodeError:
        document = None
    if isinstance(document, dict):
        parts: list[str] = []
        reason = document.get("StatusReason") or document.get("statusReason")
        if reason:
            parts.append(str(reason))
        attempts = document.get("Attempts") or document.get("attempts") or []
        if attempts and isinstance(attempts[-1], dict):
            container = attempts[-1].get("Container") or attempts[-1].get("container") or {}
            exit_code = container.get("ExitCode", container.get("exitCode"))
            if exit_code is not None:
                parts.append(f"exit code {exit_code}")
            container_reason = container.get("Reason") or container.get("reason")
            if container_reason:
                parts.append(str(container_reason))
        if parts:
            text = "; ".join(parts)
            return text if len(text) <= limit else text[: limit - 1] + "…"
    text = " ".join(cause.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


# ---- retrying -----------------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class RetryResult:
    job: str
    retried: str  # the failed run
    run_id: str  # the run now going: the same id after a redrive, a new one otherwise
    redriven: bool


def _run_ids(aws: Aws, names: Names, job: str) -> list[str]:
    """The names of every execution of the job's workflow (none when it is not deployed)."""
    arn = names.state_machine_arn(job)
    found: list[str] = []
    try:
        for page in aws.pages("stepfunctions", "list_executions", key=arn, stateMachineArn=arn):
            found.extend(str(item["name"]) for item in page.get("executions", []))
    except AwsError as exc:
        if exc.code == "StateMachineDoesNotExist":
            return []
        raise
    return found


def expand_run_id(aws: Aws, names: Names, *, jobs: Sequence[str], run_id: str) -> tuple[str, str]:
    """(job, full run id) of the run `run_id` names among the runs of `jobs`: an exact id, else a unique prefix
    (what `status` shows). None: a RunError; a prefix of several runs: a UsageError naming them."""
    if not jobs:
        raise RunError("jobs.yaml has no jobs")
    with ThreadPoolExecutor(max_workers=max(1, min(MAX_PARALLEL_CALLS, len(jobs)))) as pool:
        listed = list(pool.map(lambda job: _run_ids(aws, names, job), jobs))
    owners: dict[str, list[str]] = {}
    for job, ids in zip(jobs, listed, strict=True):
        for name in ids:
            owners.setdefault(name, []).append(job)
    try:
        full = resolve_run(run_id, owners)
    except RunError as exc:
        which = f"of job {jobs[0]!r}" if len(jobs) == 1 else f"in any job of {names.prefix}"
        raise RunError(f"no run {run_id!r} {which}", hint=exc.hint) from None
    return owners[full][0], full


def locate_run(aws: Aws, names: Names, *, jobs: Sequence[str], run_id: str) -> Execution:
    """Find which job's workflow has an execution named `run_id`, or (failing that) one whose name starts with
    `run_id` and is the only one to."""
    if not jobs:
        raise RunError("jobs.yaml has no jobs")

    def probe(job: str) -> Execution | None:
        try:
            return describe_run(aws, names, job=job, run_id=run_id)
        except RunError:
            return None

    with ThreadPoolExecutor(max_workers=max(1, min(MAX_PARALLEL_CALLS, len(jobs)))) as pool:
        found = [execution for execution in pool.map(probe, jobs) if execution is not None]
    if not found:
        job, full = expand_run_id(aws, names, jobs=jobs, run_id=run_id)
        return describe_run(aws, names, job=job, run_id=full)
    return found[0]


def retry_name(run_id: str, attempt: int) -> str:
    """`<run>-r<n>` (a retry of a retry counts on from the original), at most 80 characters."""
    base = _RETRY_SUFFIX.sub("", run_id)
    suffix = f"-r{attempt}"
    return base[: EXECUTION_NAME_LIMIT - len(suffix)] + suffix


def related_runs(aws: Aws, names: Names, *, job: str, run_id: str, max_names: int = 100) -> list[Execution]:
    """The original of `run_id` and its retries `<run>-r<n>` that exist, `run_id` itself left out, in order.
    Retries are numbered from 1 without gaps, so the first missing number ends the search."""
    base = _RETRY_SUFFIX.sub("", run_id)
    found: list[Execution] = []
    if base != run_id:
        with contextlib.suppress(RunError):  # a run named like a retry by hand has no original
            found.append(describe_run(aws, names, job=job, run_id=base))
    for attempt in range(1, max_names + 1):
        name = retry_name(run_id, attempt)
        if name == run_id:
            continue
        try:
            found.append(describe_run(aws, names, job=job, run_id=name))
        except RunError:
            break
    return found


def retry_run(
    aws: Aws,
    names: Names,
    *,
    jobs: Sequence[str],
    run_id: str,
    max_names: int = 100,
    force: bool = False,
    confirm: Callable[[str], None] | None = None,
) -> RetryResult:
    """Re-run a FAILED, TIMED_OUT or ABORTED run with its original input: redrive it when AWS can, else start a new
    execution `<run>-r<n>` with the same input. A run that succeeded or is still running is refused.

    When the run (its original or another retry of it) already succeeded, nothing starts unless `force`, or
    `confirm` (asked with the question) returns; without either a ConfirmationRequiredError says to use --force.
    """
    execution = locate_run(aws, names, jobs=jobs, run_id=run_id)
    job, run_id = execution.job, execution.run_id  # a prefix typed is now the whole id
    if execution.status in RUNNING_STATUSES:
        raise RunError(
            f"run {run_id!r} of job {job!r} is still running", hint="wait for it to end, then retry"
        )
    if execution.status == "SUCCEEDED":
        raise RunError(
            f"run {run_id!r} of job {job!r} succeeded: there is nothing to retry",
            hint=f"start a new run with `batchctl submit {job}`",
        )
    if not force:
        succeeded = [
            e.run_id
            for e in related_runs(aws, names, job=job, run_id=run_id, max_names=max_names)
            if e.status == "SUCCEEDED"
        ]
        if succeeded:
            already = (
                f"run {run_id!r} of job {job!r} was already retried successfully: {', '.join(succeeded)}"
            )
            if confirm is None:
                raise ConfirmationRequiredError(
                    already, hint="rerun with --force to start another run anyway"
                )
            confirm(f"{already}. Start another run?")
    # A redrive restarts the execution at the state that failed. When our workflow caught a step's error it ends in
    # its Fail state, so a redrive would only fail there again: such runs (error "batchctl.*") get a new execution.
    # Redrive helps where the execution stopped mid-way: ABORTED, TIMED_OUT or an uncaught error.
    caught = (execution.error or "").startswith(asl.RUN_ERROR_PREFIX)
    if execution.redrivable and not caught:
        try:
            aws.call("stepfunctions", "redrive_execution", key=execution.arn, executionArn=execution.arn)
            return RetryResult(job=job, retried=run_id, run_id=run_id, redriven=True)
        except AwsError as exc:
            if exc.code != "ExecutionNotRedrivable":
                raise
            log.debug("run %s is not redrivable after all: %s", run_id, exc.message)
    input_text = execution.input_text if execution.input_text is not None else "{}"
    for attempt in range(1, max_names + 1):
        name = retry_name(run_id, attempt)
        try:
            # A running execution with this name and input answers with itself: that retry is already going.
            start_execution(aws, names, job=job, name=name, input_text=input_text)
        except AwsError as exc:
            if exc.code == "ExecutionAlreadyExists":
                continue
            raise
        return RetryResult(job=job, retried=run_id, run_id=name, redriven=False)
    raise RunError(
        f"run {run_id!r} already has {max_names} retries", hint="start a new run with `batchctl submit`"
    )
