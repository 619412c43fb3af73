"""Lifecycle, ownership, update and retry behaviour of the Step Functions state machine provisioner (moto server)."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any
from uuid import uuid4

import pytest
from botocore.stub import Stubber

from batchctl.errors import AwsAuthError, AwsError, NotManagedError
from batchctl.provisioners.sfn import StateMachineProvisioner
from batchctl.specs import Observed, StateMachineSpec
from tests.support.provisioners import read_back

TAGS = {"batchctl:project": "demo", "batchctl:stage": "dev", "team": "data"}
DONE = {"StartAt": "Done", "States": {"Done": {"Type": "Succeed"}}}
WAIT_THEN_DONE = {
    "StartAt": "Wait",
    "States": {"Wait": {"Type": "Wait", "Seconds": 1, "Next": "Done"}, "Done": {"Type": "Succeed"}},
}
TRUST = {
    "Version": "2012-10-17",
    "Statement": [
        {"Effect": "Allow", "Principal": {"Service": "states.amazonaws.com"}, "Action": "sts:AssumeRole"}
    ],
}
NOW = datetime(2026, 1, 1, tzinfo=UTC)


def unique() -> str:
    return f"t-{uuid4().hex[:8]}"


def make_role(boto: Any) -> str:
    role = boto.client("iam").create_role(RoleName=unique(), AssumeRolePolicyDocument=json.dumps(TRUST))
    return str(role["Role"]["Arn"])


def make_log_group(boto: Any) -> str:
    name = f"/aws/vendedlogs/states/{unique()}"
    boto.client("logs").create_log_group(logGroupName=name)
    return f"arn:aws:logs:eu-west-1:{boto.client('sts').get_caller_identity()['Account']}:log-group:{name}"


def describe(boto: Any, arn: str) -> dict[str, Any]:
    return dict(boto.client("stepfunctions").describe_state_machine(stateMachineArn=arn))


def test_state_machine_lifecycle(aws: Any, boto: Any) -> None:
    prov = StateMachineProvisioner(aws)
    spec = StateMachineSpec(
        name=unique(),
        definition=DONE,
        role_arn=make_role(boto),
        log_group_arn=make_log_group(boto),
        log_level="ERROR",
        tags=TAGS,
    )
    assert prov.read(spec) is None

    outputs = prov.create(spec)
    assert outputs["arn"] == f"arn:aws:states:eu-west-1:{aws.context().account_id}:stateMachine:{spec.name}"
    raw = describe(boto, outputs["arn"])
    # Step Functions wants the log group ARN with ":*"; the spec holds it without.
    destination = raw["loggingConfiguration"]["destinations"][0]["cloudWatchLogsLogGroup"]["logGroupArn"]
    assert destination == f"{spec.log_group_arn}:*"
    assert raw["definition"] == json.dumps(DONE, sort_keys=True, separators=(",", ":"))
    observed = read_back(prov, spec)
    assert observed.outputs == outputs

    changed = dataclasses.replace(
        spec,
        definition=WAIT_THEN_DONE,
        role_arn=make_role(boto),
        log_level="ALL",
        include_execution_data=True,
        tags={"batchctl:project": "demo", "batchctl:stage": "dev", "owner": "ml"},
    )
    assert prov.update(changed, observed) == outputs
    again = read_back(prov, changed)

    prov.delete(again)
    assert prov.read(spec) is None
    prov.delete(again)  # already gone is fine


def test_definition_only_update_reads_back(aws: Any, boto: Any) -> None:
    prov = StateMachineProvisioner(aws)
    spec = StateMachineSpec(name=unique(), definition=DONE, role_arn=make_role(boto), tags=TAGS)
    prov.create(spec)
    observed = prov.read(spec)
    assert observed is not None
    changed = dataclasses.replace(spec, definition=WAIT_THEN_DONE)
    prov.update(changed, observed)
    read_back(prov, changed)


def test_role_only_update_reads_back(aws: Any, boto: Any) -> None:
    prov = StateMachineProvisioner(aws)
    spec = StateMachineSpec(name=unique(), definition=DONE, role_arn=make_role(boto), tags=TAGS)
    prov.create(spec)
    observed = prov.read(spec)
    assert observed is not None
    changed = dataclasses.replace(spec, role_arn=make_role(boto))
    prov.update(changed, observed)
    read_back(prov, changed)


def test_logging_can_be_turned_off(aws: Any, boto: Any) -> None:
    prov = StateMachineProvisioner(aws)
    spec = StateMachineSpec(
        name=unique(),
        definition=DONE,
        role_arn=make_role(boto),
        log_group_arn=make_log_group(boto),
        log_level="ERROR",
        tags=TAGS,
    )
    prov.create(spec)
    observed = prov.read(spec)
    assert observed is not None
    quiet = dataclasses.replace(spec, log_group_arn=None, log_level="OFF")
    prov.update(quiet, observed)
    read_back(prov, quiet)


def test_unchanged_state_machine_update_sends_no_mutating_call(aws: Any, boto: Any, recorder: Any) -> None:
    prov = StateMachineProvisioner(aws)
    spec = StateMachineSpec(name=unique(), definition=DONE, role_arn=make_role(boto), tags=TAGS)
    prov.create(spec)
    observed = prov.read(spec)
    assert observed is not None
    recorder.calls.clear()
    prov.update(spec, observed)
    assert recorder.mutating == []


def test_untagged_state_machine_with_our_name_is_not_managed(aws: Any, boto: Any) -> None:
    name = unique()
    role = make_role(boto)
    boto.client("stepfunctions").create_state_machine(name=name, definition=json.dumps(DONE), roleArn=role)
    with pytest.raises(NotManagedError, match="not managed by batchctl"):
        StateMachineProvisioner(aws).read(
            StateMachineSpec(name=name, definition=DONE, role_arn=role, tags=TAGS)
        )


# moto accepts any role at once, applies updates at once and deletes at once; these tests stub the Step Functions
# client with AWS's answers (the STS call for the account still goes to moto).
@pytest.fixture
def stubbed_sfn(aws: Any) -> Iterator[Stubber]:
    aws.context()
    with Stubber(aws.client("stepfunctions")) as stubber:
        yield stubber
        stubber.assert_no_pending_responses()


def _spec(**changes: Any) -> StateMachineSpec:
    base = StateMachineSpec(
        name="demo-dev-job",
        definition=DONE,
        role_arn="arn:aws:iam::123456789012:role/demo-dev-job-sfn",
        tags=TAGS,
    )
    return dataclasses.replace(base, **changes)


def _described(arn: str, spec: StateMachineSpec, **extra: Any) -> dict[str, Any]:
    return {
        "stateMachineArn": arn,
        "name": spec.name,
        "status": "ACTIVE",
        "definition": json.dumps(spec.definition),
        "roleArn": spec.role_arn,
        "type": "STANDARD",
        "creationDate": NOW,
        "loggingConfiguration": {"level": "OFF", "includeExecutionData": False},
        **extra,
    }


def test_create_retries_while_the_new_role_cannot_be_assumed(aws: Any, stubbed_sfn: Stubber) -> None:
    spec = _spec()
    arn = aws.context().arn("states", f"stateMachine:{spec.name}")
    stubbed_sfn.add_client_error(
        "create_state_machine",
        service_error_code="AccessDeniedException",
        service_message="Neither the global service principal states.amazonaws.com, nor the regional one is "
        "authorized to assume the provided role.",
    )
    stubbed_sfn.add_client_error(
        "create_state_machine",
        service_error_code="StateMachineDeleting",
        service_message="State machine is being deleted",
    )
    stubbed_sfn.add_response("create_state_machine", {"stateMachineArn": arn, "creationDate": NOW})
    assert StateMachineProvisioner(aws).create(spec) == {"arn": arn}


def test_create_does_not_retry_a_caller_without_permission(aws: Any, stubbed_sfn: Stubber) -> None:
    stubbed_sfn.add_client_error(
        "create_state_machine",
        service_error_code="AccessDeniedException",
        service_message="User: arn:aws:iam::123456789012:user/ci is not authorized to perform: "
        "states:CreateStateMachine",
    )
    with pytest.raises(AwsAuthError, match="states:CreateStateMachine"):
        StateMachineProvisioner(aws).create(_spec())


def test_update_waits_until_the_new_definition_shows(aws: Any, stubbed_sfn: Stubber) -> None:
    before = _spec()
    desired = _spec(definition=WAIT_THEN_DONE)
    arn = aws.context().arn("states", f"stateMachine:{before.name}")
    stubbed_sfn.add_response(
        "update_state_machine",
        {"updateDate": NOW},
        {
            "stateMachineArn": arn,
            "definition": json.dumps(WAIT_THEN_DONE, sort_keys=True, separators=(",", ":")),
            "roleArn": before.role_arn,
        },
    )
    # DescribeStateMachine is eventually consistent: the first answer still has the old definition.
    stubbed_sfn.add_response("describe_state_machine", _described(arn, before), {"stateMachineArn": arn})
    stubbed_sfn.add_response("describe_state_machine", _described(arn, desired), {"stateMachineArn": arn})
    assert StateMachineProvisioner(aws).update(desired, Observed(before, {"arn": arn})) == {"arn": arn}


def test_logging_only_update_sends_the_role_too(aws: Any, stubbed_sfn: Stubber) -> None:
    # UpdateStateMachine without definition and roleArn fails with MissingRequiredParameter.
    before = _spec()
    log_group = "arn:aws:logs:eu-west-1:123456789012:log-group:/aws/vendedlogs/states/demo-dev-job"
    desired = _spec(log_group_arn=log_group, log_level="ERROR")
    arn = aws.context().arn("states", f"stateMachine:{before.name}")
    logging = {
        "level": "ERROR",
        "includeExecutionData": False,
        "destinations": [{"cloudWatchLogsLogGroup": {"logGroupArn": log_group + ":*"}}],
    }
    stubbed_sfn.add_response(
        "update_state_machine",
        {"updateDate": NOW},
        {"stateMachineArn": arn, "roleArn": before.role_arn, "loggingConfiguration": logging},
    )
    stubbed_sfn.add_response(
        "describe_state_machine",
        _described(arn, desired, loggingConfiguration=logging),
        {"stateMachineArn": arn},
    )
    StateMachineProvisioner(aws).update(desired, Observed(before, {"arn": arn}))


def test_deleting_state_machine_reads_as_absent_and_delete_waits_until_gone(
    aws: Any, stubbed_sfn: Stubber
) -> None:
    spec = _spec()
    arn = aws.context().arn("states", f"stateMachine:{spec.name}")
    prov = StateMachineProvisioner(aws)
    stubbed_sfn.add_response("describe_state_machine", _described(arn, spec, status="DELETING"))
    assert prov.read(spec) is None

    # No run in flight: nothing to stop before the delete.
    stubbed_sfn.add_response(
        "list_executions", {"executions": []}, {"stateMachineArn": arn, "statusFilter": "RUNNING"}
    )
    stubbed_sfn.add_response("delete_state_machine", {}, {"stateMachineArn": arn})
    stubbed_sfn.add_response("describe_state_machine", _described(arn, spec, status="DELETING"))
    stubbed_sfn.add_client_error(
        "describe_state_machine", service_error_code="StateMachineDoesNotExist", service_message="gone"
    )
    prov.delete(Observed(spec, {"arn": arn}))


def test_update_error_is_reported(aws: Any, stubbed_sfn: Stubber) -> None:
    before = _spec()
    stubbed_sfn.add_client_error(
        "update_state_machine", service_error_code="InvalidDefinition", service_message="bad ASL"
    )
    with pytest.raises(AwsError, match="InvalidDefinition"):
        StateMachineProvisioner(aws).update(
            _spec(definition={"StartAt": "X"}), Observed(before, {"arn": "a"})
        )
