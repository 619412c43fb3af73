"""IAM over everything `build_specs` generates (DESIGN §3, §8), for a Fargate and a Spot project with every optional
part on (queue, schedule, steps, secrets, job permissions, SNS, Lambdas): no wildcard action, `Resource: "*"` only for
policies.STAR_RESOURCE_ALLOWLIST, and each role trusted by exactly the one service that uses it (the state machine's
role by states, the pipe's by pipes, job definitions' roles by ecs-tasks, the instance profile's by ec2...).
tests/unit/test_policies.py checks the same rules on the policies module's functions one by one; here they hold for
what a real jobs.yaml turns into, role by role.

Every permission policy is also linted with parliament (duo-labs' IAM linter, PyPI `parliament`, in the dev extra),
with its community auditors on. It knows each action's resource types from the AWS Service Authorization Reference.
Its findings on our policies are three, each a false positive for our use, accepted explicitly below and proven to
come from exactly the one action named (removing the action removes the finding):
- RESOURCE_MISMATCH on batch:SubmitJob: the reference lists a `job` resource type beside job-definition and
  job-queue, but the `job` ARN only exists after submission (it serves tag-on-create conditions); AWS Batch's own
  guide ("Restrict to job definition ... on job submission") scopes SubmitJob with job-definition and job-queue ARNs.
- CREDENTIALS_EXPOSURE on ecr:GetAuthorizationToken: the execution role needs the registry login to pull the image
  (AWS's AmazonECSTaskExecutionRolePolicy grants it too).
- PERMISSIONS_MANAGEMENT_ACTIONS on logs:PutResourcePolicy: Step Functions' log delivery writes the log group's
  resource policy (AWS-QUIRKS 23; AWS's Step Functions logging policy grants it).
parliament lints identity policies only: a trust policy has no Resource, so it reports MALFORMED on every one of
them; trust policies are checked by the assertions here instead.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from parliament import analyze_policy_string

from batchctl import build, policies
from batchctl.config import parse_config
from batchctl.naming import AwsContext
from batchctl.specs import (
    InstanceProfileSpec,
    JobDefinitionSpec,
    PipeSpec,
    RoleSpec,
    ScheduleSpec,
    StateMachineSpec,
)
from tests.unit.test_config import FULL

CTX = AwsContext(account_id="123456789012", region="ap-northeast-1")
LAMBDAS = {
    "on_success_lambda: null": "on_success_lambda: arn:aws:lambda:ap-northeast-1:123456789012:function:ok",
    "on_failure_lambda: null": "on_failure_lambda: arn:aws:lambda:ap-northeast-1:123456789012:function:ko",
}


def project(compute_type: str) -> list[Any]:
    text = FULL.replace("type: FARGATE_SPOT", f"type: {compute_type}")
    for old, new in LAMBDAS.items():
        text = text.replace(old, new)
    return build.build_specs(parse_config(text), CTX)


PROJECTS = {"fargate": project("FARGATE"), "spot": project("SPOT")}
ROLES = {
    f"{label}/{spec.name}": spec
    for label, specs in PROJECTS.items()
    for spec in specs
    if isinstance(spec, RoleSpec)
}
POLICIES = {
    f"{label}/{name}": document
    for label, role in ROLES.items()
    for name, document in role.inline_policies.items()
}

# (issue, the one action that causes it) → why it is accepted; see the module docstring.
ACCEPTED = {
    ("RESOURCE_MISMATCH", "batch:SubmitJob"): "the job ARN exists only after submission",
    ("CREDENTIALS_EXPOSURE", "ecr:GetAuthorizationToken"): "the execution role logs in to ECR to pull",
    ("PERMISSIONS_MANAGEMENT_ACTIONS", "logs:PutResourcePolicy"): "Step Functions log delivery",
}


def as_list(value: str | list[str]) -> list[str]:
    return [value] if isinstance(value, str) else list(value)


def grants(document: dict[str, Any]) -> Iterator[tuple[str, str]]:
    for statement in document["Statement"]:
        assert statement["Effect"] == "Allow"
        assert "NotAction" not in statement
        assert "NotResource" not in statement
        for action in as_list(statement["Action"]):
            for resource in as_list(statement["Resource"]):
                yield action, resource


def lint(document: dict[str, Any]) -> set[str]:
    found = analyze_policy_string(json.dumps(document), include_community_auditors=True).findings
    return {finding.issue for finding in found}


def without(document: dict[str, Any], action: str) -> dict[str, Any]:
    """The document with one action taken out (statements left empty are dropped)."""
    statements = []
    for statement in document["Statement"]:
        actions = [a for a in as_list(statement["Action"]) if a != action]
        if actions:
            statements.append(statement | {"Action": actions})
    return document | {"Statement": statements}


def test_the_projects_have_every_kind_of_role() -> None:
    kinds = {label.rsplit("-", 1)[-1] for label in ROLES}
    assert kinds == {"execution", "instance", "job", "sfn", "pipe", "sched"}, kinds
    # Job roles without `permissions` and the instance role (a managed policy) have no inline policy.
    assert len(POLICIES) == 14, sorted(POLICIES)


@pytest.mark.parametrize("label", sorted(POLICIES))
def test_no_wildcard_action_and_star_resource_only_where_aws_has_no_resource(label: str) -> None:
    document = POLICIES[label]
    assert document["Version"] == "2012-10-17"
    for action, resource in grants(document):
        assert "*" not in action, action
        assert "?" not in action, action
        assert "*" not in resource or resource == "*" or resource.startswith("arn:"), resource
        if resource == "*":
            assert action in policies.STAR_RESOURCE_ALLOWLIST, (action, resource)
        else:
            assert resource.startswith(f"arn:{CTX.partition}:"), resource


@pytest.mark.parametrize("label", sorted(ROLES))
def test_every_role_is_trusted_only_by_the_service_that_uses_it(label: str) -> None:
    role = ROLES[label]
    specs = PROJECTS[label.split("/")[0]]
    arn = f"arn:aws:iam::{CTX.account_id}:role/{role.name}"
    users: set[str] = set()
    for spec in specs:
        if isinstance(spec, StateMachineSpec) and spec.role_arn == arn:
            users.add("states.amazonaws.com")
        elif isinstance(spec, PipeSpec) and spec.role_arn == arn:
            users.add("pipes.amazonaws.com")
        elif isinstance(spec, ScheduleSpec) and spec.role_arn == arn:
            users.add("scheduler.amazonaws.com")
        elif isinstance(spec, JobDefinitionSpec) and arn in (spec.job_role_arn, spec.execution_role_arn):
            users.add("ecs-tasks.amazonaws.com")
        elif isinstance(spec, InstanceProfileSpec) and spec.role_name == role.name:
            users.add("ec2.amazonaws.com")
    (statement,) = role.trust_policy["Statement"]
    assert statement == {
        "Effect": "Allow",
        "Principal": {"Service": statement["Principal"]["Service"]},
        "Action": "sts:AssumeRole",
    }
    assert users == {statement["Principal"]["Service"]}, (users, statement)


def test_job_and_execution_roles_are_distinct_per_job() -> None:
    """The job's own code gets its job role; only the execution role (used by the agent) reads secrets."""
    for specs in PROJECTS.values():
        definitions = [s for s in specs if isinstance(s, JobDefinitionSpec)]
        assert definitions
        for definition in definitions:
            assert definition.job_role_arn != definition.execution_role_arn
            job = definition.job_role_arn.rsplit("/", 1)[1]
            readers = [
                label
                for label, document in POLICIES.items()
                if label.startswith(f"fargate/{job}/") and "secretsmanager" in json.dumps(document)
            ]
            assert readers == []


@pytest.mark.parametrize("label", sorted(POLICIES))
def test_parliament_finds_nothing_but_the_accepted_false_positives(label: str) -> None:
    document = POLICIES[label]
    actions = {action for action, _ in grants(document)}
    unexplained = set()
    for issue in lint(document):
        causes = [action for (accepted, action) in ACCEPTED if accepted == issue and action in actions]
        if len(causes) != 1:
            unexplained.add(issue)
            continue
        # The finding is caused by that action and nothing else.
        assert issue not in lint(without(document, causes[0])), (label, issue, causes[0])
    assert unexplained == set(), (label, unexplained, json.dumps(document, indent=1))


def test_parliament_does_report_what_it_should() -> None:
    """Control: the linter is live and strict on a document we would never generate."""
    bad = {
        "Version": "2012-10-17",
        "Statement": [
            {"Effect": "Allow", "Action": "sqs:SendMessage", "Resource": "arn:aws:s3:::bucket/*"},
            {"Effect": "Allow", "Action": "iam:PassRole", "Resource": "*"},
        ],
    }
    assert {"RESOURCE_MISMATCH", "RESOURCE_STAR"} <= lint(bad)
