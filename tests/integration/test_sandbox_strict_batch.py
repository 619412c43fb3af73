"""The strict sandbox refuses Batch requests AWS refuses and moto accepts (job queue time limit actions, Fargate
job definitions), with Batch's ClientException, while the lenient sandbox still accepts them."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from tests.integration.test_sandbox_strict import (
    compute_environment,
    job_queue,
    lenient,
    refused,
    strict,
    unique,
    valid_compute_environment,
)

__all__ = ["lenient", "strict"]  # module fixtures, used by name

# Batch job queues: jobStateTimeLimitActions.

GOOD_ACTION = {
    "reason": "CAPACITY:INSUFFICIENT_INSTANCE_CAPACITY",
    "state": "RUNNABLE",
    "maxTimeSeconds": 600,
    "action": "CANCEL",
}


@pytest.fixture(scope="module")
def valid_ce(strict: Any) -> str:
    return valid_compute_environment(strict)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (
            {"reason": "TAKING_TOO_LONG"},
            "jobStateTimeLimitActions[0].reason must be one of CAPACITY:INSUFFICIENT_INSTANCE_CAPACITY, "
            "MISCONFIGURATION:COMPUTE_ENVIRONMENT_MAX_RESOURCE, MISCONFIGURATION:JOB_RESOURCE_REQUIREMENT",
        ),
        (
            {"maxTimeSeconds": 599},
            "jobStateTimeLimitActions[0].maxTimeSeconds must be between 600 and 86400 seconds, got 599",
        ),
        (
            {"maxTimeSeconds": 86401},
            "jobStateTimeLimitActions[0].maxTimeSeconds must be between 600 and 86400 seconds, got 86401",
        ),
        ({"action": "TERMINATE"}, "jobStateTimeLimitActions[0].action must be CANCEL"),
        ({"state": "RUNNING"}, "jobStateTimeLimitActions[0].state must be RUNNABLE"),
    ],
    ids=["reason", "too-short", "too-long", "action", "state"],
)
def test_a_job_state_time_limit_action_outside_aws_values_is_refused(
    strict: Any, valid_ce: str, change: dict[str, Any], message: str
) -> None:
    actions = [GOOD_ACTION | change]

    assert refused(lambda: job_queue(strict, valid_ce, jobStateTimeLimitActions=actions)) == (
        "ClientException",
        message,
    )


def test_update_job_queue_checks_time_limit_actions_too(strict: Any, valid_ce: str) -> None:
    queue = job_queue(strict, valid_ce)
    actions = [GOOD_ACTION | {"maxTimeSeconds": 60}]

    code, _ = refused(
        lambda: strict("batch").update_job_queue(jobQueue=queue, jobStateTimeLimitActions=actions)
    )

    assert code == "ClientException"


@pytest.mark.parametrize(
    "reason",
    ["MISCONFIGURATION:COMPUTE_ENVIRONMENT_MAX_RESOURCE", "MISCONFIGURATION:JOB_RESOURCE_REQUIREMENT"],
)
def test_every_documented_reason_is_accepted(strict: Any, valid_ce: str, reason: str) -> None:
    actions = [GOOD_ACTION | {"reason": reason, "maxTimeSeconds": 86400}]
    queue = job_queue(strict, valid_ce, jobStateTimeLimitActions=actions)

    described = strict("batch").describe_job_queues(jobQueues=[queue])["jobQueues"][0]
    assert described["jobStateTimeLimitActions"] == actions


def test_the_lenient_sandbox_accepts_any_time_limit_reason(lenient: Any) -> None:
    ce = compute_environment(lenient)

    job_queue(
        lenient, ce, jobStateTimeLimitActions=[GOOD_ACTION | {"reason": "ANYTHING", "maxTimeSeconds": 5}]
    )


# Batch Fargate job definitions.

EXECUTION_ROLE = "arn:aws:iam::123456789012:role/exec"


def _fargate_definition(aws: Callable[[str], Any], vcpu: str, memory: str, **container: Any) -> Any:
    properties = {
        "image": "busybox",
        "executionRoleArn": EXECUTION_ROLE,
        "resourceRequirements": [{"type": "VCPU", "value": vcpu}, {"type": "MEMORY", "value": memory}],
    } | container
    return aws("batch").register_job_definition(
        jobDefinitionName=unique(),
        type="container",
        platformCapabilities=["FARGATE"],
        containerProperties=properties,
    )


@pytest.mark.parametrize(
    ("vcpu", "memory", "shown"),
    [
        ("1", "4000", "1.00 vCPU, 4000 MiB"),
        ("0.25", "4096", "0.25 vCPU, 4096 MiB"),
        ("8", "18432", "8.00 vCPU, 18432 MiB"),
        ("3", "8192", "3.00 vCPU, 8192 MiB"),
        ("16", "131072", "16.00 vCPU, 131072 MiB"),
    ],
)
def test_a_fargate_vcpu_memory_pair_aws_does_not_offer_is_refused(
    strict: Any, vcpu: str, memory: str, shown: str
) -> None:
    assert refused(lambda: _fargate_definition(strict, vcpu, memory)) == (
        "ClientException",
        f"Fargate resource requirements ({shown}) not valid.",
    )


@pytest.mark.parametrize(
    ("vcpu", "memory"),
    [
        ("0.25", "512"),
        ("0.25", "2048"),
        ("0.5", "4096"),
        ("1", "8192"),
        ("2", "16384"),
        ("4", "30720"),
        ("8", "16384"),
        ("8", "61440"),
        ("16", "32768"),
        ("16", "122880"),
    ],
)
def test_every_fargate_pair_at_the_edges_is_accepted(strict: Any, vcpu: str, memory: str) -> None:
    assert _fargate_definition(strict, vcpu, memory)["revision"] == 1


def test_a_fargate_job_definition_without_execution_role_is_refused(strict: Any) -> None:
    assert refused(lambda: _fargate_definition(strict, "1", "2048", executionRoleArn="")) == (
        "ClientException",
        "Fargate job definitions require containerProperties.executionRoleArn",
    )


def test_a_fargate_job_definition_with_ec2_vcpus_is_refused(strict: Any) -> None:
    assert refused(lambda: _fargate_definition(strict, "1", "2048", vcpus=1)) == (
        "ClientException",
        "containerProperties.vcpus is not supported on Fargate: use resourceRequirements VCPU and MEMORY",
    )


def test_an_unknown_platform_capability_is_refused(strict: Any) -> None:
    code, message = refused(
        lambda: strict("batch").register_job_definition(
            jobDefinitionName=unique(),
            type="container",
            platformCapabilities=["LAMBDA"],
            containerProperties={"image": "busybox", "vcpus": 1, "memory": 512},
        )
    )

    assert (code, message) == ("ClientException", "platformCapabilities LAMBDA must be one of EC2 | FARGATE")


def test_submit_job_overrides_are_checked_against_fargate_pairs(strict: Any, valid_ce: str) -> None:
    queue = job_queue(strict, valid_ce)
    definition = _fargate_definition(strict, "1", "2048")["jobDefinitionArn"]
    overrides = {"resourceRequirements": [{"type": "MEMORY", "value": "1024"}]}

    assert refused(
        lambda: strict("batch").submit_job(
            jobName="j", jobQueue=queue, jobDefinition=definition, containerOverrides=overrides
        )
    ) == ("ClientException", "Fargate resource requirements (1.00 vCPU, 1024 MiB) not valid.")


def test_the_lenient_sandbox_accepts_any_fargate_pair(lenient: Any) -> None:
    assert _fargate_definition(lenient, "1", "4000", executionRoleArn="")["revision"] == 1
