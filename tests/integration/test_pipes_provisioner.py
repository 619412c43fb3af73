"""Lifecycle, ownership and state handling of the EventBridge Pipes provisioner (moto server)."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any
from uuid import uuid4

import pytest
from botocore.stub import Stubber

from batchctl.errors import AwsError, NotManagedError
from batchctl.provisioners.pipes import PipeProvisioner
from batchctl.specs import Observed, PipeSpec
from tests.conftest import post_json
from tests.support.provisioners import read_back

TAGS = {"batchctl:project": "demo", "batchctl:stage": "dev", "team": "data"}
DONE = {"StartAt": "Done", "States": {"Done": {"Type": "Succeed"}}}
NOW = datetime(2026, 1, 1, tzinfo=UTC)


def unique() -> str:
    return f"t-{uuid4().hex[:8]}"


def make_role(boto: Any, service: str = "pipes.amazonaws.com") -> str:
    trust = {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Principal": {"Service": service}, "Action": "sts:AssumeRole"}],
    }
    role = boto.client("iam").create_role(RoleName=unique(), AssumeRolePolicyDocument=json.dumps(trust))
    if (
        service == "pipes.amazonaws.com"
    ):  # a pipe's role may read its queue and start its target (AWS checks it)
        grant = {
            "Effect": "Allow",
            "Action": [
                "sqs:ReceiveMessage",
                "sqs:DeleteMessage",
                "sqs:GetQueueAttributes",
                "states:StartExecution",
            ],
            "Resource": "*",
        }
        boto.client("iam").put_role_policy(
            RoleName=role["Role"]["RoleName"],
            PolicyName="pipe",
            PolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": [grant]}),
        )
    return str(role["Role"]["Arn"])


@pytest.fixture
def ends(boto: Any) -> tuple[str, str]:
    """(queue ARN, state machine ARN) to connect."""
    sqs = boto.client("sqs")
    url = sqs.create_queue(QueueName=unique())["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    machine = boto.client("stepfunctions").create_state_machine(
        name=unique(), definition=json.dumps(DONE), roleArn=make_role(boto, "states.amazonaws.com")
    )
    return str(queue_arn), str(machine["stateMachineArn"])


def pipe_spec(boto: Any, ends: tuple[str, str], **changes: Any) -> PipeSpec:
    spec = PipeSpec(
        name=unique(),
        source_arn=ends[0],
        target_arn=ends[1],
        role_arn=make_role(boto),
        batch_size=1,
        invocation_type="FIRE_AND_FORGET",
        description="batchctl demo-dev: job queue to workflow",
        tags=TAGS,
    )
    return dataclasses.replace(spec, **changes)


def test_pipe_lifecycle(aws: Any, boto: Any, ends: tuple[str, str]) -> None:
    prov = PipeProvisioner(aws)
    spec = pipe_spec(boto, ends)
    assert prov.read(spec) is None

    outputs = prov.create(spec)
    assert outputs["arn"] == f"arn:aws:pipes:eu-west-1:{aws.context().account_id}:pipe/{spec.name}"
    raw = boto.client("pipes").describe_pipe(Name=spec.name)
    assert raw["SourceParameters"] == {"SqsQueueParameters": {"BatchSize": 1}}
    assert raw["TargetParameters"] == {
        "StepFunctionStateMachineParameters": {"InvocationType": "FIRE_AND_FORGET"}
    }
    observed = read_back(prov, spec)
    assert observed.outputs == outputs

    changed = dataclasses.replace(
        spec,
        role_arn=make_role(boto),
        batch_size=5,
        desired_state="STOPPED",
        description="",
        tags={"batchctl:project": "demo", "batchctl:stage": "dev", "owner": "ml"},
    )
    assert prov.update(changed, observed) == outputs
    again = read_back(prov, changed)

    prov.delete(again)
    assert prov.read(spec) is None
    prov.delete(again)  # already gone is fine


def test_unchanged_pipe_update_sends_no_mutating_call(
    aws: Any, boto: Any, ends: tuple[str, str], recorder: Any
) -> None:
    prov = PipeProvisioner(aws)
    spec = pipe_spec(boto, ends)
    prov.create(spec)
    observed = prov.read(spec)
    assert observed is not None
    recorder.calls.clear()
    prov.update(spec, observed)
    assert recorder.mutating == []


def test_untagged_pipe_with_our_name_is_not_managed(aws: Any, boto: Any, ends: tuple[str, str]) -> None:
    spec = pipe_spec(boto, ends)
    boto.client("pipes").create_pipe(
        Name=spec.name, Source=spec.source_arn, Target=spec.target_arn, RoleArn=spec.role_arn
    )
    with pytest.raises(NotManagedError, match="not managed by batchctl"):
        PipeProvisioner(aws).read(spec)


@pytest.fixture
def slow_pipes(aws_env: str) -> Iterator[None]:
    """moto moves a pipe one state further per DescribePipe; make it take three describes per step."""
    model = {"model_name": "pipes::pipe"}
    post_json(
        f"{aws_env}/moto-api/state-manager/set-transition",
        {**model, "transition": {"progression": "manual", "times": 3}},
    )
    yield
    post_json(f"{aws_env}/moto-api/state-manager/unset-transition", model)


@pytest.mark.usefixtures("slow_pipes")
def test_create_waits_until_the_pipe_runs(aws: Any, boto: Any, ends: tuple[str, str]) -> None:
    spec = pipe_spec(boto, ends)
    PipeProvisioner(aws).create(spec)
    # Had create returned while CREATING, this describe would still see CREATING (moto needs three).
    assert boto.client("pipes").describe_pipe(Name=spec.name)["CurrentState"] == "RUNNING"


# moto never fails a pipe; these tests stub the Pipes client with AWS's answers.
@pytest.fixture
def stubbed_pipes(aws: Any) -> Iterator[Stubber]:
    with Stubber(aws.client("pipes")) as stubber:
        yield stubber
        stubber.assert_no_pending_responses()


STUB_SPEC = PipeSpec(
    name="demo-dev-job",
    source_arn="arn:aws:sqs:eu-west-1:123456789012:demo-dev-job",
    target_arn="arn:aws:states:eu-west-1:123456789012:stateMachine:demo-dev-job",
    role_arn="arn:aws:iam::123456789012:role/demo-dev-job-pipe",
    tags=TAGS,
)
STUB_ARN = "arn:aws:pipes:eu-west-1:123456789012:pipe/demo-dev-job"


def _pipe(state: str, reason: str | None = None) -> dict[str, Any]:
    answer: dict[str, Any] = {
        "Arn": STUB_ARN,
        "Name": STUB_SPEC.name,
        "CurrentState": state,
        "DesiredState": "RUNNING",
    }
    return answer | ({"StateReason": reason} if reason else {})


def _expect_create(stub: Stubber) -> None:
    stub.add_client_error(
        "describe_pipe", service_error_code="NotFoundException", service_message="not found"
    )
    stub.add_response(
        "create_pipe",
        _pipe("CREATING"),
        {
            "Name": STUB_SPEC.name,
            "Source": STUB_SPEC.source_arn,
            "Target": STUB_SPEC.target_arn,
            "RoleArn": STUB_SPEC.role_arn,
            "DesiredState": "RUNNING",
            "SourceParameters": {"SqsQueueParameters": {"BatchSize": 1}},
            "TargetParameters": {"StepFunctionStateMachineParameters": {"InvocationType": "FIRE_AND_FORGET"}},
            "Tags": TAGS,
        },
    )


def _expect_cleanup(stub: Stubber) -> None:
    stub.add_response("delete_pipe", _pipe("DELETING"), {"Name": STUB_SPEC.name})
    stub.add_response("describe_pipe", _pipe("DELETING"))
    stub.add_client_error(
        "describe_pipe", service_error_code="NotFoundException", service_message="not found"
    )


def test_create_failed_pipe_is_deleted_and_its_reason_shown(aws: Any, stubbed_pipes: Stubber) -> None:
    _expect_create(stubbed_pipes)
    stubbed_pipes.add_response("describe_pipe", _pipe("CREATING"))
    stubbed_pipes.add_response("describe_pipe", _pipe("CREATE_FAILED", "Target state machine does not exist"))
    _expect_cleanup(stubbed_pipes)
    with pytest.raises(AwsError, match="CREATE_FAILED: Target state machine does not exist") as caught:
        PipeProvisioner(aws).create(STUB_SPEC)
    assert caught.value.code == "CREATE_FAILED"


def test_create_failed_for_missing_role_permissions_is_retried(aws: Any, stubbed_pipes: Stubber) -> None:
    # The role's policy had not propagated yet (AWS-QUIRKS 1, 25): delete the failed pipe and create it again.
    _expect_create(stubbed_pipes)
    stubbed_pipes.add_response(
        "describe_pipe",
        _pipe(
            "CREATE_FAILED",
            "The provided customer role does not have permissions to call ReceiveMessage on SQS",
        ),
    )
    _expect_cleanup(stubbed_pipes)
    stubbed_pipes.add_response("create_pipe", _pipe("CREATING"))
    stubbed_pipes.add_response("describe_pipe", _pipe("RUNNING"))
    assert PipeProvisioner(aws).create(STUB_SPEC) == {"arn": STUB_ARN}


def test_update_sends_every_field_and_reports_update_failed(aws: Any, stubbed_pipes: Stubber) -> None:
    desired = dataclasses.replace(STUB_SPEC, batch_size=4, description="new")
    stubbed_pipes.add_response(
        "update_pipe",
        _pipe("UPDATING"),
        {
            "Name": STUB_SPEC.name,
            "Description": "new",
            "DesiredState": "RUNNING",
            "RoleArn": STUB_SPEC.role_arn,
            "SourceParameters": {"SqsQueueParameters": {"BatchSize": 4}},
            "Target": STUB_SPEC.target_arn,
            "TargetParameters": {"StepFunctionStateMachineParameters": {"InvocationType": "FIRE_AND_FORGET"}},
        },
    )
    stubbed_pipes.add_response("describe_pipe", _pipe("UPDATING"))
    stubbed_pipes.add_response("describe_pipe", _pipe("UPDATE_FAILED", "Batch size too large"))
    with pytest.raises(AwsError, match="UPDATE_FAILED: Batch size too large"):
        PipeProvisioner(aws).update(desired, Observed(STUB_SPEC, {"arn": STUB_ARN}))


def test_deleting_pipe_reads_as_absent_and_create_waits_for_it(aws: Any, stubbed_pipes: Stubber) -> None:
    stubbed_pipes.add_response("describe_pipe", _pipe("DELETING"))
    assert PipeProvisioner(aws).read(STUB_SPEC) is None

    stubbed_pipes.add_response("describe_pipe", _pipe("DELETING"))
    stubbed_pipes.add_response("describe_pipe", _pipe("DELETING"))
    _expect_create(stubbed_pipes)
    stubbed_pipes.add_response("describe_pipe", _pipe("RUNNING"))
    assert PipeProvisioner(aws).create(STUB_SPEC) == {"arn": STUB_ARN}
