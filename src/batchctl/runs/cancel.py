"""Cancelling runs: stop each execution, terminate its Batch jobs in every state (array children included), and wait
until all of them are terminal. Imports: aws, errors, runs.executions, runs.batchjobs, stdlib."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from batchctl.aws import Aws
from batchctl.errors import AwsError
from batchctl.runs.batchjobs import BatchJob, array_children, batch_jobs_from_history, describe_batch_jobs
from batchctl.runs.executions import RUNNING_STATUSES, Execution, describe_execution, execution_history

__all__ = [
    "CANCEL_ERROR",
    "DEFAULT_REASON",
    "TERMINAL_BATCH_STATUSES",
    "CancelResult",
    "cancel_runs",
    "running_executions",
]

log = logging.getLogger(__name__)

CANCEL_ERROR = "batchctl.Cancelled"  # the error a cancelled execution ends with
DEFAULT_REASON = "cancelled with batchctl cancel"
TERMINAL_BATCH_STATUSES = frozenset({"SUCCEEDED", "FAILED", "UNKNOWN"})  # UNKNOWN: Batch has forgotten it


@dataclass(frozen=True, slots=True)
class CancelResult:
    """One run after `cancel`: the execution's status and each of its Batch jobs (children of arrays included)."""

    job: str
    run_id: str
    status: str
    batch_jobs: tuple[BatchJob, ...] = ()

    @property
    def stopped(self) -> bool:
        return self.status not in RUNNING_STATUSES and all(
            job.status in TERMINAL_BATCH_STATUSES for job in self.batch_jobs
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "job": self.job,
            "run_id": self.run_id,
            "status": self.status,
            "stopped": self.stopped,
            "batch_jobs": [job.to_dict() for job in self.batch_jobs],
        }


def running_executions(aws: Aws, arn: str, *, job: str) -> list[Execution]:
    """The RUNNING executions of one state machine, newest first."""
    found: list[Execution] = []
    for page in aws.pages(
        "stepfunctions", "list_executions", key=arn, stateMachineArn=arn, statusFilter="RUNNING"
    ):
        found.extend(
            describe_execution(aws, str(item["executionArn"]), job=job) for item in page.get("executions", [])
        )
    return found


def _stop(aws: Aws, execution: Execution, reason: str) -> None:
    try:
        aws.call(
            "stepfunctions",
            "stop_execution",
            key=execution.arn,
            executionArn=execution.arn,
            error=CANCEL_ERROR,
            cause=reason,
        )
    except AwsError as exc:
        if exc.code != "ExecutionDoesNotExist":
            raise


def _terminate(aws: Aws, jobs: Sequence[BatchJob], reason: str) -> None:
    # TerminateJob, not CancelJob: CancelJob leaves a job that is already STARTING or RUNNING running.
    for job in jobs:
        if job.status in TERMINAL_BATCH_STATUSES:
            continue
        try:
            aws.call("batch", "terminate_job", key=job.job_id, jobId=job.job_id, reason=reason)
        except AwsError as exc:
            if exc.code != "ClientException":  # a job Batch no longer knows: nothing left to stop
                raise
            log.debug("Batch job %s not terminated: %s", job.job_id, exc.message)


def cancel_runs(
    aws: Aws,
    executions: Sequence[Execution],
    *,
    reason: str = DEFAULT_REASON,
    timeout_s: float = 300.0,
    poll_s: float = 2.0,
) -> list[CancelResult]:
    """Stop each running execution first (so its workflow submits nothing more), then terminate every Batch job it
    submitted that has not ended, array children one by one; then poll until the executions and all their jobs are
    terminal or `timeout_s` has passed. Runs already finished are returned as they are."""
    going = [execution for execution in executions if execution.status in RUNNING_STATUSES]
    submitted: dict[str, list[tuple[str | None, str]]] = {}
    for execution in going:
        _stop(aws, execution, reason)
        # Read after the stop: a stopped execution submits no further job.
        pairs = batch_jobs_from_history(execution_history(aws, execution.arn))
        described = describe_batch_jobs(aws, pairs) if pairs else []
        children = array_children(described)
        _terminate(aws, [*described, *(describe_batch_jobs(aws, children) if children else [])], reason)
        submitted[execution.arn] = [*pairs, *children]
    deadline = aws.clock() + timeout_s
    while True:
        results = [_current(aws, execution, submitted.get(execution.arn)) for execution in executions]
        if all(result.stopped for result in results) or aws.clock() >= deadline:
            return results
        aws.sleep(poll_s)


def _current(aws: Aws, execution: Execution, jobs: list[tuple[str | None, str]] | None) -> CancelResult:
    if jobs is None:  # not ours to cancel: it had finished already
        return CancelResult(job=execution.job, run_id=execution.run_id, status=execution.status)
    now = describe_execution(aws, execution.arn, job=execution.job)
    return CancelResult(
        job=execution.job,
        run_id=execution.run_id,
        status=now.status,
        batch_jobs=tuple(describe_batch_jobs(aws, jobs)) if jobs else (),
    )
