"""The strict sandbox enforces service roles: the Step Functions executor and the pipe relay act with their role, and
a call its policies do not allow fails as on AWS (AccessDenied into the execution; CREATE_FAILED pipe)."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import Any

from tests.integration.test_sandbox_relay import allow
from tests.integration.test_sandbox_strict import (
    IAM_WAIT_S,
    role,
    started,
    strict,
    unique,
    valid_compute_environment,
    wait_for,
)

__all__ = ["strict"]  # a module fixture, used by name

Aws = Callable[[str], Any]


def machine(aws: Aws, definition: dict[str, Any], policy: str | None) -> str:
    """A state machine whose (settled) role has the inline `policy` (none if None)."""
    role_arn = role(aws, "states.amazonaws.com")
    if policy is not None:
        aws("iam").put_role_policy(RoleName=role_arn.rsplit("/", 1)[1], PolicyName="p", PolicyDocument=policy)
    arn: str = aws("stepfunctions").create_state_machine(
        name=unique(), definition=json.dumps(definition), roleArn=role_arn
    )["stateMachineArn"]
    return arn


def finished(aws: Aws, machine_arn: str) -> dict[str, Any]:
    sfn = aws("stepfunctions")
    execution = sfn.start_execution(stateMachineArn=machine_arn, input="{}")["executionArn"]
    done: dict[str, Any] = wait_for(
        lambda: sfn.describe_execution(executionArn=execution), lambda e: e["status"] != "RUNNING", 60
    )
    return done


def publish(topic_arn: str) -> dict[str, Any]:
    task = {
        "Type": "Task",
        "Resource": "arn:aws:states:::sns:publish",
        "Parameters": {"TopicArn": topic_arn, "Message": "done"},
        "End": True,
    }
    return {"StartAt": "Publish", "States": {"Publish": task}}


def test_an_execution_whose_role_may_not_publish_fails_with_access_denied(strict: Aws) -> None:
    topic = strict("sns").create_topic(Name=unique())["TopicArn"]
    other = strict("sns").create_topic(Name=unique())["TopicArn"]

    denied = finished(strict, machine(strict, publish(topic), allow(("sns:Publish", other))))
    allowed = finished(strict, machine(strict, publish(topic), allow(("sns:Publish", topic))))

    assert denied["status"] == "FAILED"
    assert "AuthorizationError" in denied.get("error", "") + denied.get("cause", "")
    assert f"is not authorized to perform: sns:Publish on resource: {topic}" in denied["cause"]
    assert allowed["status"] == "SUCCEEDED"


def test_an_explicit_deny_wins_over_an_allow(strict: Aws) -> None:
    topic = strict("sns").create_topic(Name=unique())["TopicArn"]
    policy = json.loads(allow(("sns:*", "*")))
    policy["Statement"].append({"Effect": "Deny", "Action": "SNS:Publish", "Resource": topic})

    done = finished(strict, machine(strict, publish(topic), json.dumps(policy)))

    assert done["status"] == "FAILED"
    assert "with an explicit deny in an identity-based policy" in done["cause"]


def test_the_lenient_sandbox_lets_any_role_publish() -> None:
    # Its own server, stopped at once: moto's executor calls back to the port of the server started last.
    servers = started(None)
    lenient = next(servers)
    try:
        topic = lenient("sns").create_topic(Name=unique())["TopicArn"]

        assert finished(lenient, machine(lenient, publish(topic), None))["status"] == "SUCCEEDED"
    finally:
        servers.close()


def batch_job(aws: Aws) -> tuple[str, str, str]:
    """A VALID Fargate queue and a job definition: (queue ARN, definition name, its revision's ARN)."""
    ce = valid_compute_environment(aws)
    queue = unique()
    queue_arn = aws("batch").create_job_queue(
        jobQueueName=queue,
        priority=1,
        state="ENABLED",
        computeEnvironmentOrder=[{"order": 1, "computeEnvironment": ce}],
    )["jobQueueArn"]
    wait_for(
        lambda: aws("batch").describe_job_queues(jobQueues=[queue])["jobQueues"][0]["status"],
        lambda status: status == "VALID",
    )
    definition = unique()
    definition_arn = aws("batch").register_job_definition(
        jobDefinitionName=definition,
        type="container",
        platformCapabilities=["FARGATE"],
        containerProperties={
            "image": "busybox",
            "command": ["true"],
            "resourceRequirements": [{"type": "VCPU", "value": "0.25"}, {"type": "MEMORY", "value": "512"}],
            "executionRoleArn": role(aws, "ecs-tasks.amazonaws.com"),
            "networkConfiguration": {"assignPublicIp": "ENABLED"},
        },
    )["jobDefinitionArn"]
    return queue_arn, definition, definition_arn


def submit(queue_arn: str, definition: str) -> dict[str, Any]:
    task = {
        "Type": "Task",
        "Resource": "arn:aws:states:::batch:submitJob.sync",
        "Parameters": {"JobName": "j", "JobQueue": queue_arn, "JobDefinition": definition},
        "End": True,
    }
    return {"StartAt": "Run", "States": {"Run": task}}


def test_submit_job_is_judged_on_the_queue_and_the_definitions_revision(strict: Aws) -> None:
    queue_arn, definition, definition_arn = batch_job(strict)
    assert definition_arn.endswith(f"job-definition/{definition}:1")
    family = definition_arn.rsplit(":", 1)[0]
    described = ("batch:DescribeJobs", "*")

    allowed = finished(
        strict,
        machine(
            strict,
            submit(queue_arn, definition),
            allow(("batch:SubmitJob", [queue_arn, f"{family}:*"]), described),
        ),
    )
    no_definition = finished(
        strict,
        machine(strict, submit(queue_arn, definition), allow(("batch:SubmitJob", queue_arn), described)),
    )

    assert allowed["status"] == "SUCCEEDED", allowed
    assert no_definition["status"] == "FAILED"
    assert (
        f"is not authorized to perform: batch:SubmitJob on resource: {definition_arn}"
        in no_definition["cause"]
    )


def test_a_pipe_whose_role_may_not_read_its_queue_fails_to_create(strict: Aws) -> None:
    sqs = strict("sqs")
    url = sqs.create_queue(QueueName=unique())["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    target = machine(strict, {"StartAt": "Done", "States": {"Done": {"Type": "Succeed"}}}, None)
    pipe_role = role(strict, "pipes.amazonaws.com")
    policy = allow(
        (["sqs:ReceiveMessage", "sqs:GetQueueAttributes"], queue_arn), ("states:StartExecution", target)
    )
    strict("iam").put_role_policy(RoleName=pipe_role.rsplit("/", 1)[1], PolicyName="p", PolicyDocument=policy)
    name = unique()

    strict("pipes").create_pipe(Name=name, Source=queue_arn, Target=target, RoleArn=pipe_role)
    time.sleep(IAM_WAIT_S)
    pipe = wait_for(
        lambda: strict("pipes").describe_pipe(Name=name), lambda p: p["CurrentState"] not in ("CREATING",)
    )

    assert pipe["CurrentState"] == "CREATE_FAILED"
    assert pipe["StateReason"].endswith(
        "The provided customer role does not have permissions to call DeleteMessage on SQS"
    )


# A Fargate job's execution role at the start of each attempt.

IMAGE_REPOSITORY = "demo-dev"
IMAGE = f"123456789012.dkr.ecr.eu-west-1.amazonaws.com/{IMAGE_REPOSITORY}:v1"
REPOSITORY_ARN = f"arn:aws:ecr:eu-west-1:123456789012:repository/{IMAGE_REPOSITORY}"
PULL = (
    ["ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer", "ecr:BatchCheckLayerAvailability"],
    REPOSITORY_ARN,
)
LOGIN = ("ecr:GetAuthorizationToken", "*")


def fargate_job(
    aws: Aws, policy: str, *, secrets: list[dict[str, str]] | None = None, attempts: int = 1
) -> dict[str, Any]:
    """Run a Fargate job whose execution role has `policy`; its description once it ended."""
    execution_role = role(aws, "ecs-tasks.amazonaws.com")
    aws("iam").put_role_policy(
        RoleName=execution_role.rsplit("/", 1)[1], PolicyName="p", PolicyDocument=policy
    )
    ce = valid_compute_environment(aws)
    queue = unique()
    aws("batch").create_job_queue(
        jobQueueName=queue,
        priority=1,
        state="ENABLED",
        computeEnvironmentOrder=[{"order": 1, "computeEnvironment": ce}],
    )
    wait_for(
        lambda: aws("batch").describe_job_queues(jobQueues=[queue])["jobQueues"][0]["status"],
        lambda status: status == "VALID",
    )
    definition = aws("batch").register_job_definition(
        jobDefinitionName=unique(),
        type="container",
        platformCapabilities=["FARGATE"],
        retryStrategy={"attempts": attempts},
        containerProperties={
            "image": IMAGE,
            "command": ["true"],
            "resourceRequirements": [{"type": "VCPU", "value": "0.25"}, {"type": "MEMORY", "value": "512"}],
            "executionRoleArn": execution_role,
            "secrets": secrets or [],
        },
    )["jobDefinitionArn"]
    job_id = aws("batch").submit_job(jobName="j", jobQueue=queue, jobDefinition=definition)["jobId"]
    job: dict[str, Any] = wait_for(
        lambda: aws("batch").describe_jobs(jobs=[job_id])["jobs"][0],
        lambda j: j["status"] in ("SUCCEEDED", "FAILED"),
        60,
    )
    return job


def test_a_fargate_job_whose_execution_role_may_pull_its_image_runs(strict: Aws) -> None:
    job = fargate_job(strict, allow(PULL, LOGIN))

    assert job["status"] == "SUCCEEDED", job.get("statusReason")


def test_a_fargate_job_whose_execution_role_may_not_pull_fails_every_attempt(strict: Aws) -> None:
    job = fargate_job(strict, allow(LOGIN), attempts=2)

    assert job["status"] == "FAILED"
    assert job["statusReason"].startswith("CannotPullContainerError: ")
    assert f"failed to resolve ref {IMAGE}" in job["statusReason"]
    assert "403 Forbidden" in job["statusReason"]
    assert [a["statusReason"] for a in job["attempts"]] == [job["statusReason"]] * 2


def test_a_fargate_job_whose_execution_role_may_not_log_in_to_ecr_fails(strict: Aws) -> None:
    job = fargate_job(strict, allow(PULL))

    assert job["status"] == "FAILED"
    assert job["statusReason"].startswith(
        "ResourceInitializationError: unable to pull secrets or registry auth"
    )
    assert "is not authorized to perform: ecr:GetAuthorizationToken on resource: *" in job["statusReason"]


def test_a_fargate_job_whose_execution_role_may_not_read_its_secret_fails(strict: Aws) -> None:
    secret = strict("secretsmanager").create_secret(Name=unique(), SecretString="s")["ARN"]
    partial = secret.rsplit("-", 1)[0]  # jobs.yaml names a secret by its ARN without the random suffix
    other = strict("secretsmanager").create_secret(Name=unique(), SecretString="s")["ARN"]
    secrets = [{"name": "DB", "valueFrom": partial}]

    denied = fargate_job(
        strict, allow(PULL, LOGIN, ("secretsmanager:GetSecretValue", other)), secrets=secrets
    )
    allowed = fargate_job(
        strict, allow(PULL, LOGIN, ("secretsmanager:GetSecretValue", f"{partial}-??????")), secrets=secrets
    )

    assert denied["status"] == "FAILED"
    assert "unable to retrieve secret from asm" in denied["statusReason"]
    assert f"secretsmanager:GetSecretValue on resource: {secret}" in denied["statusReason"]
    assert allowed["status"] == "SUCCEEDED", allowed.get("statusReason")


def test_a_secret_under_a_customer_key_needs_kms_decrypt(strict: Aws) -> None:
    key = strict("kms").create_key()["KeyMetadata"]["Arn"]
    secret = strict("secretsmanager").create_secret(Name=unique(), SecretString="s", KmsKeyId=key)["ARN"]
    parameter = f"/{unique()}"
    strict("ssm").put_parameter(Name=parameter, Value="v", Type="SecureString", KeyId=key)
    read = (["secretsmanager:GetSecretValue", "ssm:GetParameters"], "*")
    secrets = [{"name": "DB", "valueFrom": secret}]

    no_key = fargate_job(strict, allow(PULL, LOGIN, read), secrets=secrets)
    parameter_no_key = fargate_job(
        strict, allow(PULL, LOGIN, read), secrets=[{"name": "P", "valueFrom": parameter}]
    )
    with_key = fargate_job(strict, allow(PULL, LOGIN, read, ("kms:Decrypt", key)), secrets=secrets)

    assert no_key["status"] == "FAILED"
    assert no_key["statusReason"].endswith("AccessDeniedException: Access to KMS is not allowed")
    assert parameter_no_key["status"] == "FAILED"
    assert "unable to retrieve secrets from ssm" in parameter_no_key["statusReason"]
    assert with_key["status"] == "SUCCEEDED", with_key.get("statusReason")
