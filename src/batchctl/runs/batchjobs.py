"""A run's Batch jobs: their ids from an execution's history, DescribeJobs in chunks, and why a job stays RUNNABLE
(its queue and compute environments checked against what it asks for). Imports: asl, aws, errors, stdlib."""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from batchctl import asl
from batchctl.aws import Aws, AwsDict
from batchctl.errors import AwsError

__all__ = [
    "STUCK_AFTER",
    "BatchJob",
    "ComputeEnvironmentView",
    "array_children",
    "batch_jobs_from_history",
    "describe_batch_jobs",
    "explain_if_allowed",
    "explain_stuck",
    "is_stuck",
    "log_streams_of",
    "stuck_reason",
]

log = logging.getLogger(__name__)

DESCRIBE_JOBS_CHUNK = 100  # DescribeJobs takes at most 100 ids
STUCK_AFTER = timedelta(minutes=3)
BATCH_TASK = "submitJob"
_RUN_STATE_PREFIX = asl.run_state_name("")


@dataclass(frozen=True, slots=True)
class BatchJob:
    """One Batch job of a run, as DescribeJobs shows it (status UNKNOWN once Batch has forgotten it)."""

    job_id: str
    step: str | None
    status: str = "UNKNOWN"
    status_reason: str | None = None
    created_at: datetime | None = None
    queue: str | None = None
    vcpus: float | None = None
    assign_public_ip: str | None = None
    log_stream: str | None = None
    array_size: int | None = None
    # Every attempt's stream, oldest first, then the current container's: a retried job writes each attempt to a
    # stream of its own, and the first attempt's output is what explains a retry.
    log_streams: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return {
            "job_id": self.job_id,
            "step": self.step,
            "status": self.status,
            "status_reason": self.status_reason,
            "log_stream": self.log_stream,
        }


def batch_jobs_from_history(events: Sequence[AwsDict]) -> list[tuple[str | None, str]]:
    """(step, Batch job id) of every Batch job the execution submitted, in order, from its history events."""
    found: list[tuple[str | None, str]] = []
    state: str | None = None
    for event in events:
        kind = str(event.get("type", ""))
        if kind == "TaskStateEntered":
            state = str(event.get("stateEnteredEventDetails", {}).get("name", ""))
            continue
        details_key = {
            "TaskSubmitted": "taskSubmittedEventDetails",
            "TaskSucceeded": "taskSucceededEventDetails",
            "TaskFailed": "taskFailedEventDetails",
        }.get(kind)
        if details_key is None:
            continue
        details = event.get(details_key, {})
        if details.get("resourceType") != "batch" or not str(details.get("resource", "")).startswith(
            BATCH_TASK
        ):
            continue
        # Submitted/succeeded carry the SubmitJob/DescribeJobs result as output; a failure carries it as cause.
        job_id = _job_id_of(details.get("output") or details.get("cause"))
        if job_id is None:
            continue
        step = state[len(_RUN_STATE_PREFIX) :] if state and state.startswith(_RUN_STATE_PREFIX) else state
        if all(known != job_id for _, known in found):
            found.append((step, job_id))
    return found


def _job_id_of(text: object) -> str | None:
    if not isinstance(text, str):
        return None
    try:
        document = json.loads(text)
    except json.JSONDecodeError:
        return None
    if isinstance(document, dict):
        job_id = document.get("JobId") or document.get("jobId")
        return str(job_id) if job_id else None
    return None


def _vcpus_of(container: AwsDict) -> float | None:
    for requirement in container.get("resourceRequirements", []) or []:
        if requirement.get("type") == "VCPU":
            try:
                return float(requirement["value"])
            except (KeyError, TypeError, ValueError):
                return None
    vcpus = container.get("vcpus")
    return float(vcpus) if isinstance(vcpus, int | float) else None


def _ms_to_datetime(value: object) -> datetime | None:
    return datetime.fromtimestamp(value / 1000, UTC) if isinstance(value, int | float) else None


def log_streams_of(item: AwsDict) -> tuple[str, ...]:
    """The log streams of one DescribeJobs item: each `attempts[].container.logStreamName`, oldest first, then the
    current `container.logStreamName` (the attempt still running has no entry in `attempts` yet)."""
    names: list[str] = []
    for attempt in item.get("attempts", []) or []:
        name = ((attempt or {}).get("container") or {}).get("logStreamName")
        if name:
            names.append(str(name))
    current = (item.get("container") or {}).get("logStreamName")
    if current:
        names.append(str(current))
    return tuple(dict.fromkeys(names))


