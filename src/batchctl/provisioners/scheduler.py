"""EventBridge Scheduler schedule groups and schedules. Imports: specs, aws, errors, naming, provisioners.base.

Schedules cannot be tagged (AWS-QUIRKS 37): a schedule is ours when its group carries our tags (the group
provisioner checks them; each schedule depends on its group) and its Description is our marker
(specs.schedule_marker). Any other schedule in the group is someone else's: never updated, deleted or deleted with
the group."""

from __future__ import annotations

from collections.abc import Collection
from typing import ClassVar

from batchctl.aws import Aws
from batchctl.errors import AwsError, NotManagedError
from batchctl.naming import TAG_PROJECT, TAG_STAGE
from batchctl.provisioners.base import (
    POLL_INTERVAL_S,
    Observed,
    check_owned,
    observation,
    stale_and_changed,
    tags_from_list,
    tags_to_list,
)
from batchctl.specs import (
    AwsDict,
    Key,
    Kind,
    Outputs,
    ScheduleGroupSpec,
    ScheduleSpec,
    marker_owner,
    schedule_owned,
)

NOT_FOUND = "ResourceNotFoundException"
DELETING = "DELETING"
GONE_TIMEOUT_S = 300.0
# The API's defaults when a schedule leaves them out.
DEFAULT_TIMEZONE = "UTC"
# A role minutes old may not be assumable by Scheduler yet: CreateSchedule/UpdateSchedule then answer
# ValidationException with this message. Retried for about 2 minutes, as terraform-provider-aws does
# (internal/service/scheduler retry.go).
ROLE_PROPAGATION_MESSAGES = ("must allow AWS EventBridge Scheduler to assume the role",)
ROLE_PROPAGATION_TIMEOUT_S = 120.0
DEFAULT_RETRY_ATTEMPTS = 185
DEFAULT_MAX_EVENT_AGE_S = 86400
SHOWN = 10  # foreign schedules named in the message of a group left in place


def group_schedules(aws: Aws, group: str, *, skip: Collection[str] = ()) -> dict[str, str] | None:
    """Name → Description of each schedule in `group` not in `skip` (ListSchedules has no Description, so one
    GetSchedule each); None when the group does not exist."""
    key = f"{Kind.SCHEDULE_GROUP.value}/{group}"
    try:
        listed = [
            str(schedule["Name"])
            for page in aws.pages("scheduler", "list_schedules", key=key, GroupName=group)
            for schedule in page.get("Schedules", [])
            if str(schedule["Name"]) not in skip
        ]
    except AwsError as exc:
        if exc.code == NOT_FOUND:
            return None
        raise
    found = {}
    for name in listed:
        try:
            item = aws.call("scheduler", "get_schedule", key=f"{group}/{name}", Name=name, GroupName=group)
        except AwsError as exc:
            if exc.code == NOT_FOUND:  # deleted since the listing
                continue
            raise
        found[name] = str(item.get("Description") or "")
    return found


def foreign_in_group(
    aws: Aws, group: str, *, project: str, stage: str, skip: Collection[str] = ()
) -> list[str]:
    """Names (sorted) of the schedules in `group` whose Description is not our marker for this project and stage:
    someone else's, whatever their name. Empty when the group does not exist."""
    found = group_schedules(aws, group, skip=skip) or {}
    return sorted(
        name
        for name, description in found.items()
        if not schedule_owned(description, name=name, group=group, project=project, stage=stage)
    )


def schedule_parameters(spec: ScheduleSpec) -> AwsDict:
    """Every field of a schedule, as CreateSchedule and UpdateSchedule take them.

    UpdateSchedule replaces the whole schedule: a field it is not sent goes back to its default.
    """
    target: AwsDict = {
        "Arn": spec.target_arn,
        "RoleArn": spec.role_arn,
        "RetryPolicy": {
            "MaximumRetryAttempts": spec.retry_attempts,
            "MaximumEventAgeInSeconds": spec.max_event_age_s,
        },
    }
    if spec.input:  # Target.Input must not be empty when present
        target["Input"] = spec.input
    return {
        "Name": spec.name,
        "GroupName": spec.group_name,
        "ScheduleExpression": spec.expression,
        "ScheduleExpressionTimezone": spec.timezone,
        "FlexibleTimeWindow": {"Mode": "OFF"},
        "Target": target,
        "State": spec.state,
        "Description": spec.description,
    }


