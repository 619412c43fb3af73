"""The pure halves of the IAM, Logs, ECR, SQS, SNS, Step Functions, Pipes and Scheduler provisioners: the exact
Create requests (`to_request`), and AWS's answers read back (`from_described`) as the spec they came from. Batch and
EC2 have files of their own (test_batch_requests.py, test_ec2_requests.py)."""

from __future__ import annotations

import dataclasses
import json
from typing import Any

import pytest

from batchctl.provisioners.ecr import RepositoryProvisioner
from batchctl.provisioners.iam import InstanceProfileProvisioner, RoleProvisioner, dump_policy
from batchctl.provisioners.logs import LogGroupProvisioner
from batchctl.provisioners.pipes import PipeProvisioner, pipe_parameters
from batchctl.provisioners.scheduler import ScheduleGroupProvisioner, ScheduleProvisioner
from batchctl.provisioners.sfn import StateMachineProvisioner
from batchctl.provisioners.sns import PENDING, TopicProvisioner
from batchctl.provisioners.sqs import QueueProvisioner
from batchctl.specs import (
    InstanceProfileSpec,
    LogGroupSpec,
    PipeSpec,
    QueueSpec,
    RepositorySpec,
    RoleSpec,
    ScheduleGroupSpec,
    ScheduleSpec,
    StateMachineSpec,
    TopicSpec,
)

TAGS = {"batchctl:project": "demo", "batchctl:stage": "dev", "team": "data"}
TAG_LIST = [{"Key": k, "Value": v} for k, v in sorted(TAGS.items())]
ARN = "arn:aws:{}:eu-west-1:123456789012:{}"
ROLE_ARN = "arn:aws:iam::123456789012:role/demo-dev-job-sfn"
DONE = {"StartAt": "Done", "States": {"Done": {"Type": "Succeed"}}}


