"""Spot interruptions in the strict sandbox: Batch job attempts on SPOT / FARGATE_SPOT compute fail with the compute
type's statusReason, and retryStrategy (attempts, evaluateOnExit) decides what happens next."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from batchctl.sandbox import StrictOptions
from tests.integration.test_sandbox_strict import (
    job_queue,
    queue_status,
    started,
    strict,
    unique,
    valid_compute_environment,
    wait_for,
)

__all__ = ["strict"]  # module fixture, used by name

FARGATE_SPOT_REASON = "Your Spot Task was interrupted."
EC2_SPOT_REASON = re.compile(r"Host EC2 \(instance i-[0-9a-f]{17}\) terminated\.")


@pytest.fixture(scope="module")
def spot() -> Iterator[Callable[[str], Any]]:
    """A strict sandbox where every spot attempt is interrupted."""
    yield from started(StrictOptions(time_scale=0.05, spot_interruption_rate=1.0, seed=1))


def queue_on(aws: Any, kind: str) -> str:
    queue = job_queue(aws, valid_compute_environment(aws, kind=kind))
    wait_for(lambda: queue_status(aws, queue), lambda q: q.get("status") == "VALID")
    return queue


def run_job(aws: Any, queue: str, retry: dict[str, Any] | None = None) -> dict[str, Any]:
    batch = aws("batch")
    definition = batch.register_job_definition(
        jobDefinitionName=unique(),
        type="container",
        platformCapabilities=["FARGATE"],
        retryStrategy=retry or {"attempts": 1},
        containerProperties={
            "image": "busybox",
            "executionRoleArn": "arn:aws:iam::123456789012:role/exec",
            "resourceRequirements": [{"type": "VCPU", "value": "1"}, {"type": "MEMORY", "value": "2048"}],
        },
    )["jobDefinitionArn"]
    job_id = batch.submit_job(jobName="j", jobQueue=queue, jobDefinition=definition)["jobId"]
    described: dict[str, Any] = wait_for(
        lambda: batch.describe_jobs(jobs=[job_id])["jobs"][0],
        lambda j: j["status"] in ("SUCCEEDED", "FAILED"),
    )
    return described


def test_a_fargate_spot_job_is_interrupted_on_every_attempt(spot: Any) -> None:
    job = run_job(spot, queue_on(spot, "FARGATE_SPOT"), {"attempts": 3})

    assert job["status"] == "FAILED"
    assert job["statusReason"] == FARGATE_SPOT_REASON
    assert [a["statusReason"] for a in job["attempts"]] == [FARGATE_SPOT_REASON] * 3


def test_an_ec2_spot_job_is_interrupted_with_the_host_reason(spot: Any) -> None:
    job = run_job(spot, queue_on(spot, "SPOT"))

    assert job["status"] == "FAILED"
    assert EC2_SPOT_REASON.fullmatch(job["statusReason"])
    assert len(job["attempts"]) == 1


def test_evaluate_on_exit_can_stop_retrying_on_an_interruption(spot: Any) -> None:
    retry = {"attempts": 5, "evaluateOnExit": [{"onStatusReason": "Your Spot Task*", "action": "EXIT"}]}

    job = run_job(spot, queue_on(spot, "FARGATE_SPOT"), retry)

    assert job["status"] == "FAILED"
    assert len(job["attempts"]) == 1


def test_an_evaluate_on_exit_rule_that_does_not_match_retries(spot: Any) -> None:
    retry = {"attempts": 2, "evaluateOnExit": [{"onExitCode": "1", "action": "EXIT"}]}

    job = run_job(spot, queue_on(spot, "FARGATE_SPOT"), retry)

    assert len(job["attempts"]) == 2


def test_on_demand_fargate_is_never_interrupted(spot: Any) -> None:
    job = run_job(spot, queue_on(spot, "FARGATE"))

    assert job["status"] == "SUCCEEDED"
    assert "statusReason" not in job or job["statusReason"] != FARGATE_SPOT_REASON


def test_without_an_interruption_rate_spot_jobs_run_as_in_moto(strict: Any) -> None:
    assert run_job(strict, queue_on(strict, "FARGATE_SPOT"))["status"] == "SUCCEEDED"


def test_the_same_seed_interrupts_the_same_attempts() -> None:
    def outcomes() -> list[str]:
        server = started(StrictOptions(time_scale=0.05, spot_interruption_rate=0.5, seed=42))
        aws = next(server)
        try:
            queue = queue_on(aws, "FARGATE_SPOT")
            return [run_job(aws, queue)["status"] for _ in range(8)]
        finally:
            server.close()

    first = outcomes()

    assert first == outcomes()
    assert set(first) == {"SUCCEEDED", "FAILED"}
