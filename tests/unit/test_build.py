"""build: what one jobs.yaml becomes, asserted on the exact values AWS receives (retry strategy, workflow, roles)."""

from __future__ import annotations

import re
from typing import Any

import pytest

from batchctl import asl, build
from batchctl.config import parse_config
from batchctl.naming import AwsContext
from batchctl.specs import JobDefinitionSpec, JobQueueSpec, RoleSpec, StateMachineSpec

CTX = AwsContext(account_id="123456789012", region="eu-west-1")
COMPUTE_TYPES = ("FARGATE_SPOT", "FARGATE", "SPOT", "EC2")


def project(*, compute_type: str = "FARGATE_SPOT", image: str = "", job: str = "") -> list[Any]:
    text = f"version: 1\nproject: demo\nstage: dev\ncompute: {{type: {compute_type}}}\n"
    text += f"image: {{uri: '{image}'}}\n" if image else ""
    text += "jobs:\n  hello:\n    command: [echo, hi]\n" + job
    return build.build_specs(parse_config(text), CTX, image_tag="abc123")


def only(specs: list[Any], kind: type[Any]) -> Any:
    (spec,) = [s for s in specs if isinstance(s, kind)]
    return spec


def execution_role(specs: list[Any]) -> RoleSpec:
    (role,) = [s for s in specs if isinstance(s, RoleSpec) and s.name.endswith("-execution")]
    return role


# ---- Spot reclaims (review 2) ---------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("compute_type", "rules"),
    [
        # Fargate Spot: ECS stops the task with "Your Spot Task was interrupted.", Batch's attempt statusReason.
        ("FARGATE_SPOT", ({"onStatusReason": "Your Spot Task was interrupted*", "action": "EXIT"},)),
        # EC2 (Spot or not): "Host EC2 (instance i-…) terminated." when the instance goes away under the job.
        ("SPOT", ({"onStatusReason": "Host EC2*", "action": "EXIT"},)),
        ("EC2", ({"onStatusReason": "Host EC2*", "action": "EXIT"},)),
        ("FARGATE", ()),
    ],
)
def test_batch_exits_on_the_compute_types_own_reclaim_reason(
    compute_type: str, rules: tuple[dict[str, str], ...]
) -> None:
    definition: JobDefinitionSpec = only(project(compute_type=compute_type), JobDefinitionSpec)
    assert definition.evaluate_on_exit == rules
    # Anything else is retried by Batch: retries (default 1) + 1 attempts.
    assert definition.retry_attempts == 2


@pytest.mark.parametrize("compute_type", COMPUTE_TYPES)
def test_exit_patterns_use_only_what_batch_accepts(compute_type: str) -> None:
    # EvaluateOnExit.onStatusReason: up to 512 characters; letters, numbers, periods, colons and white space;
    # optionally one `*` at the very end.
    definition: JobDefinitionSpec = only(project(compute_type=compute_type), JobDefinitionSpec)
    assert len(definition.evaluate_on_exit) <= 5
    for rule in definition.evaluate_on_exit:
        assert re.fullmatch(r"[A-Za-z0-9.: \t]{1,511}\*?", rule["onStatusReason"]), rule


@pytest.mark.parametrize("compute_type", COMPUTE_TYPES)
def test_the_workflow_resubmits_on_what_the_job_definition_exits_on(compute_type: str) -> None:
    specs = project(compute_type=compute_type)
    definition: JobDefinitionSpec = only(specs, JobDefinitionSpec)
    states = only(specs, StateMachineSpec).definition["States"]
    exits = tuple(rule["onStatusReason"] for rule in definition.evaluate_on_exit)
    assert exits == asl.reclaim_reasons(compute_type)
    # A reclaim loop exists exactly where Batch hands reclaims to the workflow.
    assert ("Check main reclaim" in states) == bool(exits)


# ---- timeouts (review 5) ---------------------------------------------------------------------------------------
def test_batch_bounds_each_job_and_the_workflow_waits_for_it() -> None:
    job = "    timeout_s: 900\n    retries: 2\n    array_size: 500\n"
    specs = project(job=job)
    definition: JobDefinitionSpec = only(specs, JobDefinitionSpec)
    assert (definition.timeout_s, definition.retry_attempts) == (900, 3)  # Batch ends each attempt
    queue = only(specs, JobQueueSpec)
    assert queue.runnable_timeout_s == 1800  # ... and cancels a job AWS says it cannot place
    states = only(specs, StateMachineSpec).definition["States"]
    assert "TimeoutSeconds" not in states["Run main"]


# ---- the execution role pulls the image jobs really use (review 3) ---------------------------------------------
def pull_resources(role: RoleSpec) -> list[str]:
    return sorted(
        resource
        for statement in role.inline_policies["execution"]["Statement"]
        if any(action.startswith("ecr:") for action in statement["Action"])
        for resource in statement["Resource"]
    )


def test_a_built_image_is_pulled_from_the_stages_repository() -> None:
    specs = project()
    assert (
        only(specs, JobDefinitionSpec).image == "123456789012.dkr.ecr.eu-west-1.amazonaws.com/demo-dev:abc123"
    )
    assert pull_resources(execution_role(specs)) == [
        "*",
        "arn:aws:ecr:eu-west-1:123456789012:repository/demo-dev",
    ]


def test_an_image_uri_in_another_account_is_pulled_from_its_own_repository() -> None:
    uri = "210987654321.dkr.ecr.us-west-2.amazonaws.com/platform/base:2024.05"
    specs = project(image=uri)
    assert only(specs, JobDefinitionSpec).image == uri
    assert pull_resources(execution_role(specs)) == [
        "*",
        "arn:aws:ecr:us-west-2:210987654321:repository/platform/base",
    ]


def test_an_image_outside_ecr_gets_no_ecr_grant() -> None:
    specs = project(image="ghcr.io/acme/tools:1.2")
    assert pull_resources(execution_role(specs)) == []