def allow(action: str) -> dict[str, Any]:
    return {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": action, "Resource": "*"}]}


# ---- IAM -----------------------------------------------------------------------------------------------------
ROLE = RoleSpec(
    name="demo-dev-job-sfn",
    trust_policy={
        "Statement": [{"Action": "sts:AssumeRole", "Principal": {"Service": "states.amazonaws.com"}}]
    },
    inline_policies={"batch": allow("batch:SubmitJob"), "events": allow("events:PutRule")},
    managed_policy_arns=("arn:aws:iam::aws:policy/A", "arn:aws:iam::aws:policy/B"),
    description="runs the job",
    tags=TAGS,
)


def test_role_request_serializes_the_trust_policy_once() -> None:
    assert RoleProvisioner.to_request(ROLE) == {
        "RoleName": "demo-dev-job-sfn",
        "AssumeRolePolicyDocument": json.dumps(ROLE.trust_policy, sort_keys=True, separators=(",", ":")),
        "Tags": TAG_LIST,
        "Description": "runs the job",
    }
    assert "Description" not in RoleProvisioner.to_request(dataclasses.replace(ROLE, description=""))


def test_role_round_trips_through_its_account_authorization_details() -> None:
    detail = RoleProvisioner.to_request(ROLE) | {
        # What PutRolePolicy and AttachRolePolicy add, as GetAccountAuthorizationDetails lists it.
        "RolePolicyList": [
            {"PolicyName": name, "PolicyDocument": dump_policy(document)}
            for name, document in ROLE.inline_policies.items()
        ],
        "AttachedManagedPolicies": [{"PolicyArn": arn} for arn in reversed(ROLE.managed_policy_arns)],
    }
    assert RoleProvisioner.from_described(detail) == ROLE


def test_instance_profile_round_trips_with_its_one_role() -> None:
    spec = InstanceProfileSpec(name="demo-dev-instance", role_name="demo-dev-instance", tags=TAGS)
    request = InstanceProfileProvisioner.to_request(spec)
    assert request == {"InstanceProfileName": "demo-dev-instance", "Tags": TAG_LIST}
    assert (
        InstanceProfileProvisioner.from_described(request | {"Roles": [{"RoleName": spec.role_name}]}) == spec
    )
    assert InstanceProfileProvisioner.from_described(request) == dataclasses.replace(spec, role_name="")


# ---- Logs, ECR -----------------------------------------------------------------------------------------------
@pytest.mark.parametrize("retention", [30, None])
def test_log_group_round_trips(retention: int | None) -> None:
    spec = LogGroupSpec(name="/batchctl/demo/dev/job", retention_days=retention, tags=TAGS)
    request = LogGroupProvisioner.to_request(spec)
    assert request == {"logGroupName": "/batchctl/demo/dev/job", "tags": TAGS}
    # Retention is set by PutRetentionPolicy; DescribeLogGroups shows it as retentionInDays (absent: never).
    answer = request | ({"retentionInDays": retention} if retention else {})
    assert LogGroupProvisioner.from_described(answer) == spec


def test_repository_round_trips_with_its_lifecycle_policy() -> None:
    policy = {"rules": [{"rulePriority": 1, "action": {"type": "expire"}}]}
    spec = RepositorySpec(name="demo-dev", lifecycle_policy=policy, tags=TAGS)
    request = RepositoryProvisioner.to_request(spec)
    assert request == {
        "repositoryName": "demo-dev",
        "imageScanningConfiguration": {"scanOnPush": True},
        "imageTagMutability": "MUTABLE",
        "tags": TAG_LIST,
    }
    answer = request | {"lifecyclePolicyText": json.dumps(policy)}
    assert RepositoryProvisioner.from_described(answer) == spec
    assert RepositoryProvisioner.from_described(request) == dataclasses.replace(spec, lifecycle_policy=None)


# ---- SQS, SNS ------------------------------------------------------------------------------------------------
DEAD_LETTER = ARN.format("sqs", "demo-dev-job-dlq")


@pytest.mark.parametrize(
    ("spec", "attributes"),
    [
        (
            QueueSpec(name="demo-dev-job", tags=TAGS),
            {"VisibilityTimeout": "30", "MessageRetentionPeriod": "345600", "SqsManagedSseEnabled": "true"},
        ),
        (
            QueueSpec(
                name="demo-dev-job.fifo",
                fifo=True,
                visibility_timeout_s=900,
                dead_letter_arn=DEAD_LETTER,
                max_receive_count=3,
                tags=TAGS,
            ),
            {
                "VisibilityTimeout": "900",
                "MessageRetentionPeriod": "345600",
                "RedrivePolicy": f'{{"deadLetterTargetArn":"{DEAD_LETTER}","maxReceiveCount":3}}',
                "FifoQueue": "true",
                "SqsManagedSseEnabled": "true",
            },
        ),
    ],
    ids=["standard", "fifo-with-dead-letters"],
)
def test_queue_request_and_round_trip(spec: QueueSpec, attributes: dict[str, str]) -> None:
    request = QueueProvisioner.to_request(spec)
    assert request == {"QueueName": spec.name, "Attributes": attributes, "tags": TAGS}
    answer = {"QueueName": spec.name, "Attributes": request["Attributes"], "Tags": request["tags"]}
    assert QueueProvisioner.from_described(answer) == spec


def test_topic_reads_every_email_subscription_pending_or_not() -> None:
    spec = TopicSpec(name="demo-dev-alerts", emails=("a@example.com", "b@example.com"), tags=TAGS)
    request = TopicProvisioner.to_request(spec)
    assert request == {"Name": "demo-dev-alerts", "Tags": TAG_LIST}
    subscriptions = [
        {"Protocol": "email", "Endpoint": "b@example.com", "SubscriptionArn": PENDING},
        {"Protocol": "email", "Endpoint": "a@example.com", "SubscriptionArn": ARN.format("sns", "x:1")},
        {"Protocol": "sqs", "Endpoint": ARN.format("sqs", "q"), "SubscriptionArn": ARN.format("sns", "x:2")},
    ]
    assert TopicProvisioner.from_described(request | {"Subscriptions": subscriptions}) == spec


# ---- Step Functions ------------------------------------------------------------------------------------------
MACHINE = StateMachineSpec(
    name="demo-dev-job",
    definition=DONE,
    role_arn=ROLE_ARN,
    log_group_arn=ARN.format("logs", "log-group:/aws/vendedlogs/states/demo-dev-job"),
    log_level="ERROR",
    include_execution_data=True,
    tags=TAGS,
)


def test_state_machine_request_serializes_once_and_suffixes_the_log_group() -> None:
    assert StateMachineProvisioner.to_request(MACHINE) == {
        "name": "demo-dev-job",
        "definition": '{"StartAt":"Done","States":{"Done":{"Type":"Succeed"}}}',
        "roleArn": ROLE_ARN,
        "type": "STANDARD",
        "loggingConfiguration": {
            "level": "ERROR",
            "includeExecutionData": True,
            "destinations": [{"cloudWatchLogsLogGroup": {"logGroupArn": f"{MACHINE.log_group_arn}:*"}}],
        },
        "tags": [{"key": k, "value": v} for k, v in sorted(TAGS.items())],
    }


@pytest.mark.parametrize(
    "spec",
    [
        MACHINE,
        dataclasses.replace(MACHINE, log_group_arn=None, log_level="OFF", include_execution_data=False),
    ],
    ids=["logging", "no-logging"],
)
def test_state_machine_round_trips(spec: StateMachineSpec) -> None:
    assert StateMachineProvisioner.from_described(StateMachineProvisioner.to_request(spec)) == spec


# ---- Pipes ---------------------------------------------------------------------------------------------------
PIPE = PipeSpec(
    name="demo-dev-job",
    source_arn=ARN.format("sqs", "demo-dev-job"),
    target_arn=ARN.format("states", "stateMachine:demo-dev-job"),
    role_arn="arn:aws:iam::123456789012:role/demo-dev-job-pipe",
    description="batchctl demo-dev: job queue to workflow",
    tags=TAGS,
)


def test_pipe_request_starts_the_workflow_fire_and_forget() -> None:
    assert PipeProvisioner.to_request(PIPE) == {
        "Name": "demo-dev-job",
        "Source": PIPE.source_arn,
        "Description": "batchctl demo-dev: job queue to workflow",
        "DesiredState": "RUNNING",
        "RoleArn": PIPE.role_arn,
        "SourceParameters": {"SqsQueueParameters": {"BatchSize": 1}},
        "Target": PIPE.target_arn,
        # The API default, REQUEST_RESPONSE, is rejected for STANDARD state machines.
        "TargetParameters": {"StepFunctionStateMachineParameters": {"InvocationType": "FIRE_AND_FORGET"}},
        "Tags": TAGS,
    }
    assert "Description" not in PipeProvisioner.to_request(dataclasses.replace(PIPE, description=""))
    # UpdatePipe gets every managed field (it replaces each *Parameters object whole), never Name/Source/Tags.
    assert pipe_parameters(PIPE).keys() == PipeProvisioner.to_request(PIPE).keys() - {
        "Name",
        "Source",
        "Tags",
    }


@pytest.mark.parametrize("spec", [PIPE, dataclasses.replace(PIPE, description="", desired_state="STOPPED")])
def test_pipe_round_trips(spec: PipeSpec) -> None:
    assert PipeProvisioner.from_described(PipeProvisioner.to_request(spec)) == spec


def test_pipe_parameters_left_out_read_as_the_api_defaults() -> None:
    answer = PipeProvisioner.to_request(PIPE)
    del answer["SourceParameters"], answer["TargetParameters"]
    state = PipeProvisioner.from_described(answer)
    assert (state.batch_size, state.invocation_type) == (10, "REQUEST_RESPONSE")


# ---- Scheduler -----------------------------------------------------------------------------------------------
SCHEDULE = ScheduleSpec(
    name="demo-dev-job-nightly",
    group_name="demo-dev",
    expression="cron(0 3 * * ? *)",
    timezone="Asia/Tokyo",
    target_arn=ARN.format("states", "stateMachine:demo-dev-job"),
    role_arn="arn:aws:iam::123456789012:role/demo-dev-job-sched",
    input='{"source":"schedule"}',
    description="batchctl demo-dev: job",
)


def test_schedule_group_round_trips() -> None:
    spec = ScheduleGroupSpec(name="demo-dev", tags=TAGS)
    request = ScheduleGroupProvisioner.to_request(spec)
    assert request == {"Name": "demo-dev", "Tags": TAG_LIST}
    assert ScheduleGroupProvisioner.from_described(request | {"State": "ACTIVE"}) == spec


def test_schedule_request_sends_every_field() -> None:
    # UpdateSchedule takes the same request: a field it is not sent goes back to its default.
    assert ScheduleProvisioner.to_request(SCHEDULE) == {
        "Name": "demo-dev-job-nightly",
        "GroupName": "demo-dev",
        "ScheduleExpression": "cron(0 3 * * ? *)",
        "ScheduleExpressionTimezone": "Asia/Tokyo",
        "FlexibleTimeWindow": {"Mode": "OFF"},
        "Target": {
            "Arn": SCHEDULE.target_arn,
            "RoleArn": SCHEDULE.role_arn,
            "RetryPolicy": {"MaximumRetryAttempts": 185, "MaximumEventAgeInSeconds": 86400},
            "Input": '{"source":"schedule"}',
        },
        "State": "ENABLED",
        "Description": "batchctl demo-dev: job",
    }
    # Target.Input must not be empty when present.
    assert "Input" not in ScheduleProvisioner.to_request(dataclasses.replace(SCHEDULE, input=""))["Target"]


@pytest.mark.parametrize(
    "spec",
    [SCHEDULE, dataclasses.replace(SCHEDULE, input="", state="DISABLED", retry_attempts=0, description="")],
    ids=["full", "bare"],
)
def test_schedule_round_trips(spec: ScheduleSpec) -> None:
    assert ScheduleProvisioner.from_described(ScheduleProvisioner.to_request(spec)) == spec
