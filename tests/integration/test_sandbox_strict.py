"""The strict sandbox refuses requests AWS refuses and moto accepts, with AWS's codes and messages, while the lenient
sandbox still accepts them. Also the fixtures of the other test_sandbox_strict_* files (imported there)."""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from typing import Any
from uuid import uuid4

import boto3
import pytest
from botocore.exceptions import ClientError

from batchctl import sandbox
from batchctl.sandbox import StrictOptions

SCALE = (
    0.05  # AWS durations × 0.05: a compute environment is CREATING for 1.5 s, a new role unusable for 0.5 s
)
IAM_WAIT_S = 10.0 * SCALE + 0.2
TRUST = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "sts:AssumeRole"}]}


def unique() -> str:
    return f"t-{uuid4().hex[:8]}"


def clients(url: str) -> Callable[[str], Any]:
    session = boto3.Session(
        aws_access_key_id="testing", aws_secret_access_key="testing", region_name="eu-west-1"
    )
    return lambda service: session.client(service, endpoint_url=url)


def started(options: StrictOptions | None) -> Iterator[Callable[[str], Any]]:
    box = sandbox.start(port=0, use_docker=False, strict=options)
    assert box.relay is not None
    box.relay.stop()  # no background requests: each test sees only its own
    if box.schedules is not None:
        box.schedules.stop()
    try:
        yield clients(box.url)
    finally:
        box.stop()


@pytest.fixture(scope="module")
def strict() -> Iterator[Callable[[str], Any]]:
    yield from started(StrictOptions(time_scale=SCALE))


@pytest.fixture(scope="module")
def lenient() -> Iterator[Callable[[str], Any]]:
    yield from started(None)


def refused(call: Callable[[], Any]) -> tuple[str, str]:
    """The (code, message) AWS answers `call` with; fails if it succeeds."""
    with pytest.raises(ClientError) as caught:
        call()
    error = caught.value.response["Error"]
    return error["Code"], error["Message"]


def wait_for(read: Callable[[], Any], wanted: Callable[[Any], bool], timeout_s: float = 30.0) -> Any:
    deadline = time.monotonic() + timeout_s
    while True:
        value = read()
        if wanted(value) or time.monotonic() > deadline:
            return value
        time.sleep(0.05)


def role(aws: Callable[[str], Any], principal: str, *, settled: bool = True) -> str:
    """A role `principal` may assume; `settled` waits out IAM propagation."""
    trust = {**TRUST, "Statement": [{**TRUST["Statement"][0], "Principal": {"Service": principal}}]}
    arn: str = aws("iam").create_role(RoleName=unique(), AssumeRolePolicyDocument=json.dumps(trust))["Role"][
        "Arn"
    ]
    if settled:
        time.sleep(IAM_WAIT_S)
    return arn


def network(aws: Callable[[str], Any]) -> tuple[str, str]:
    ec2 = aws("ec2")
    vpc = ec2.create_vpc(CidrBlock="10.0.0.0/16")["Vpc"]["VpcId"]
    subnet = ec2.create_subnet(VpcId=vpc, CidrBlock="10.0.1.0/24")["Subnet"]["SubnetId"]
    group = ec2.create_security_group(GroupName=unique(), Description="batch", VpcId=vpc)["GroupId"]
    return subnet, group


def compute_environment(
    aws: Callable[[str], Any], *, kind: str = "FARGATE", service_role: str | None = None
) -> str:
    subnet, group = network(aws)
    name = unique()
    resources = {"type": kind, "maxvCpus": 4, "subnets": [subnet], "securityGroupIds": [group]}
    if not kind.startswith("FARGATE"):
        profile = aws("iam").create_instance_profile(InstanceProfileName=unique())["InstanceProfile"]["Arn"]
        resources |= {"instanceRole": profile, "minvCpus": 0, "instanceTypes": ["optimal"]}
    aws("batch").create_compute_environment(
        computeEnvironmentName=name,
        type="MANAGED",
        serviceRole=service_role or role(aws, "batch.amazonaws.com"),
        computeResources=resources,
    )
    return name


def queue_status(aws: Callable[[str], Any], name: str) -> dict[str, Any]:
    found = aws("batch").describe_job_queues(jobQueues=[name])["jobQueues"]
    return found[0] if found else {}


def ce_status(aws: Callable[[str], Any], name: str) -> dict[str, Any]:
    found = aws("batch").describe_compute_environments(computeEnvironments=[name])["computeEnvironments"]
    return found[0] if found else {}


