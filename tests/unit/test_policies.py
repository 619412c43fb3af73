"""policies: least-privilege IAM documents, and that each workflow role allows exactly what its ASL calls."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any

import pytest

from batchctl import asl, policies
from batchctl.naming import AwsContext, Names

NAMES = Names(project="demo", stage="dev", ctx=AwsContext(account_id="123456789012", region="eu-west-1"))
SECRET = "arn:aws:secretsmanager:eu-west-1:123456789012:secret:/demo/db"
SECRET_JSON_KEY = "arn:aws:secretsmanager:eu-west-1:123456789012:secret:/demo/api-Ab12Cd:token::"
PARAMETER = "arn:aws:ssm:eu-west-1:123456789012:parameter/demo/token"
OK_LAMBDA = "arn:aws:lambda:eu-west-1:123456789012:function:on-success"
KO_LAMBDA = "arn:aws:lambda:eu-west-1:123456789012:function:on-failure"
SYNC_RULE = "arn:aws:events:eu-west-1:123456789012:rule/StepFunctionsGetEventsForBatchJobsRule"
JOB_DEFINITIONS = [NAMES.job_definition_arn("etl", "extract"), NAMES.job_definition_arn("etl", "load")]
OTHER_ECR_IMAGE = "210987654321.dkr.ecr.us-west-2.amazonaws.com/platform/base-images:2024.05"


def workflow_policies(**overrides: Any) -> dict[str, Any]:
    arguments: dict[str, Any] = {
        "names": NAMES,
        "job_definition_arns": JOB_DEFINITIONS,
        "topic_arn": NAMES.topic_arn,
        "lambda_arns": [OK_LAMBDA, KO_LAMBDA],
        "log_group_arn": NAMES.log_group_arn(NAMES.state_machine_log_group("etl")),
    }
    return policies.state_machine_policies(**(arguments | overrides))


def all_documents() -> dict[str, dict[str, Any]]:
    """Every permission document we build, with and without the optional parts."""
    documents: dict[str, dict[str, Any]] = {}
    sets = {
        "job": policies.job_role_policies(permissions=[(["s3:GetObject"], ["arn:aws:s3:::demo-input/*"])]),
        "execution": policies.execution_role_policies(
            names=NAMES,
            image_uri=None,
            log_group_arns=[NAMES.log_group_arn(NAMES.log_group("etl"))],
            secret_arns=[SECRET, SECRET_JSON_KEY, PARAMETER],
        ),
        "execution-minimal": policies.execution_role_policies(
            names=NAMES, image_uri=None, log_group_arns=[], secret_arns=[]
        ),
        "execution-other-ecr": policies.execution_role_policies(
            names=NAMES, image_uri=OTHER_ECR_IMAGE, log_group_arns=[], secret_arns=[]
        ),
        "execution-not-ecr": policies.execution_role_policies(
            names=NAMES, image_uri="ghcr.io/acme/tools:1.2", log_group_arns=[], secret_arns=[]
        ),
        "workflow": workflow_policies(),
        "workflow-minimal": workflow_policies(topic_arn=None, lambda_arns=[], log_group_arn=None),
        "pipe": policies.pipe_policies(
            queue_arn=NAMES.queue_arn(NAMES.queue("etl")), state_machine_arn=NAMES.state_machine_arn("etl")
        ),
        "schedule": policies.schedule_policies(state_machine_arn=NAMES.state_machine_arn("etl")),
    }
    for label, documents_of_role in sets.items():
        for name, document in documents_of_role.items():
            documents[f"{label}/{name}"] = document
    return documents


def statements(document: dict[str, Any]) -> list[dict[str, Any]]:
    return list(document["Statement"])


def as_list(value: str | list[str]) -> list[str]:
    return [value] if isinstance(value, str) else list(value)


def iam_matches(pattern: str, value: str) -> bool:
    """IAM resource matching: `*` any run of characters, `?` one character, everything else literal."""
    regex = "".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in pattern)
    return re.fullmatch(regex, value) is not None


def allowed(document: dict[str, Any], action: str, resource: str) -> bool:
    return any(
        action in as_list(s["Action"]) and any(iam_matches(r, resource) for r in as_list(s["Resource"]))
        for s in statements(document)
        if s["Effect"] == "Allow"
    )


def grants(document: dict[str, Any]) -> Iterator[tuple[str, str]]:
    for s in statements(document):
        for action in as_list(s["Action"]):
            for resource in as_list(s["Resource"]):
                yield action, resource


# ---- rules for every document -------------------------------------------------------------------------------
@pytest.mark.parametrize("label", all_documents())
def test_documents_are_versioned_json_with_unique_sids(label: str) -> None:
    document = all_documents()[label]
    assert document["Version"] == "2012-10-17"
    assert json.loads(json.dumps(document)) == document
    sids = [s["Sid"] for s in statements(document)]
    assert len(sids) == len(set(sids))
    assert all(re.fullmatch(r"[A-Za-z0-9]+", sid) for sid in sids)  # IAM allows only alphanumerics in a Sid


@pytest.mark.parametrize("label", all_documents())
def test_no_wildcard_action(label: str) -> None:
    for action, _ in grants(all_documents()[label]):
        assert re.fullmatch(r"[a-z0-9-]+:[A-Za-z0-9]+", action), action


@pytest.mark.parametrize("label", all_documents())
def test_star_resource_only_for_allow_listed_actions(label: str) -> None:
    for action, resource in grants(all_documents()[label]):
        if resource == "*":
            assert action in policies.STAR_RESOURCE_ALLOWLIST, f"{action} on {resource}"


def test_every_allow_listed_action_is_used_and_explained() -> None:
    used = {action for document in all_documents().values() for action, r in grants(document) if r == "*"}
    assert used == policies.STAR_RESOURCE_ALLOWLIST
    assert all(policies.STAR_RESOURCE_REASONS[action] for action in policies.STAR_RESOURCE_ALLOWLIST)


def test_actions_and_resources_are_sorted_for_stable_diffs() -> None:
    for document in all_documents().values():
        for s in statements(document):
            assert s["Action"] == sorted(set(s["Action"]))
            assert s["Resource"] == sorted(set(s["Resource"]))


def test_workflow_policy_fits_the_inline_policy_quota_with_many_steps() -> None:
    many = [NAMES.job_definition_arn("etl", f"step-{i:02d}") for i in range(40)]
    document = workflow_policies(job_definition_arns=many)["workflow"]
    # IAM: at most 10,240 characters of inline policy per role (whitespace excluded).
    assert len(json.dumps(document, separators=(",", ":"))) < 10_240


# ---- trust policies -----------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "service",
    [
        "states.amazonaws.com",
        "ecs-tasks.amazonaws.com",
        "ec2.amazonaws.com",
        "pipes.amazonaws.com",
        "scheduler.amazonaws.com",
    ],
)
def test_trust_policy_names_exactly_one_service(service: str) -> None:
    document = policies.trust_policy(service)
    assert document["Version"] == "2012-10-17"
    (statement,) = statements(document)
    assert statement["Effect"] == "Allow"
    assert statement["Principal"] == {"Service": service}
    assert statement["Action"] == "sts:AssumeRole"


@pytest.mark.parametrize("service", ["*", "states.amazonaws.com,pipes.amazonaws.com", "states", ""])
def test_trust_policy_refuses_anything_but_one_service(service: str) -> None:
    with pytest.raises(ValueError, match="single AWS service"):
        policies.trust_policy(service)


# ---- the workflow role (AWS-QUIRKS 22, 23) ------------------------------------------------------------------
def test_sync_batch_statement() -> None:
    document = workflow_policies()["workflow"]
    by_sid = {s["Sid"]: s for s in statements(document)}
    assert by_sid["SubmitBatchJobs"]["Action"] == ["batch:SubmitJob"]
    assert set(by_sid["SubmitBatchJobs"]["Resource"]) == {
        NAMES.job_queue_arn,
        *JOB_DEFINITIONS,
        *(f"{arn}:*" for arn in JOB_DEFINITIONS),
    }
    assert by_sid["DescribeBatchJobs"] == {
        "Sid": "DescribeBatchJobs",
        "Effect": "Allow",
        "Action": ["batch:DescribeJobs"],
        "Resource": ["*"],
    }
    assert by_sid["TerminateBatchJobs"]["Resource"] == ["arn:aws:batch:eu-west-1:123456789012:job/*"]
    assert by_sid["BatchJobEvents"]["Action"] == [
        "events:DescribeRule",
        "events:PutRule",
        "events:PutTargets",
    ]
    assert by_sid["BatchJobEvents"]["Resource"] == [SYNC_RULE]


def test_submit_job_is_allowed_on_any_revision_but_not_other_definitions() -> None:
    document = workflow_policies()["workflow"]
    assert allowed(document, "batch:SubmitJob", JOB_DEFINITIONS[0] + ":7")
    assert not allowed(document, "batch:SubmitJob", NAMES.job_definition_arn("other", "x") + ":1")
    assert not allowed(document, "batch:SubmitJob", NAMES.ctx.arn("batch", "job-queue/someone-elses"))


def test_optional_workflow_statements() -> None:
    full = {s["Sid"] for s in statements(workflow_policies()["workflow"])}
    minimal = {
        s["Sid"]
        for s in statements(workflow_policies(topic_arn=None, lambda_arns=[], log_group_arn=None)["workflow"])
    }
    assert full - minimal == {"Notify", "CallHandlers", "DeliverLogs"}
    document = workflow_policies()["workflow"]
    assert allowed(document, "sns:Publish", NAMES.topic_arn)
    assert allowed(document, "lambda:InvokeFunction", OK_LAMBDA)
    assert allowed(document, "lambda:InvokeFunction", KO_LAMBDA + ":live")
    assert not allowed(document, "lambda:InvokeFunction", OK_LAMBDA + "-other")
    for action in policies.LOG_DELIVERY_ACTIONS:
        assert allowed(document, action, "*")


@pytest.mark.parametrize(
    ("topic", "success", "failure"),
    [(True, OK_LAMBDA, KO_LAMBDA), (False, None, None), (True, None, KO_LAMBDA), (False, OK_LAMBDA, None)],
)
def test_workflow_role_allows_everything_its_definition_calls(
    topic: bool, success: str | None, failure: str | None
) -> None:
    steps = [
        asl.WorkflowStep(name, NAMES.job_definition_arn("etl", name), None, 2) for name in ("extract", "load")
    ]
    topic_arn = NAMES.topic_arn if topic else None
    definition = asl.job_workflow(
        names=NAMES,
        job="etl",
        compute_type="FARGATE_SPOT",
        steps=steps,
        topic_arn=topic_arn,
        on_success_lambda=success,
        on_failure_lambda=failure,
    )
    document = workflow_policies(
        job_definition_arns=[s.job_definition_arn for s in steps],
        topic_arn=topic_arn,
        lambda_arns=[arn for arn in (success, failure) if arn],
    )["workflow"]
    for state in definition["States"].values():
        resource, parameters = state.get("Resource"), state.get("Parameters", {})
        if resource == "arn:aws:states:::batch:submitJob.sync":
            # Batch authorizes the revision it resolves the name to.
            definition_arn = NAMES.ctx.arn("batch", f"job-definition/{parameters['JobDefinition']}:3")
            assert allowed(document, "batch:SubmitJob", definition_arn)
            assert allowed(document, "batch:SubmitJob", parameters["JobQueue"])
            assert allowed(document, "batch:DescribeJobs", "*")
            assert allowed(document, "batch:TerminateJob", NAMES.ctx.arn("batch", "job/0a1b2c"))
            for action in ("events:PutTargets", "events:PutRule", "events:DescribeRule"):
                assert allowed(document, action, SYNC_RULE)
        elif resource == "arn:aws:states:::sns:publish":
            assert allowed(document, "sns:Publish", parameters["TopicArn"])
        elif resource == "arn:aws:states:::lambda:invoke":
            assert allowed(document, "lambda:InvokeFunction", parameters["FunctionName"])
        else:
            assert resource is None, f"no policy check for {resource}"


# ---- execution, job, pipe, schedule and instance roles ------------------------------------------------------
def test_execution_role_pulls_the_stage_image_and_writes_the_job_logs() -> None:
    group = NAMES.log_group_arn(NAMES.log_group("etl"))
    document = policies.execution_role_policies(
        names=NAMES, image_uri=None, log_group_arns=[group], secret_arns=[]
    )["execution"]
    for action in ("ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer", "ecr:BatchCheckLayerAvailability"):
        assert allowed(document, action, NAMES.repository_arn)
        assert not allowed(document, action, NAMES.ctx.arn("ecr", "repository/other"))
    assert allowed(document, "ecr:GetAuthorizationToken", "*")
    assert allowed(document, "logs:CreateLogStream", group)
    assert allowed(document, "logs:PutLogEvents", f"{group}:log-stream:main/default/abc")
    assert not allowed(
        document, "logs:PutLogEvents", NAMES.log_group_arn("/batchctl/demo/dev/other") + ":log-stream:x"
    )
    assert not [s for s in statements(document) if s["Sid"] in {"ReadSecrets", "ReadParameters"}]


def test_execution_role_reads_only_the_listed_secrets_split_by_service() -> None:
    document = policies.execution_role_policies(
        names=NAMES, image_uri=None, log_group_arns=[], secret_arns=[SECRET, SECRET_JSON_KEY, PARAMETER]
    )["execution"]
    # The full ARN of a secret named /demo/db ends in "-" and six random characters.
    assert allowed(document, "secretsmanager:GetSecretValue", SECRET + "-Xy12Ab")
    assert allowed(document, "secretsmanager:GetSecretValue", SECRET)
    # A reference with a JSON key names the secret before the key.
    assert allowed(document, "secretsmanager:GetSecretValue", SECRET_JSON_KEY.removesuffix(":token::"))
    assert not allowed(document, "secretsmanager:GetSecretValue", SECRET + "-admin-Xy12Ab")
    assert not allowed(document, "secretsmanager:GetSecretValue", PARAMETER)
    assert allowed(document, "ssm:GetParameters", PARAMETER)
    assert not allowed(document, "ssm:GetParameters", SECRET)


def test_execution_role_accepts_a_parameter_name() -> None:
    document = policies.execution_role_policies(
        names=NAMES, image_uri=None, log_group_arns=[], secret_arns=["/demo/token"]
    )["execution"]
    assert allowed(document, "ssm:GetParameters", PARAMETER)


def execution_document(image_uri: str) -> dict[str, Any]:
    return policies.execution_role_policies(
        names=NAMES, image_uri=image_uri, log_group_arns=[], secret_arns=[]
    )["execution"]


@pytest.mark.parametrize(
    ("image_uri", "repository_arn"),
    [
        (OTHER_ECR_IMAGE, "arn:aws:ecr:us-west-2:210987654321:repository/platform/base-images"),
        (
            "210987654321.dkr.ecr.eu-west-1.amazonaws.com/tools@sha256:" + "a1" * 32,
            "arn:aws:ecr:eu-west-1:210987654321:repository/tools",
        ),
        (
            "123456789012.dkr.ecr.eu-west-1.amazonaws.com/demo-prod:v3",  # promoted from another stage
            "arn:aws:ecr:eu-west-1:123456789012:repository/demo-prod",
        ),
        (
            "210987654321.dkr.ecr.cn-north-1.amazonaws.com.cn/app:1",
            "arn:aws-cn:ecr:cn-north-1:210987654321:repository/app",
        ),
        (
            "210987654321.dkr.ecr-fips.us-gov-west-1.amazonaws.com/app:1",
            "arn:aws-us-gov:ecr:us-gov-west-1:210987654321:repository/app",
        ),
        (
            "210987654321.dkr-ecr.ap-southeast-2.on.aws/team/app:latest",  # dual-stack endpoint
            "arn:aws:ecr:ap-southeast-2:210987654321:repository/team/app",
        ),
    ],
)
def test_execution_role_pulls_an_image_uri_from_its_own_repository(
    image_uri: str, repository_arn: str
) -> None:
    # review 3: the grant names the image's repository, whatever account, region and partition it is in.
    document = execution_document(image_uri)
    pull = [s for s in statements(document) if s["Sid"] == "PullImage"]
    assert pull == [
        {
            "Sid": "PullImage",
            "Effect": "Allow",
            "Action": sorted(policies.ECR_PULL_ACTIONS),
            "Resource": [repository_arn],
        }
    ]
    if repository_arn != NAMES.repository_arn:
        assert not allowed(document, "ecr:BatchGetImage", NAMES.repository_arn)
    assert allowed(document, "ecr:GetAuthorizationToken", "*")


@pytest.mark.parametrize(
    "image_uri",
    [
        "ghcr.io/acme/tools:1.2",
        "registry.example.com:5000/team/app@sha256:" + "b2" * 32,
        "busybox",
        "acme/worker:7",
        "public.ecr.aws/docker/library/python:3.12-slim",
        # Not a private ECR registry host, however similar.
        "123456789012.dkr.ecr.eu-west-1.amazonaws.com.example.net/app:1",
    ],
)
def test_execution_role_has_no_ecr_grant_for_an_image_outside_ecr(image_uri: str) -> None:
    document = execution_document(image_uri)
    assert [action for action, _ in grants(document) if action.startswith("ecr:")] == []


def test_ecr_repository_arn_of_private_ecr_references_only() -> None:
    assert policies.ecr_repository_arn(NAMES.repository_uri + ":abc") == NAMES.repository_arn
    assert policies.ecr_repository_arn("210987654321.dkr.ecr.us-west-2.amazonaws.com/") is None
    assert policies.ecr_repository_arn("public.ecr.aws/nginx/nginx:1") is None


def test_pull_note_for_a_registry_that_may_need_credentials() -> None:
    # review 3: `plan` can say that a private registry outside ECR needs repositoryCredentials.
    note = policies.image_pull_note("ghcr.io/acme/tools:1.2", account_id="123456789012")
    assert note is not None
    assert "ghcr.io/acme/tools:1.2" in note
    assert "repositoryCredentials" in note
    assert policies.image_pull_note("busybox", account_id="123456789012") is not None
    # Nothing to say where the execution role's grant is all it takes, or where every pull is anonymous.
    assert policies.image_pull_note(None, account_id="123456789012") is None
    assert policies.image_pull_note(NAMES.repository_uri + ":v1", account_id="123456789012") is None
    assert policies.image_pull_note("public.ecr.aws/nginx/nginx:1", account_id="123456789012") is None


def test_pull_note_for_an_image_in_another_account() -> None:
    note = policies.image_pull_note(OTHER_ECR_IMAGE, account_id="123456789012")
    assert note is not None
    assert "210987654321" in note
    assert "repository policy" in note
    assert "123456789012" in note


def test_job_role_holds_exactly_the_configured_permissions() -> None:
    assert policies.job_role_policies(permissions=[]) == {}
    documents = policies.job_role_policies(
        permissions=[
            (["s3:GetObject"], ["arn:aws:s3:::demo-input/*"]),
            (["sqs:SendMessage", "sqs:GetQueueUrl"], ["arn:aws:sqs:eu-west-1:123456789012:out"]),
        ]
    )
    assert list(documents) == ["job"]
    assert [(s["Action"], s["Resource"]) for s in statements(documents["job"])] == [
        (["s3:GetObject"], ["arn:aws:s3:::demo-input/*"]),
        (["sqs:GetQueueUrl", "sqs:SendMessage"], ["arn:aws:sqs:eu-west-1:123456789012:out"]),
    ]


@pytest.mark.parametrize("actions", [["*"], ["s3:GetObject", "*:*"]])
def test_job_role_never_grants_a_wildcard_action(actions: list[str]) -> None:
    with pytest.raises(ValueError, match="never granted"):
        policies.job_role_policies(permissions=[(actions, ["arn:aws:s3:::b/*"])])


def test_pipe_role_reads_its_queue_and_starts_its_workflow() -> None:
    queue = NAMES.queue_arn(NAMES.queue("etl"))
    machine = NAMES.state_machine_arn("etl")
    document = policies.pipe_policies(queue_arn=queue, state_machine_arn=machine)["pipe"]
    for action in ("sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:GetQueueAttributes"):
        assert allowed(document, action, queue)
        assert not allowed(document, action, NAMES.queue_arn(NAMES.dead_letter_queue("etl")))
    assert allowed(document, "states:StartExecution", machine)
    assert not allowed(document, "states:StartExecution", NAMES.state_machine_arn("other"))


def test_schedule_role_starts_only_its_workflow() -> None:
    machine = NAMES.state_machine_arn("etl")
    document = policies.schedule_policies(state_machine_arn=machine)["schedule"]
    assert list(grants(document)) == [("states:StartExecution", machine)]


def test_instance_role_managed_policy_follows_the_partition() -> None:
    assert policies.instance_role_managed_policies(NAMES) == (policies.INSTANCE_ROLE_MANAGED_POLICY,)
    china = Names(project="demo", stage="dev", ctx=AwsContext("123456789012", "cn-north-1", "aws-cn"))
    assert policies.instance_role_managed_policies(china) == (
        "arn:aws-cn:iam::aws:policy/service-role/AmazonEC2ContainerServiceforEC2Role",
    )
