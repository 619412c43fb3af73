"""What an app needs to reach a stage's jobs: each job's queue URL and ARN, state machine ARN, and the topic ARN.

Imports: config, naming, specs, aws, errors. The ARNs follow from names (naming.py); a queue's URL is what SQS
answers (GetQueueUrl, or what a plan's read already found), since its form depends on the endpoint.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

from batchctl.aws import Aws
from batchctl.config import JobsFile
from batchctl.errors import AwsError
from batchctl.naming import Names
from batchctl.specs import Key, Kind, Observed

QUEUE_NOT_FOUND = frozenset({"AWS.SimpleQueueService.NonExistentQueue", "QueueDoesNotExist"})


@dataclass(frozen=True, slots=True)
class JobEndpoints:
    """One job's endpoints; the queue's are None without `queue:`, its URL also while the queue does not exist."""

    job: str
    state_machine_arn: str
    topic_arn: str | None
    queue_name: str | None = None
    queue_arn: str | None = None
    queue_url: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "job": self.job,
            "queue_url": self.queue_url,
            "queue_arn": self.queue_arn,
            "state_machine_arn": self.state_machine_arn,
            "topic_arn": self.topic_arn,
        }


def expected_endpoints(cfg: JobsFile, names: Names) -> list[JobEndpoints]:
    """Every job's endpoints as names give them (queue URLs still unknown), sorted by job."""
    topic = names.topic_arn if cfg.notify.topic else None
    found: list[JobEndpoints] = []
    for job in sorted(cfg.jobs):
        queue = names.queue(job) if cfg.jobs[job].queue is not None else None
        found.append(
            JobEndpoints(
                job=job,
                state_machine_arn=names.state_machine_arn(job),
                topic_arn=topic,
                queue_name=queue,
                queue_arn=names.queue_arn(queue) if queue else None,
            )
        )
    return found


def from_observed(cfg: JobsFile, names: Names, observed: Mapping[Key, Observed | None]) -> list[JobEndpoints]:
    """The endpoints with each queue's URL as a plan's read found it (None for a queue not created yet)."""
    endpoints = expected_endpoints(cfg, names)
    return [_with_url(e, _observed_url(observed, e.queue_name)) for e in endpoints]


def read_endpoints(aws: Aws, cfg: JobsFile, names: Names) -> list[JobEndpoints]:
    """The endpoints with each existing queue's URL (one GetQueueUrl per queue)."""
    return [_with_url(e, _queue_url(aws, e.queue_name)) for e in expected_endpoints(cfg, names)]


def env_lines(endpoints: Sequence[JobEndpoints]) -> list[str]:
    """`.env` lines: FIBONACCI_QUEUE_URL=…, FIBONACCI_QUEUE_ARN=…, FIBONACCI_STATE_MACHINE_ARN=…, TOPIC_ARN=…;
    unknown values are left out."""
    lines: list[str] = []
    for e in endpoints:
        prefix = env_prefix(e.job)
        for suffix, value in (
            ("QUEUE_URL", e.queue_url),
            ("QUEUE_ARN", e.queue_arn),
            ("STATE_MACHINE_ARN", e.state_machine_arn),
        ):
            if value:
                lines.append(f"{prefix}_{suffix}={value}")
    topic = next((e.topic_arn for e in endpoints if e.topic_arn), None)
    if topic:
        lines.append(f"TOPIC_ARN={topic}")
    return lines


def env_prefix(job: str) -> str:
    """A job's name as the start of an environment variable: `daily-report` → `DAILY_REPORT`."""
    return re.sub(r"[^A-Z0-9]", "_", job.upper())


def _with_url(endpoints: JobEndpoints, url: str | None) -> JobEndpoints:
    return replace(endpoints, queue_url=url) if url else endpoints


def _observed_url(observed: Mapping[Key, Observed | None], queue: str | None) -> str | None:
    seen = observed.get(Key(Kind.SQS_QUEUE, queue)) if queue else None
    return seen.outputs.get("url") if seen is not None else None


def _queue_url(aws: Aws, queue: str | None) -> str | None:
    if queue is None:
        return None
    try:
        return str(aws.call("sqs", "get_queue_url", key=f"sqs.queue/{queue}", QueueName=queue)["QueueUrl"])
    except AwsError as exc:
        if exc.code in QUEUE_NOT_FOUND:
            return None
        raise
