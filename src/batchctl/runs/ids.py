"""Run ids a person types: the full id (the execution name) or a unique prefix of it, looked up across the jobs'
workflows. Imports: aws, naming, errors, runs.executions, stdlib."""

from __future__ import annotations

from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor

from batchctl.aws import Aws
from batchctl.errors import AwsError, RunError, UsageError
from batchctl.naming import Names
from batchctl.runs.executions import MAX_PARALLEL_CALLS, Execution, describe_execution, describe_run

__all__ = ["LISTED_PER_JOB", "resolve_run"]

# How many of each job's newest runs a prefix is matched against (one ListExecutions page).
LISTED_PER_JOB = 1000
SHOWN_MATCHES = 5


def _exact(aws: Aws, names: Names, job: str, run: str) -> Execution | None:
    try:
        return describe_run(aws, names, job=job, run_id=run)
    except RunError:
        return None


def _prefixed(aws: Aws, names: Names, job: str, prefix: str, limit: int) -> list[tuple[str, str]]:
    """(job, execution ARN) of the job's newest `limit` runs whose id starts with `prefix`."""
    arn = names.state_machine_arn(job)
    try:
        answer = aws.call("stepfunctions", "list_executions", key=arn, stateMachineArn=arn, maxResults=limit)
    except AwsError as exc:
        if exc.code == "StateMachineDoesNotExist":
            return []
        raise
    return [
        (job, str(item["executionArn"]))
        for item in answer.get("executions", [])
        if str(item.get("name", "")).startswith(prefix)
    ]


def resolve_run(
    aws: Aws, names: Names, *, jobs: Sequence[str], run: str, listed_per_job: int = LISTED_PER_JOB
) -> Execution:
    """The run `run` names among `jobs`: the run with exactly that id, else the one run whose id starts with it
    (among each job's newest `listed_per_job`). None found is a RunError; a prefix of several runs is a UsageError
    naming some of them."""
    if not jobs:
        raise RunError("jobs.yaml has no jobs")
    if not run:
        raise UsageError("the run id is empty", hint="run ids are the RUN column of `batchctl status`")
    workers = max(1, min(MAX_PARALLEL_CALLS, len(jobs)))
    with ThreadPoolExecutor(max_workers=workers) as pool:
        exact = [found for found in pool.map(lambda job: _exact(aws, names, job, run), jobs) if found]
        if len(exact) == 1:
            return exact[0]
        if not exact:
            listed = pool.map(lambda job: _prefixed(aws, names, job, run, listed_per_job), jobs)
            matches = [pair for found in listed for pair in found]
        else:
            matches = [(found.job, found.arn) for found in exact]
    if not matches:
        raise RunError(
            f"no run {run!r} in any job of {names.prefix}",
            hint="run ids are the RUN column of `batchctl status` (a unique prefix will do)",
        )
    if len(matches) > 1:
        shown = ", ".join(f"{arn.rsplit(':', 1)[-1]} ({job})" for job, arn in matches[:SHOWN_MATCHES])
        more = f" and {len(matches) - SHOWN_MATCHES} more" if len(matches) > SHOWN_MATCHES else ""
        raise UsageError(
            f"run id {run!r} matches {len(matches)} runs: {shown}{more}",
            hint="give more of the id, or the whole id from `batchctl status`",
        )
    job, arn = matches[0]
    return describe_execution(aws, arn, job=job)