def valid_compute_environment(aws: Callable[[str], Any], **kwargs: Any) -> str:
    name = compute_environment(aws, **kwargs)
    assert wait_for(lambda: ce_status(aws, name), lambda ce: ce.get("status") == "VALID")["status"] == "VALID"
    return name


def job_queue(aws: Callable[[str], Any], ce: str, **extra: Any) -> str:
    name = unique()
    aws("batch").create_job_queue(
        jobQueueName=name,
        priority=1,
        state="ENABLED",
        computeEnvironmentOrder=[{"order": 1, "computeEnvironment": ce}],
        **extra,
    )
    return name


# Framework.


def test_import_of_the_sandbox_package_does_not_import_moto() -> None:
    import subprocess
    import sys

    code = (
        "import sys, batchctl.sandbox; print(any(m == 'moto' or m.startswith('moto.') for m in sys.modules))"
    )
    assert (
        subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
        == "False\n"
    )


def test_a_query_service_refusal_is_an_xml_error_with_the_service_code(strict: Any) -> None:
    tags = [{"Key": "aws:owner", "Value": "me"}]

    code, message = refused(
        lambda: strict("iam").create_role(
            RoleName=unique(), AssumeRolePolicyDocument=json.dumps(TRUST), Tags=tags
        )
    )

    assert code == "ValidationError"
    assert message == (
        "1 validation error detected: Value 'aws:owner' at 'tags.1.member.key' failed to satisfy constraint: "
        "Tag keys beginning with 'aws:' are reserved for AWS use"
    )


def test_moto_api_reset_also_forgets_strict_state(strict: Any) -> None:
    sqs, name = strict("sqs"), unique()
    sqs.delete_queue(QueueUrl=sqs.create_queue(QueueName=name)["QueueUrl"])
    endpoint = sqs.meta.endpoint_url

    import urllib.request

    urllib.request.urlopen(urllib.request.Request(f"{endpoint}/moto-api/reset", data=b"{}", method="POST"))

    assert sqs.create_queue(QueueName=name)["QueueUrl"].endswith(f"/{name}")


# Tags, on every service batchctl tags.


def _tag_calls(aws: Callable[[str], Any], tags: dict[str, str]) -> dict[str, Callable[[], Any]]:
    pairs = [{"Key": k, "Value": v} for k, v in tags.items()]
    trust = json.dumps(TRUST)
    definition = json.dumps({"StartAt": "A", "States": {"A": {"Type": "Pass", "End": True}}})
    arn = "arn:aws:iam::123456789012:role/none"
    return {
        "batch": lambda: aws("batch").register_job_definition(
            jobDefinitionName=unique(),
            type="container",
            tags=tags,
            containerProperties={"image": "busybox", "vcpus": 1, "memory": 512},
        ),
        "sqs": lambda: aws("sqs").create_queue(QueueName=unique(), tags=tags),
        "sns": lambda: aws("sns").create_topic(Name=unique(), Tags=pairs),
        "stepfunctions": lambda: aws("stepfunctions").create_state_machine(
            name=unique(),
            definition=definition,
            roleArn=arn,
            tags=[{"key": k, "value": v} for k, v in tags.items()],
        ),
        "pipes": lambda: aws("pipes").create_pipe(
            Name=unique(),
            Source="arn:aws:sqs:eu-west-1:123456789012:q",
            Target="arn:aws:sqs:eu-west-1:123456789012:t",
            RoleArn=arn,
            Tags=tags,
        ),
        "logs": lambda: aws("logs").create_log_group(logGroupName=unique(), tags=tags),
        "iam": lambda: aws("iam").create_role(RoleName=unique(), AssumeRolePolicyDocument=trust, Tags=pairs),
        "ecr": lambda: aws("ecr").create_repository(repositoryName=unique(), tags=pairs),
        "scheduler": lambda: aws("scheduler").create_schedule_group(Name=unique(), Tags=pairs),
    }


TAG_CODES = {
    "batch": "ClientException",
    "sqs": "InvalidParameterValue",
    "sns": "InvalidParameter",
    "stepfunctions": "ValidationException",
    "pipes": "ValidationException",
    "logs": "InvalidParameterException",
    "iam": "ValidationError",
    "ecr": "InvalidTagParameterException",
    "scheduler": "ValidationException",
}


@pytest.mark.parametrize("service", sorted(TAG_CODES))
def test_a_reserved_aws_tag_key_is_refused_by_each_service(strict: Any, service: str) -> None:
    code, message = refused(_tag_calls(strict, {"aws:cost": "x"})[service])

    assert code == TAG_CODES[service]
    assert "Tag keys beginning with 'aws:' are reserved for AWS use" in message


