"""EventBridge rules on the default bus with one state machine target (the S3 trigger). Imports: specs, aws,
errors, provisioners.base. PutRule and PutTargets are upserts; tags via TagResource/UntagResource.

A rule is found by exact name (DescribeRule) and proven ours by its tags before anything else is read.
"""

from __future__ import annotations

import json
from typing import ClassVar

from batchctl.aws import Aws
from batchctl.errors import AwsError
from batchctl.provisioners.base import (
    Observed,
    check_owned,
    observation,
    stale_and_changed,
    tags_from_list,
    tags_to_list,
)
from batchctl.specs import EVENT_RULE_TARGET_ID, AwsDict, EventRuleSpec, Key, Kind, Outputs

NOT_FOUND = "ResourceNotFoundException"
TARGET_ID = EVENT_RULE_TARGET_ID


class EventRuleProvisioner:
    """Rule named exactly `spec.name` on the default event bus, with its one target."""

    kind: ClassVar[Kind] = Kind.EVENT_RULE

    def __init__(self, aws: Aws) -> None:
        self.aws = aws

    @staticmethod
    def to_request(spec: EventRuleSpec) -> AwsDict:
        """The PutRule parameters for `spec` (tags only count on creation; PutTargets follows)."""
        params: AwsDict = {
            "Name": spec.name,
            "EventPattern": json.dumps(spec.event_pattern, sort_keys=True, separators=(",", ":")),
            "State": spec.state,
            "Tags": tags_to_list(spec.tags),
        }
        if spec.description:
            params["Description"] = spec.description
        return params

    @staticmethod
    def target(spec: EventRuleSpec) -> AwsDict:
        """The rule's one target: the state machine, started with the role, the event reshaped."""
        return {
            "Id": TARGET_ID,
            "Arn": spec.target_arn,
            "RoleArn": spec.role_arn,
            "InputTransformer": {
                "InputPathsMap": dict(spec.input_paths),
                "InputTemplate": spec.input_template,
            },
        }

    @staticmethod
    def from_described(rule: AwsDict, targets: list[AwsDict], tags: list[AwsDict]) -> EventRuleSpec:
        """DescribeRule, ListTargetsByRule and ListTagsForResource answers in the spec's shape."""
        target = next((t for t in targets if t.get("Id") == TARGET_ID), {})
        transformer: AwsDict = target.get("InputTransformer") or {}
        return EventRuleSpec(
            name=str(rule["Name"]),
            event_pattern=json.loads(rule.get("EventPattern") or "{}"),
            target_arn=str(target.get("Arn", "")),
            role_arn=str(target.get("RoleArn", "")),
            input_paths={str(k): str(v) for k, v in (transformer.get("InputPathsMap") or {}).items()},
            input_template=str(transformer.get("InputTemplate", "")),
            state=str(rule.get("State", "ENABLED")),
            description=str(rule.get("Description", "")),
            tags=tags_from_list(tags),
        )

    def read(self, spec: EventRuleSpec) -> Observed[EventRuleSpec] | None:
        rule = self._describe(spec.key, spec.name)
        if rule is None:
            return None
        arn = str(rule["Arn"])
        tags = self.aws.call("events", "list_tags_for_resource", key=spec.key, ResourceARN=arn).get(
            "Tags", []
        )
        check_owned(spec.key, spec.tags, tags_from_list(tags))
        targets = self.aws.call("events", "list_targets_by_rule", key=spec.key, Rule=spec.name).get(
            "Targets", []
        )
        return observation(spec, self.from_described(rule, targets, tags), {"arn": arn})

    def create(self, spec: EventRuleSpec) -> Outputs:
        arn = str(self.aws.call("events", "put_rule", key=spec.key, **self.to_request(spec))["RuleArn"])
        try:
            self._put_target(spec)
        except AwsError:
            self._delete_quietly(spec)
            raise
        return {"arn": arn}

    def update(self, spec: EventRuleSpec, observed: Observed[EventRuleSpec]) -> Outputs:
        before = observed.state
        params = self.to_request(spec)
        del params["Tags"]  # PutRule ignores Tags on an existing rule
        arn = str(self.aws.call("events", "put_rule", key=spec.key, **params)["RuleArn"])
        if self.target(spec) != self.target(before):
            self._put_target(spec)
        stale, changed = stale_and_changed(spec.tags, before.tags)
        if stale:
            self.aws.call("events", "untag_resource", key=spec.key, ResourceARN=arn, TagKeys=stale)
        if changed:
            self.aws.call("events", "tag_resource", key=spec.key, ResourceARN=arn, Tags=tags_to_list(changed))
        return {"arn": arn}

    def delete(self, observed: Observed[EventRuleSpec]) -> None:
        self._delete_quietly(observed.state, quiet=False)

    # ---- helpers -------------------------------------------------------------------------------------------
    def _describe(self, key: Key, name: str) -> AwsDict | None:
        try:
            return self.aws.call("events", "describe_rule", key=key, Name=name)
        except AwsError as exc:
            if exc.code == NOT_FOUND:
                return None
            raise

    def _put_target(self, spec: EventRuleSpec) -> None:
        answer = self.aws.call(
            "events", "put_targets", key=spec.key, Rule=spec.name, Targets=[self.target(spec)]
        )
        if answer.get("FailedEntryCount"):
            failed = answer.get("FailedEntries") or [{}]
            raise AwsError(
                f"events PutTargets failed for {spec.key}: {failed[0].get('ErrorMessage', 'unknown error')}",
                service="events",
                operation="PutTargets",
                key=str(spec.key),
            )

    def _delete_quietly(self, spec: EventRuleSpec, *, quiet: bool = True) -> None:
        """Remove the targets (DeleteRule refuses a rule that has any), then the rule."""
        try:
            self.aws.call(
                "events", "remove_targets", key=spec.key, Rule=spec.name, Ids=[TARGET_ID], Force=False
            )
            self.aws.call("events", "delete_rule", key=spec.key, Name=spec.name)
        except AwsError as exc:
            if exc.code != NOT_FOUND and not quiet:
                raise
