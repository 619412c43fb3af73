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
from batchctl.specs import Observed, ScheduleGroupSpec, ScheduleSpec, schedule_marker
from tests.support.provisioners import read_back

TAGS = {"batchctl:project": "demo", "batchctl:stage": "dev", "team": "data"}
NOW = datetime(2026, 1, 1, tzinfo=UTC)


def unique() -> str:
    return f"t-{uuid4().hex[:8]}"


def make_group(aws: Any) -> str:
    name = unique()
    ScheduleGroupProvisioner(aws).create(ScheduleGroupSpec(name=name, tags=TAGS))
    return name


def schedule_spec(group: str, job: str = "job", **changes: Any) -> ScheduleSpec:
    """A schedule as build.py makes them: named `<group>-<job>` (the group is named `<project>-<stage>`)."""
    spec = ScheduleSpec(
        name=f"{group}-{job}",
        group_name=group,
        expression="cron(0 3 * * ? *)",
        timezone="Asia/Tokyo",
        target_arn="arn:aws:states:eu-west-1:123456789012:stateMachine:demo-dev-job",
        role_arn="arn:aws:iam::123456789012:role/demo-dev-job-sched",
        input='{"source":"schedule","time":"<aws.scheduler.scheduled-time>"}',
        description=schedule_marker("demo", "dev", job),
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


def create_by_hand(boto: Any, spec: ScheduleSpec, **changes: Any) -> None:
    """A schedule made outside batchctl (console, another tool): `spec`'s fields, with `changes` (Description
    left out when it is None)."""
    params = {**ScheduleProvisioner.to_request(spec), **changes}
    boto.client("scheduler").create_schedule(**{k: v for k, v in params.items() if v is not None})


@pytest.mark.parametrize(
    "description",
    [
        None,  # the console's default
        "nightly export, ask the data team",
        schedule_marker("demo", "prod", "job"),  # another stage's marker
        schedule_marker("demo", "dev", "other-job"),  # a marker for another name
        "managed by batchctl: project=demo stage=dev job=job (copied)",
    ],
)
def test_schedule_with_our_name_without_our_marker_is_not_managed_and_never_updated(
    aws: Any, boto: Any, recorder: Any, description: str | None
) -> None:
    spec = schedule_spec(make_group(aws))
    create_by_hand(boto, spec, Description=description, ScheduleExpression="rate(5 minutes)")
    before = boto.client("scheduler").get_schedule(Name=spec.name, GroupName=spec.group_name)
    recorder.calls.clear()
    with pytest.raises(NotManagedError, match=f"{spec.name} exists but is not managed by batchctl"):
        ScheduleProvisioner(aws).read(spec)
    assert recorder.mutating == []
    after = boto.client("scheduler").get_schedule(Name=spec.name, GroupName=spec.group_name)
    assert after == {**before, "ResponseMetadata": after["ResponseMetadata"]}


def test_schedule_from_before_the_marker_is_ours_and_an_update_adds_the_marker(aws: Any, boto: Any) -> None:
    # Until the marker existed, batchctl described a schedule as `batchctl <group>: <job>`.
    spec = schedule_spec(make_group(aws))
    create_by_hand(boto, spec, Description=f"batchctl {spec.group_name}: job")
    prov = ScheduleProvisioner(aws)
    observed = prov.read(spec)
    assert observed is not None
    assert observed.state == dataclasses.replace(spec, description=f"batchctl {spec.group_name}: job")
    prov.update(spec, observed)
    read_back(prov, spec)


def test_group_holding_a_schedule_we_did_not_create_is_left_in_place_saying_why(aws: Any, boto: Any) -> None:
    groups, schedules = ScheduleGroupProvisioner(aws), ScheduleProvisioner(aws)
    group = ScheduleGroupSpec(name=unique(), tags=TAGS)
    groups.create(group)
    ours = schedule_spec(group.name)
    schedules.create(ours)
    theirs = schedule_spec(group.name, job="export", description="")
    create_by_hand(boto, theirs, Description=None)
    observed = read_back(groups, group)

    with pytest.raises(NotManagedError) as refused:
        groups.delete(observed)
    assert refused.value.message == (
        f"scheduler.schedule_group/{group.name} was left in place: deleting it would delete 1 schedule(s) in "
        f"it that batchctl did not create ({theirs.name}); move or delete them, then destroy again"
    )
    read_back(groups, group)
    read_back(schedules, ours)
    assert (
        boto.client("scheduler").get_schedule(Name=theirs.name, GroupName=group.name)["Name"] == theirs.name
    )

    boto.client("scheduler").delete_schedule(Name=theirs.name, GroupName=group.name)
    groups.delete(observed)  # only ours left: the group goes, and ours with it
    assert groups.read(group) is None
    assert schedules.read(ours) is None


def test_group_left_in_place_names_the_first_ten_schedules_not_ours(aws: Any, boto: Any) -> None:
    groups = ScheduleGroupProvisioner(aws)
    group = ScheduleGroupSpec(name=unique(), tags=TAGS)
    groups.create(group)
    theirs = sorted(f"export-{i:02}" for i in range(11))
    for name in theirs:
        create_by_hand(boto, dataclasses.replace(schedule_spec(group.name), name=name), Description=None)
    with pytest.raises(NotManagedError) as refused:
        groups.delete(read_back(groups, group))
    assert f"11 schedule(s) in it that batchctl did not create ({', '.join(theirs[:10])}, ...);" in str(
        refused.value
    )
    read_back(groups, group)


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