@pytest.mark.parametrize(
    "service", sorted(set(TAG_CODES) - {"batch"})
)  # moto checks job definition tags itself
def test_the_lenient_sandbox_accepts_a_reserved_tag_key(lenient: Any, service: str) -> None:
    assert _tag_calls(lenient, {"aws:cost": "x"})[service]()["ResponseMetadata"]["HTTPStatusCode"] == 200


@pytest.mark.parametrize(
    ("tags", "violation"),
    [
        ({"k" * 129: "v"}, "Member must have length less than or equal to 128"),
        ({"k": "v" * 257}, "Member must have length less than or equal to 256"),
        (
            {"bad#key": "v"},
            r"Member must satisfy regular expression pattern: ^([\p{L}\p{Z}\p{N}_.:/=+\-@]*)$",
        ),
        (
            {"k": "bad?value"},
            r"Member must satisfy regular expression pattern: ^([\p{L}\p{Z}\p{N}_.:/=+\-@]*)$",
        ),
    ],
    ids=["key-too-long", "value-too-long", "key-character", "value-character"],
)
def test_a_malformed_tag_is_refused(strict: Any, tags: dict[str, str], violation: str) -> None:
    code, message = refused(lambda: strict("logs").create_log_group(logGroupName=unique(), tags=tags))

    assert code == "InvalidParameterException"
    assert message.startswith("1 validation error detected: Value '")
    assert message.endswith(violation)


def test_more_than_fifty_tags_are_refused_with_the_service_limit_code(strict: Any) -> None:
    tags = [{"key": f"k{i}", "value": "v"} for i in range(51)]
    definition = json.dumps({"StartAt": "A", "States": {"A": {"Type": "Pass", "End": True}}})

    code, message = refused(
        lambda: strict("stepfunctions").create_state_machine(
            name=unique(), definition=definition, roleArn="arn:aws:iam::123456789012:role/r", tags=tags
        )
    )

    assert code == "TooManyTags"
    assert message.endswith("failed to satisfy constraint: Member must have length less than or equal to 50")


def test_letters_of_any_script_and_the_allowed_punctuation_are_accepted(strict: Any) -> None:
    tags = {"projet:équipe/α β": "valeur_1.0=+-@", "日本": "値"}

    strict("logs").create_log_group(logGroupName=unique(), tags=tags)


# SQS attribute ranges.

SQS_OUT_OF_RANGE = [
    ("VisibilityTimeout", "43201"),
    ("VisibilityTimeout", "-1"),
    ("MessageRetentionPeriod", "59"),
    ("MessageRetentionPeriod", "1209601"),
    ("MaximumMessageSize", "1023"),
    ("MaximumMessageSize", "1048577"),
    ("DelaySeconds", "901"),
    ("ReceiveMessageWaitTimeSeconds", "21"),
]


@pytest.mark.parametrize(("attribute", "value"), SQS_OUT_OF_RANGE)
def test_a_queue_attribute_out_of_range_is_refused(strict: Any, attribute: str, value: str) -> None:
    sqs = strict("sqs")

    with pytest.raises(sqs.exceptions.InvalidAttributeValue) as caught:
        sqs.create_queue(QueueName=unique(), Attributes={attribute: value})

    assert caught.value.response["Error"]["Message"] == f"Invalid value for the parameter {attribute}."


def test_set_queue_attributes_checks_the_ranges_too(strict: Any) -> None:
    sqs = strict("sqs")
    url = sqs.create_queue(QueueName=unique())["QueueUrl"]

    code, message = refused(
        lambda: sqs.set_queue_attributes(QueueUrl=url, Attributes={"DelaySeconds": "1000"})
    )

    assert (code, message) == ("InvalidAttributeValue", "Invalid value for the parameter DelaySeconds.")


def test_the_lenient_sandbox_accepts_a_visibility_timeout_out_of_range(lenient: Any) -> None:
    lenient("sqs").create_queue(QueueName=unique(), Attributes={"VisibilityTimeout": "43201"})


def test_the_attribute_limits_themselves_are_accepted(strict: Any) -> None:
    highs = {
        "VisibilityTimeout": "43200",
        "MessageRetentionPeriod": "1209600",
        "MaximumMessageSize": "1048576",
        "DelaySeconds": "900",
        "ReceiveMessageWaitTimeSeconds": "20",
    }
    sqs = strict("sqs")
    url = sqs.create_queue(QueueName=unique(), Attributes=highs)["QueueUrl"]

    assert sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"][
        "MaximumMessageSize"
    ] == ("1048576")