class ScheduleGroupProvisioner:
    """Schedule group named exactly `spec.name`, tagged with our ownership tags."""

    kind: ClassVar[Kind] = Kind.SCHEDULE_GROUP

    def __init__(self, aws: Aws) -> None:
        self.aws = aws

    @staticmethod
    def to_request(spec: ScheduleGroupSpec) -> AwsDict:
        """The CreateScheduleGroup parameters for `spec`, tags included."""
        return {"Name": spec.name, "Tags": tags_to_list(spec.tags)}

    @staticmethod
    def from_described(item: AwsDict) -> ScheduleGroupSpec:
        """GetScheduleGroup's answer, with the group's `Tags` (ListTagsForResource), in the spec's shape."""
        return ScheduleGroupSpec(name=str(item["Name"]), tags=tags_from_list(item.get("Tags", [])))

    def read(self, spec: ScheduleGroupSpec) -> Observed[ScheduleGroupSpec] | None:
        group = self._get(spec.key, spec.name)
        # A DELETING group is on its way out (with its schedules): for planning it is gone already, and create()
        # waits for the name to be free.
        if group is None or group.get("State") == DELETING:
            return None
        arn = str(group["Arn"])
        listed = self.aws.call("scheduler", "list_tags_for_resource", key=spec.key, ResourceArn=arn)
        state = self.from_described({**group, "Tags": listed.get("Tags", [])})
        check_owned(spec.key, spec.tags, state.tags)
        return observation(spec, state, {"arn": arn})

    def create(self, spec: ScheduleGroupSpec) -> Outputs:
        group = self._get(spec.key, spec.name)
        if group is not None and group.get("State") == DELETING:
            self._wait_gone(spec)
        # A single call, tags included: if it fails, nothing was created.
        created = self.aws.call("scheduler", "create_schedule_group", key=spec.key, **self.to_request(spec))
        return {"arn": str(created["ScheduleGroupArn"])}

    def update(self, spec: ScheduleGroupSpec, observed: Observed[ScheduleGroupSpec]) -> Outputs:
        before = observed.state
        arn = observed.outputs.get("arn") or self.aws.context().arn(
            "scheduler", f"schedule-group/{spec.name}"
        )
        stale, retagged = stale_and_changed(spec.tags, before.tags)
        if stale:
            self.aws.call("scheduler", "untag_resource", key=spec.key, ResourceArn=arn, TagKeys=stale)
        if retagged:
            self.aws.call(
                "scheduler", "tag_resource", key=spec.key, ResourceArn=arn, Tags=tags_to_list(retagged)
            )
        return {"arn": arn}

    def delete(self, observed: Observed[ScheduleGroupSpec]) -> None:
        """Delete the group; AWS deletes the schedules in it too, asynchronously (the group shows DELETING). A group
        still holding a schedule batchctl did not create is left in place (NotManagedError naming them)."""
        spec = observed.state
        # moto 5.2.5 answers DeleteScheduleGroup for a missing group with a 500 (KeyError) rather than
        # ResourceNotFoundException, which botocore would retry: look first.
        if self._get(spec.key, spec.name) is None:
            return
        project, stage = spec.tags.get(TAG_PROJECT, ""), spec.tags.get(TAG_STAGE, "")
        foreign = foreign_in_group(self.aws, spec.name, project=project, stage=stage)
        if foreign:
            shown = ", ".join(foreign[:SHOWN]) + (", ..." if len(foreign) > SHOWN else "")
            raise NotManagedError(
                f"{spec.key} was left in place: deleting it would delete {len(foreign)} schedule(s) in it that "
                f"batchctl did not create ({shown}); move or delete them, then destroy again",
                hint="schedules batchctl creates carry 'managed by batchctl: ...' in their description",
            )
        try:
            self.aws.call("scheduler", "delete_schedule_group", key=spec.key, Name=spec.name)
        except AwsError as exc:
            if exc.code != NOT_FOUND:
                raise
        self._wait_gone(spec)

    def _get(self, key: Key, name: str) -> AwsDict | None:
        try:
            return self.aws.call("scheduler", "get_schedule_group", key=key, Name=name)
        except AwsError as exc:
            if exc.code == NOT_FOUND:
                return None
            raise

    def _wait_gone(self, spec: ScheduleGroupSpec) -> None:
        self.aws.wait_until(
            lambda: True if self._get(spec.key, spec.name) is None else None,
            what=f"{spec.key} to be deleted",
            timeout_s=GONE_TIMEOUT_S,
            interval_s=POLL_INTERVAL_S,
            key=spec.key,
        )


