"""A job queue built elsewhere (compute.job_queue_arn): checked before a plan, never created, changed or deleted.

Imports: aws, errors. Batch accepts SubmitJob on a DISABLED or INVALID queue's ARN only to leave the job unplaced,
and a Fargate job definition never runs on EC2 capacity (nor the reverse), so a plan stops on either.
"""

from __future__ import annotations

from batchctl.aws import Aws
from batchctl.errors import PlanError
from batchctl.specs import AwsDict

FARGATE = frozenset({"FARGATE", "FARGATE_SPOT"})
WHERE = "compute.job_queue_arn"


def check_shared_job_queue(aws: Aws, *, arn: str, compute_type: str, vcpus: float = 0) -> None:
    """Raise PlanError unless the queue exists, is ENABLED and VALID, runs `compute_type`'s platform, and one of its
    compute environments can ever give `vcpus` (the most any step asks for)."""
    ctx = aws.context()
    account = arn.split(":")[4]
    if account != ctx.account_id:
        raise PlanError(
            f"{WHERE}: {arn} belongs to account {account}, and this stage deploys to {ctx.account_id}",
            hint="Batch submits jobs only to a queue of the same account: use a queue of this account",
        )
    found: list[AwsDict] = aws.call(
        "batch", "describe_job_queues", key=f"batch.job_queue/{arn}", jobQueues=[arn]
    ).get("jobQueues", [])
    queue = next((q for q in found if q.get("jobQueueArn") == arn), None)
    if queue is None or queue.get("status") == "DELETED":
        raise PlanError(
            f"{WHERE}: job queue {arn} does not exist in {ctx.region}",
            hint="check the ARN (aws batch describe-job-queues lists the queues of this region)",
        )
    state, status = queue.get("state"), queue.get("status")
    if state != "ENABLED" or status != "VALID":
        raise PlanError(
            f"{WHERE}: job queue {arn} is {state}/{status}; jobs submitted to it would never run",
            hint="enable it and fix what made it invalid where it was built; batchctl never changes it",
        )
    environments = [str(e["computeEnvironment"]) for e in queue.get("computeEnvironmentOrder") or []]
    described: list[AwsDict] = (
        aws.call(
            "batch",
            "describe_compute_environments",
            key=f"batch.job_queue/{arn}",
            computeEnvironments=environments,
        ).get("computeEnvironments", [])
        if environments
        else []
    )
    types = {str((e.get("computeResources") or {}).get("type", "")) for e in described}
    wanted_fargate = compute_type in FARGATE
    if types and all((t in FARGATE) != wanted_fargate for t in types):
        raise PlanError(
            f"{WHERE}: job queue {arn} runs {', '.join(sorted(types))} compute environments, and compute.type "
            f"is {compute_type}: its job definitions would never be placed there",
            hint="set compute.type to the platform of the queue's compute environments",
        )
    largest = max((int((e.get("computeResources") or {}).get("maxvCpus", 0)) for e in described), default=0)
    if described and vcpus > largest:
        raise PlanError(
            f"{WHERE}: a step asks for {vcpus:g} vCPUs, and the job queue's compute environments give at most "
            f"{largest}: it could never be placed",
            hint="ask for fewer vCPUs in jobs.yaml, or use a queue with larger compute environments",
        )