@pytest.mark.parametrize("count", [0, 1001])
def test_a_redrive_max_receive_count_out_of_range_is_refused(strict: Any, count: int) -> None:
    sqs = strict("sqs")
    dlq = sqs.create_queue(QueueName=unique())["QueueUrl"]
    dlq_arn = sqs.get_queue_attributes(QueueUrl=dlq, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    policy = json.dumps({"deadLetterTargetArn": dlq_arn, "maxReceiveCount": count})

    code, message = refused(
        lambda: sqs.create_queue(QueueName=unique(), Attributes={"RedrivePolicy": policy})
    )

    assert code == "InvalidParameterValue"
    assert message == (
        f"Value {policy} for parameter RedrivePolicy is invalid. Reason: Invalid value for maxReceiveCount: "
        f"{count}, valid values are from 1 to 1000 both inclusive."
    )


# EventBridge Scheduler expressions.


def _schedule(aws: Callable[[str], Any], expression: str, role_arn: str) -> Any:
    target = {"Arn": "arn:aws:states:eu-west-1:123456789012:stateMachine:m", "RoleArn": role_arn}
    return aws("scheduler").create_schedule(
        Name=unique(), ScheduleExpression=expression, Target=target, FlexibleTimeWindow={"Mode": "OFF"}
    )


@pytest.fixture(scope="module")
def scheduler_role(strict: Any) -> str:
    return role(strict, "scheduler.amazonaws.com")


@pytest.mark.parametrize(
    "expression",
    [
        "cron(0 12 * * *)",  # 5 fields
        "cron(0 12 * * ? * *)",  # 7 fields
        "cron(0 12 ? * ? *)",  # both day fields "?"
        "cron(0 12 * * MON *)",  # neither day field "?"
        "cron(60 12 * * ? *)",  # minute out of range
        "cron(0 12 ? * MON#6 *)",  # no sixth Monday
        "rate(0 minutes)",
        "rate(1 minutes)",
        "rate(5 minute)",
        "rate(5 seconds)",
        "at(2030-02-30T10:00:00)",
        "every 5 minutes",
    ],
)
def test_an_invalid_schedule_expression_is_refused(strict: Any, scheduler_role: str, expression: str) -> None:
    code, message = refused(lambda: _schedule(strict, expression, scheduler_role))

    assert (code, message) == ("ValidationException", f"Invalid Schedule Expression {expression}.")


@pytest.mark.parametrize(
    "expression",
    [
        "cron(0 12 * * ? *)",
        "cron(0/15 8-18 ? * MON-FRI *)",
        "cron(0 0 L * ? 2030)",
        "cron(30 9 ? * 2#1 *)",
        "cron(0 6 15W JAN,JUL ? *)",
        "rate(1 minute)",
        "rate(12 hours)",
        "at(2030-01-31T10:00:00)",
    ],
)
def test_a_valid_schedule_expression_is_accepted(strict: Any, scheduler_role: str, expression: str) -> None:
    assert _schedule(strict, expression, scheduler_role)["ScheduleArn"]


def test_the_lenient_sandbox_accepts_a_five_field_cron(lenient: Any) -> None:
    assert _schedule(lenient, "cron(0 12 * * *)", "arn:aws:iam::123456789012:role/r")["ScheduleArn"]


def test_a_failure_inside_the_sandbox_answers_as_aws_internal_failure() -> None:
    """Not werkzeug's HTML page, which botocore cannot parse or retry: AWS's 500 InternalFailure, which it retries."""
    box = sandbox.start(port=0, use_docker=False, strict=StrictOptions(time_scale=SCALE))
    try:
        calls: list[str] = []

        def broken(call: Any) -> None:
            if call.operation == "ListQueues":
                calls.append(call.operation)
                raise RuntimeError("a defect inside the sandbox")

        box.server.strict_app.guard(broken)
        sqs = clients(box.url)("sqs")

        with pytest.raises(ClientError) as caught:
            sqs.list_queues()

        assert caught.value.response["Error"]["Code"] == "InternalFailure"
        assert caught.value.response["ResponseMetadata"]["HTTPStatusCode"] == 500
        assert len(calls) > 1  # botocore retried it
        assert sqs.create_queue(QueueName=unique())["QueueUrl"]
    finally:
        box.stop()