class ScheduleProvisioner:
    """Schedule `spec.name` in group `spec.group_name`; UpdateSchedule is a full replace, so every field is sent."""

    kind: ClassVar[Kind] = Kind.SCHEDULE

    def __init__(self, aws: Aws) -> None:
        self.aws = aws

    @staticmethod
    def to_request(spec: ScheduleSpec) -> AwsDict:
        """The CreateSchedule (and UpdateSchedule) parameters for `spec`: every field."""
        return schedule_parameters(spec)

    @staticmethod
    def from_described(item: AwsDict) -> ScheduleSpec:
        """GetSchedule's answer in the spec's shape; what it leaves out reads as the API's default."""
        target: AwsDict = item.get("Target") or {}
        retry: AwsDict = target.get("RetryPolicy") or {}
        return ScheduleSpec(
            name=str(item["Name"]),
            group_name=str(item["GroupName"]),
            expression=str(item["ScheduleExpression"]),
            timezone=str(item.get("ScheduleExpressionTimezone") or DEFAULT_TIMEZONE),
            target_arn=str(target.get("Arn", "")),
            role_arn=str(target.get("RoleArn", "")),
            input=str(target.get("Input", "")),
            state=str(item.get("State", "ENABLED")),
            retry_attempts=int(retry.get("MaximumRetryAttempts", DEFAULT_RETRY_ATTEMPTS)),
            max_event_age_s=int(retry.get("MaximumEventAgeInSeconds", DEFAULT_MAX_EVENT_AGE_S)),
            description=str(item.get("Description") or ""),
        )

    def read(self, spec: ScheduleSpec) -> Observed[ScheduleSpec] | None:
        schedule = self._get(spec)
        if schedule is None:
            return None
        described = {"Name": spec.name, "GroupName": spec.group_name, **schedule}
        live = str(schedule.get("Description") or "")
        if not self._owned(spec, live):
            raise NotManagedError(
                f"{spec.key} exists but is not managed by batchctl for this project and stage "
                f"(its description is {live!r}, not batchctl's marker)",
                hint="delete or rename that schedule yourself, or rename the job or stage in jobs.yaml",
            )
        return observation(spec, self.from_described(described), {"arn": str(schedule["Arn"])})

    def create(self, spec: ScheduleSpec) -> Outputs:
        # A single call: if it fails, nothing was created.
        created = self._while_role_propagates(spec, "create_schedule")
        return {"arn": str(created["ScheduleArn"])}

    def update(self, spec: ScheduleSpec, observed: Observed[ScheduleSpec]) -> Outputs:
        # UpdateSchedule replaces the whole schedule, so it takes every field, as CreateSchedule does.
        updated = self._while_role_propagates(spec, "update_schedule")
        return {"arn": str(updated.get("ScheduleArn") or observed.outputs.get("arn", ""))}

    def _while_role_propagates(self, spec: ScheduleSpec, operation: str) -> AwsDict:
        return self.aws.retry_on(
            lambda: self.aws.call("scheduler", operation, key=spec.key, **self.to_request(spec)),
            codes=frozenset({"ValidationException"}),
            messages=ROLE_PROPAGATION_MESSAGES,
            what=f"the role of {spec.key} to be assumable by EventBridge Scheduler",
            timeout_s=ROLE_PROPAGATION_TIMEOUT_S,
            interval_s=POLL_INTERVAL_S,
        )

    def delete(self, observed: Observed[ScheduleSpec]) -> None:
        spec = observed.state
        try:
            self.aws.call(
                "scheduler", "delete_schedule", key=spec.key, Name=spec.name, GroupName=spec.group_name
            )
        except AwsError as exc:
            if exc.code != NOT_FOUND:
                raise
        self.aws.wait_until(
            lambda: True if self._get(spec) is None else None,
            what=f"{spec.key} to be deleted",
            timeout_s=GONE_TIMEOUT_S,
            interval_s=POLL_INTERVAL_S,
            key=spec.key,
        )

    @staticmethod
    def _owned(spec: ScheduleSpec, live: str) -> bool:
        """Whether the live Description proves the schedule is ours: the marker `spec` is built with names the
        project and stage; the job is the one the schedule's name was generated for."""
        owner = marker_owner(spec.description)
        if owner is None:
            return live == spec.description
        project, stage, _ = owner
        return schedule_owned(live, name=spec.name, group=spec.group_name, project=project, stage=stage)

    def _get(self, spec: ScheduleSpec) -> AwsDict | None:
        # ResourceNotFoundException covers both a missing schedule and a missing group.
        try:
            return self.aws.call(
                "scheduler", "get_schedule", key=spec.key, Name=spec.name, GroupName=spec.group_name
            )
        except AwsError as exc:
            if exc.code == NOT_FOUND:
                return None
            raise
