"""SNS topics and their email subscriptions. Imports: specs, aws, errors, provisioners.base.

A topic is found by its exact ARN (computed from the caller's context), never by listing topics.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from batchctl.aws import Aws
from batchctl.errors import AwsError
from batchctl.provisioners.base import Observed, check_owned, observation, tags_from_list, tags_to_list
from batchctl.specs import AwsDict, Key, Kind, Outputs, TopicSpec

NOT_FOUND = "NotFound"
EMAIL = "email"
# Until the recipient clicks the link, SNS lists an email subscription with this in place of an ARN.
PENDING = "PendingConfirmation"
GONE_TIMEOUT_S = 60.0


@dataclass(frozen=True, slots=True)
class _Subscription:
    endpoint: str
    arn: str

    @property
    def is_pending(self) -> bool:
        return self.arn == PENDING


class TopicProvisioner:
    """Standard topic named exactly `spec.name`, with one email subscription per address."""

    kind: ClassVar[Kind] = Kind.SNS_TOPIC

    def __init__(self, aws: Aws) -> None:
        self.aws = aws

    @staticmethod
    def to_request(spec: TopicSpec) -> AwsDict:
        """The CreateTopic parameters for `spec` (each email is subscribed by a call of its own)."""
        return {"Name": spec.name, "Tags": tags_to_list(spec.tags)}

    @staticmethod
    def from_described(item: AwsDict) -> TopicSpec:
        """The topic `Name` with its `Tags` (ListTagsForResource) and `Subscriptions` (ListSubscriptionsByTopic)
        in the spec's shape. Pending confirmations count as present: re-subscribing would only send the address
        another email."""
        emails = {
            str(sub["Endpoint"]) for sub in item.get("Subscriptions", []) if sub.get("Protocol") == EMAIL
        }
        return TopicSpec(
            name=str(item["Name"]), emails=tuple(sorted(emails)), tags=tags_from_list(item.get("Tags", []))
        )

    def read(self, spec: TopicSpec) -> Observed[TopicSpec] | None:
        arn = self._arn(spec.name)
        if not self._exists(spec.key, arn):
            return None
        tags = self.aws.call("sns", "list_tags_for_resource", key=spec.key, ResourceArn=arn).get("Tags", [])
        check_owned(spec.key, spec.tags, tags_from_list(tags))
        subscriptions = self._subscriptions(spec.key, arn)
        state = self.from_described({"Name": spec.name, "Tags": tags, "Subscriptions": subscriptions})
        return observation(spec, state, {"arn": arn})

    def create(self, spec: TopicSpec) -> Outputs:
        arn = str(self.aws.call("sns", "create_topic", key=spec.key, **self.to_request(spec))["TopicArn"])
        try:
            for email in spec.emails:
                self._subscribe(spec.key, arn, email)
        except AwsError:
            self._delete_quietly(spec.key, arn)
            raise
        return {"arn": arn}

    def update(self, spec: TopicSpec, observed: Observed[TopicSpec]) -> Outputs:
        before = observed.state
        key = spec.key
        arn = observed.outputs.get("arn") or self._arn(spec.name)
        for email in sorted(set(spec.emails) - set(before.emails)):
            self._subscribe(key, arn, email)
        removed = set(before.emails) - set(spec.emails)
        if removed:
            for sub in self._email_subscriptions(key, arn):
                # A pending subscription has no ARN yet ("PendingConfirmation"), so Unsubscribe cannot name it.
                # SNS deletes unconfirmed subscriptions by itself after 48 hours (aws.amazon.com what's-new
                # 2023-05); until then reads still list the address and plans show the removal again.
                if sub.endpoint in removed and not sub.is_pending:
                    self.aws.call("sns", "unsubscribe", key=key, SubscriptionArn=sub.arn)
        if dict(spec.tags) != dict(before.tags):
            stale = sorted(k for k in before.tags if k not in spec.tags)
            if stale:
                self.aws.call("sns", "untag_resource", key=key, ResourceArn=arn, TagKeys=stale)
            if spec.tags:
                self.aws.call("sns", "tag_resource", key=key, ResourceArn=arn, Tags=tags_to_list(spec.tags))
        return {"arn": arn}

    def delete(self, observed: Observed[TopicSpec]) -> None:
        spec = observed.state
        arn = observed.outputs.get("arn") or self._arn(spec.name)
        # DeleteTopic also deletes the topic's subscriptions, pending ones included.
        try:
            self.aws.call("sns", "delete_topic", key=spec.key, TopicArn=arn)
        except AwsError as exc:
            if exc.code != NOT_FOUND:
                raise
        self.aws.wait_until(
            lambda: True if not self._exists(spec.key, arn) else None,
            what=f"{spec.key} to be deleted",
            timeout_s=GONE_TIMEOUT_S,
            key=spec.key,
        )

    # ---- helpers -------------------------------------------------------------------------------------------
    def _arn(self, name: str) -> str:
        return self.aws.context().arn("sns", name)

    def _exists(self, key: Key, arn: str) -> bool:
        try:
            self.aws.call("sns", "get_topic_attributes", key=key, TopicArn=arn)
        except AwsError as exc:
            if exc.code == NOT_FOUND:
                return False
            raise
        return True

    def _subscriptions(self, key: Key, arn: str) -> list[AwsDict]:
        return [
            sub
            for page in self.aws.pages("sns", "list_subscriptions_by_topic", key=key, TopicArn=arn)
            for sub in page.get("Subscriptions", [])
        ]

    def _email_subscriptions(self, key: Key, arn: str) -> list[_Subscription]:
        return [
            _Subscription(endpoint=str(sub["Endpoint"]), arn=str(sub["SubscriptionArn"]))
            for sub in self._subscriptions(key, arn)
            if sub.get("Protocol") == EMAIL
        ]

    def _subscribe(self, key: Key, arn: str, email: str) -> None:
        self.aws.call("sns", "subscribe", key=key, TopicArn=arn, Protocol=EMAIL, Endpoint=email)

    def _delete_quietly(self, key: Key, arn: str) -> None:
        """Best-effort cleanup after a failed create; the create's own error is the one worth reporting."""
        try:
            self.aws.call("sns", "delete_topic", key=key, TopicArn=arn)
        except AwsError:
            return