def array_children(jobs: Sequence[BatchJob]) -> list[tuple[str | None, str]]:
    """(step, child id) of every child of the array jobs among `jobs`: Batch names them `<parent id>:<index>` for
    index 0..size-1. (ListJobs by arrayJobId returns only RUNNING children unless asked for a status, so it would
    miss the finished ones; the ids are known without it.)"""
    return [
        (job.step, f"{job.job_id}:{index}")
        for job in jobs
        if job.array_size and ":" not in job.job_id
        for index in range(job.array_size)
    ]


def describe_batch_jobs(aws: Aws, jobs: Sequence[tuple[str | None, str]]) -> list[BatchJob]:
    """DescribeJobs for (step, job id) pairs, 100 ids a call; ids Batch no longer knows come back UNKNOWN."""
    described: dict[str, AwsDict] = {}
    ids = list(dict.fromkeys(job_id for _, job_id in jobs))
    for start in range(0, len(ids), DESCRIBE_JOBS_CHUNK):
        chunk = ids[start : start + DESCRIBE_JOBS_CHUNK]
        answer = aws.call("batch", "describe_jobs", key=",".join(chunk[:3]), jobs=chunk)
        for item in answer.get("jobs", []):
            described[str(item["jobId"])] = item
    result: list[BatchJob] = []
    for step, job_id in jobs:
        item = described.get(job_id)
        if item is None:
            result.append(BatchJob(job_id=job_id, step=step))
            continue
        container = item.get("container", {}) or {}
        network = container.get("networkConfiguration", {}) or {}
        array = item.get("arrayProperties", {}) or {}
        result.append(
            BatchJob(
                job_id=job_id,
                step=step,
                status=str(item.get("status", "UNKNOWN")),
                status_reason=item.get("statusReason"),
                created_at=_ms_to_datetime(item.get("createdAt")),
                queue=item.get("jobQueue"),
                vcpus=_vcpus_of(container),
                assign_public_ip=network.get("assignPublicIp"),
                log_stream=container.get("logStreamName"),
                array_size=array.get("size"),
                log_streams=log_streams_of(item),
            )
        )
    return result


# ---- why a job stays RUNNABLE -------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ComputeEnvironmentView:
    """What matters about a compute environment when a job cannot be placed."""

    name: str
    state: str
    status: str
    status_reason: str | None = None
    type: str | None = None  # EC2 | SPOT | FARGATE | FARGATE_SPOT (None when unmanaged)
    max_vcpus: int | None = None
    subnets: tuple[str, ...] = ()

    @property
    def is_fargate(self) -> bool:
        return (self.type or "").startswith("FARGATE")

    @property
    def is_usable(self) -> bool:
        return self.state == "ENABLED" and self.status in {"VALID", "UPDATING"}


def stuck_reason(
    *,
    job_vcpus: float | None,
    queue_name: str,
    queue_state: str | None,
    queue_status: str | None,
    queue_status_reason: str | None,
    environments: Sequence[ComputeEnvironmentView],
    assign_public_ip: str | None,
    public_subnets: frozenset[str],
) -> str | None:
    """Why a Batch job cannot leave RUNNABLE, from its queue and compute environments; None if nothing explains it."""
    if queue_state == "DISABLED":
        return f"job queue {queue_name} is DISABLED: it places no jobs"
    if queue_status == "INVALID":
        return f"job queue {queue_name} is INVALID: {queue_status_reason or 'no reason given'}"
    if not environments:
        return f"job queue {queue_name} has no compute environment"
    usable = [env for env in environments if env.is_usable]
    if not usable:
        reasons = []
        for env in environments:
            if env.status == "INVALID":
                reasons.append(
                    f"compute environment {env.name} is INVALID: {env.status_reason or 'no reason given'}"
                )
            elif env.state != "ENABLED":
                reasons.append(f"compute environment {env.name} is {env.state}")
            else:
                reasons.append(f"compute environment {env.name} is {env.status}")
        return "; ".join(reasons)
    if job_vcpus is not None:
        limited = [env for env in usable if env.max_vcpus is not None and env.max_vcpus < job_vcpus]
        if len(limited) == len(usable):
            env = limited[0]
            return (
                f"the job asks for {job_vcpus:g} vCPUs but compute environment {env.name} allows at most "
                f"{env.max_vcpus} (compute.max_vcpus in jobs.yaml)"
            )
    fargate = [env for env in usable if env.is_fargate]
    if fargate and len(fargate) == len(usable) and assign_public_ip != "ENABLED":
        # AWS-QUIRKS 17: without a public IP a Fargate task in a public subnet (no NAT) cannot pull its image.
        cut_off = [env for env in fargate if env.subnets and set(env.subnets) <= public_subnets]
        if len(cut_off) == len(fargate):
            return (
                f"compute environment {cut_off[0].name} runs Fargate tasks in public subnets "
                f"({', '.join(cut_off[0].subnets)}) without a public IP (assignPublicIp "
                f"{assign_public_ip or 'DISABLED'}), so they cannot reach ECR to pull the image"
            )
    return None


