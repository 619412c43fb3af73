"""Lifecycle and ownership of the EventBridge Scheduler group and schedule provisioners (moto server)."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any
from uuid import uuid4

import pytest
from botocore.stub import Stubber

from batchctl.errors import NotManagedError
from batchctl.provisioners.scheduler import ScheduleGroupProvisioner, ScheduleProvisioner
from batchctl.specs import Observed, ScheduleGroupSpec, ScheduleSpec
from tests.support.provisioners import read_back

TAGS = {"batchctl:project": "demo", "batchctl:stage": "dev", "team": "data"}
NOW = datetime(2026, 1, 1, tzinfo=UTC)


def unique() -> str:
    return f"t-{uuid4().hex[:8]}"


def make_group(aws: Any) -> str:
    name = unique()
    ScheduleGroupProvisioner(aws).create(ScheduleGroupSpec(name=name, tags=TAGS))
    return name


def schedule_spec(group: str, **changes: Any) -> ScheduleSpec:
    spec = ScheduleSpec(
        name=unique(),
        group_name=group,
        expression="cron(0 3 * * ? *)",
        timezone="Asia/Tokyo",
        target_arn="arn:aws:states:eu-west-1:123456789012:stateMachine:demo-dev-job",
        role_arn="arn:aws:iam::123456789012:role/demo-dev-job-sched",
        input='{"source":"schedule","time":"<aws.scheduler.scheduled-time>"}',
        description="batchctl demo-dev: job",
    )
    return dataclasses.replace(spec, **changes)


def test_schedule_group_lifecycle(aws: Any) -> None:
    prov = ScheduleGroupProvisioner(aws)
    spec = ScheduleGroupSpec(name=unique(), tags=TAGS)
    assert prov.read(spec) is None

    outputs = prov.create(spec)
    assert (
        outputs["arn"] == f"arn:aws:scheduler:eu-west-1:{aws.context().account_id}:schedule-group/{spec.name}"
    )
    observed = read_back(prov, spec)
    assert observed.outputs == outputs

    changed = dataclasses.replace(
        spec, tags={"batchctl:project": "demo", "batchctl:stage": "dev", "owner": "ml"}
    )
    assert prov.update(changed, observed) == outputs
    again = read_back(prov, changed)

    prov.delete(again)
    assert prov.read(spec) is None
    prov.delete(again)  # already gone is fine


def test_untagged_schedule_group_with_our_name_is_not_managed(aws: Any, boto: Any) -> None:
    # Schedules cannot be tagged: this check on their group is what keeps us off other people's schedules.
    name = unique()
    boto.client("scheduler").create_schedule_group(Name=name)
    with pytest.raises(NotManagedError, match="not managed by batchctl"):
        ScheduleGroupProvisioner(aws).read(ScheduleGroupSpec(name=name, tags=TAGS))


def test_schedule_lifecycle_with_timezone(aws: Any) -> None:
    prov = ScheduleProvisioner(aws)
    spec = schedule_spec(make_group(aws))
    assert prov.read(spec) is None

    outputs = prov.create(spec)
    account = aws.context().account_id
    assert outputs["arn"] == f"arn:aws:scheduler:eu-west-1:{account}:schedule/{spec.group_name}/{spec.name}"
    observed = read_back(prov, spec)
    assert observed.state.timezone == "Asia/Tokyo"
    assert observed.outputs == outputs

    changed = dataclasses.replace(
        spec,
        expression="rate(1 hour)",
        timezone="Europe/Paris",
        state="DISABLED",
        retry_attempts=3,
        max_event_age_s=3600,
        description="",
    )
    assert prov.update(changed, observed) == outputs
    again = read_back(prov, changed)

    prov.delete(again)
    assert prov.read(spec) is None
    prov.delete(again)  # already gone is fine


def test_schedule_in_a_missing_group_reads_as_absent(aws: Any) -> None:
    assert ScheduleProvisioner(aws).read(schedule_spec(unique())) is None


def test_deleting_the_group_deletes_its_schedules(aws: Any) -> None:
    group = ScheduleGroupSpec(name=unique(), tags=TAGS)
    groups = ScheduleGroupProvisioner(aws)
    groups.create(group)
    spec = schedule_spec(group.name)
    ScheduleProvisioner(aws).create(spec)
    observed = groups.read(group)
    assert observed is not None
    groups.delete(observed)
    assert ScheduleProvisioner(aws).read(spec) is None


# UpdateSchedule is a full replace: a field left out goes back to its default. Check what we send.
@pytest.fixture
def stubbed_scheduler(aws: Any) -> Iterator[Stubber]:
    with Stubber(aws.client("scheduler")) as stubber:
        yield stubber
        stubber.assert_no_pending_responses()


def test_update_sends_every_field(aws: Any, stubbed_scheduler: Stubber) -> None:
    before = schedule_spec("demo-dev")
    desired = dataclasses.replace(before, state="DISABLED")
    arn = f"arn:aws:scheduler:eu-west-1:123456789012:schedule/demo-dev/{before.name}"
    stubbed_scheduler.add_response(
        "update_schedule",
        {"ScheduleArn": arn},
        {
            "Name": before.name,
            "GroupName": "demo-dev",
            "ScheduleExpression": "cron(0 3 * * ? *)",
            "ScheduleExpressionTimezone": "Asia/Tokyo",
            "FlexibleTimeWindow": {"Mode": "OFF"},
            "Target": {
                "Arn": before.target_arn,
                "RoleArn": before.role_arn,
                "Input": before.input,
                "RetryPolicy": {"MaximumRetryAttempts": 185, "MaximumEventAgeInSeconds": 86400},
            },
            "State": "DISABLED",
            "Description": before.description,
        },
    )
    assert ScheduleProvisioner(aws).update(desired, Observed(before, {"arn": arn})) == {"arn": arn}


def test_deleting_group_reads_as_absent_and_create_waits_for_it(aws: Any, stubbed_scheduler: Stubber) -> None:
    spec = ScheduleGroupSpec(name="demo-dev", tags=TAGS)
    arn = "arn:aws:scheduler:eu-west-1:123456789012:schedule-group/demo-dev"
    deleting = {"Arn": arn, "Name": "demo-dev", "State": "DELETING", "CreationDate": NOW}
    stubbed_scheduler.add_response("get_schedule_group", deleting, {"Name": "demo-dev"})
    assert ScheduleGroupProvisioner(aws).read(spec) is None

    stubbed_scheduler.add_response("get_schedule_group", deleting, {"Name": "demo-dev"})
    stubbed_scheduler.add_response("get_schedule_group", deleting, {"Name": "demo-dev"})
    stubbed_scheduler.add_client_error(
        "get_schedule_group", service_error_code="ResourceNotFoundException", service_message="gone"
    )
    stubbed_scheduler.add_response(
        "create_schedule_group",
        {"ScheduleGroupArn": arn},
        {"Name": "demo-dev", "Tags": [{"Key": k, "Value": v} for k, v in sorted(TAGS.items())]},
    )
    assert ScheduleGroupProvisioner(aws).create(spec) == {"arn": arn}