def _public_subnets(aws: Aws, subnets: Sequence[str]) -> frozenset[str]:
    """The subnets whose route table sends 0.0.0.0/0 to an internet gateway."""
    if not subnets:
        return frozenset()
    described = aws.call("ec2", "describe_subnets", key=",".join(subnets), SubnetIds=list(subnets))
    vpc_of = {str(s["SubnetId"]): str(s["VpcId"]) for s in described.get("Subnets", [])}
    tables = aws.call(
        "ec2",
        "describe_route_tables",
        key=",".join(sorted(set(vpc_of.values()))),
        Filters=[{"Name": "vpc-id", "Values": sorted(set(vpc_of.values()))}],
    ).get("RouteTables", [])

    def is_public(table: AwsDict) -> bool:
        return any(
            route.get("DestinationCidrBlock") == "0.0.0.0/0"
            and str(route.get("GatewayId", "")).startswith("igw-")
            for route in table.get("Routes", [])
        )

    explicit: dict[str, AwsDict] = {}
    main_of_vpc: dict[str, AwsDict] = {}
    for table in tables:
        for association in table.get("Associations", []):
            if association.get("Main"):
                main_of_vpc[str(table.get("VpcId"))] = table
            elif association.get("SubnetId"):
                explicit[str(association["SubnetId"])] = table
    public = set()
    for subnet, vpc in vpc_of.items():
        # A subnet without an explicit association uses its VPC's main route table.
        table = explicit.get(subnet) or main_of_vpc.get(vpc)
        if table is not None and is_public(table):
            public.add(subnet)
    return frozenset(public)


def explain_stuck(aws: Aws, job: BatchJob) -> str | None:
    """Why a Batch job stays RUNNABLE: its queue and compute environments, checked against what it asks for."""
    if not job.queue:
        return None
    queues = aws.call("batch", "describe_job_queues", key=job.queue, jobQueues=[job.queue]).get(
        "jobQueues", []
    )
    if not queues:
        return f"job queue {job.queue} does not exist"
    queue = queues[0]
    order = sorted(queue.get("computeEnvironmentOrder", []), key=lambda item: int(item.get("order", 0)))
    arns = [str(item["computeEnvironment"]) for item in order]
    environments: list[ComputeEnvironmentView] = []
    if arns:
        described = aws.call(
            "batch", "describe_compute_environments", key=",".join(arns), computeEnvironments=arns
        ).get("computeEnvironments", [])
        for env in described:
            resources = env.get("computeResources", {}) or {}
            environments.append(
                ComputeEnvironmentView(
                    name=str(env.get("computeEnvironmentName")),
                    state=str(env.get("state", "")),
                    status=str(env.get("status", "")),
                    status_reason=env.get("statusReason"),
                    type=resources.get("type"),
                    max_vcpus=resources.get("maxvCpus"),
                    subnets=tuple(resources.get("subnets", []) or []),
                )
            )
    public: frozenset[str] = frozenset()
    if job.assign_public_ip != "ENABLED":
        fargate_subnets = sorted({s for env in environments if env.is_fargate for s in env.subnets})
        public = _public_subnets(aws, fargate_subnets)
    return stuck_reason(
        job_vcpus=job.vcpus,
        queue_name=str(queue.get("jobQueueName", job.queue)),
        queue_state=queue.get("state"),
        queue_status=queue.get("status"),
        queue_status_reason=queue.get("statusReason"),
        environments=environments,
        assign_public_ip=job.assign_public_ip,
        public_subnets=public,
    )


def is_stuck(job: BatchJob, now: datetime) -> bool:
    return job.status == "RUNNABLE" and job.created_at is not None and now - job.created_at >= STUCK_AFTER


def explain_if_allowed(aws: Aws, job: BatchJob) -> str | None:
    """explain_stuck, as a best effort: a caller without Batch/EC2 read access still gets its run's status."""
    try:
        return explain_stuck(aws, job)
    except AwsError as exc:
        log.debug("cannot explain why %s is stuck: %s", job.job_id, exc.message)
        return None
