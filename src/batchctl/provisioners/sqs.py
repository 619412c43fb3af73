"""SQS queues with an optional dead-letter redrive policy. Imports: specs, aws, errors, provisioners.base.

Found by exact name (GetQueueUrl); string attributes read back as ints, the RedrivePolicy JSON parsed."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Mapping, Sequence
from typing import ClassVar

from batchctl.aws import Aws
from batchctl.errors import AwsError
from batchctl.provisioners.base import (
    POLL_INTERVAL_S,
    Hints,
    Observed,
    check_owned,
    observation,
    prefetching,
    stale_and_changed,
    tagged_resources,
)
from batchctl.specs import AwsDict, Key, Kind, Outputs, QueueSpec

# SQS speaks JSON but stays "query compatible": botocore reports the legacy query code
# (AWS.SimpleQueueService.NonExistentQueue) as the error code and the modelled name (QueueDoesNotExist) only as
# the exception class, and which one arrives has changed between botocore versions (botocore#3054). Accept both.
NOT_FOUND = frozenset({"AWS.SimpleQueueService.NonExistentQueue", "QueueDoesNotExist"})
# A name deleted less than 60 s ago cannot be reused yet (AWS-QUIRKS 30); moto never raises it.
DELETED_RECENTLY = frozenset({"AWS.SimpleQueueService.QueueDeletedRecently", "QueueDeletedRecently"})
DELETED_RECENTLY_TIMEOUT_S = 75.0
DELETED_RECENTLY_INTERVAL_S = 10.0
# DeleteQueue returns at once; AWS says the deletion takes up to 60 seconds.
GONE_TIMEOUT_S = 90.0

VISIBILITY_TIMEOUT = "VisibilityTimeout"
RETENTION = "MessageRetentionPeriod"
REDRIVE_POLICY = "RedrivePolicy"
FIFO = "FifoQueue"
MAX_MESSAGE_SIZE = "MaximumMessageSize"
DELAY = "DelaySeconds"
RECEIVE_WAIT = "ReceiveMessageWaitTimeSeconds"
# SQS's defaults: CreateQueue leaves them out (as it did before batchctl managed them); updates compare them all.
_DEFAULTS = {DELAY: "0", RECEIVE_WAIT: "0"}


def redrive_policy(spec: QueueSpec) -> str | None:
    """The RedrivePolicy attribute for `spec` (a JSON string), or None without a dead-letter queue."""
    if spec.dead_letter_arn is None:
        return None
    policy: AwsDict = {"deadLetterTargetArn": spec.dead_letter_arn}
    if spec.max_receive_count is not None:
        policy["maxReceiveCount"] = spec.max_receive_count
    return json.dumps(policy, sort_keys=True, separators=(",", ":"))


def queue_attributes(spec: QueueSpec) -> dict[str, str]:
    """Every attribute we manage, as the strings SetQueueAttributes takes ("" removes the redrive policy)."""
    attributes = {
        VISIBILITY_TIMEOUT: str(spec.visibility_timeout_s),
        RETENTION: str(spec.retention_s),
        REDRIVE_POLICY: redrive_policy(spec) or "",
        DELAY: str(spec.delay_s),
        RECEIVE_WAIT: str(spec.receive_wait_s),
    }
    if spec.max_message_size is not None:
        attributes[MAX_MESSAGE_SIZE] = str(spec.max_message_size)
    return attributes


class QueueProvisioner:
    """Queue named exactly `spec.name`; attributes via SetQueueAttributes, tags via TagQueue/UntagQueue."""

    kind: ClassVar[Kind] = Kind.SQS_QUEUE

    def __init__(self, aws: Aws) -> None:
        self.aws = aws
        self.hints: Hints[tuple[str, dict[str, str] | None]] = Hints()

    @staticmethod
    def to_request(spec: QueueSpec) -> AwsDict:
        """The CreateQueue parameters for `spec`: attributes and tags in the one call."""
        attributes = queue_attributes(spec)
        if not attributes[REDRIVE_POLICY]:
            del attributes[REDRIVE_POLICY]
        for name, default in _DEFAULTS.items():
            if attributes[name] == default:
                del attributes[name]
        if spec.fifo:
            # Only FIFO queues take the attribute; a standard queue is the absence of it.
            attributes[FIFO] = "true"
        return {"QueueName": spec.name, "Attributes": attributes, "tags": dict(spec.tags)}

    @staticmethod
    def from_described(item: AwsDict) -> QueueSpec:
        """The queue named `QueueName` from its `Attributes` (GetQueueAttributes: strings) and `Tags`
        (ListQueueTags), in the spec's shape."""
        attributes: Mapping[str, str] = item.get("Attributes", {})
        dead_letter_arn, max_receive_count = _parse_redrive(attributes.get(REDRIVE_POLICY, ""))
        return QueueSpec(
            name=str(item["QueueName"]),
            fifo=attributes.get(FIFO, "false") == "true",
            visibility_timeout_s=int(attributes[VISIBILITY_TIMEOUT]),
            retention_s=int(attributes[RETENTION]),
            dead_letter_arn=dead_letter_arn,
            max_receive_count=max_receive_count,
            max_message_size=int(attributes[MAX_MESSAGE_SIZE]) if MAX_MESSAGE_SIZE in attributes else None,
            delay_s=int(attributes.get(DELAY, 0)),
            receive_wait_s=int(attributes.get(RECEIVE_WAIT, 0)),
            tags={str(k): str(v) for k, v in (item.get("Tags") or {}).items()},
        )

    def prefetch(self, specs: Sequence[QueueSpec]) -> None:
        """Queue URLs from one paged ListQueues (by the names' common prefix) and tags from one paged
        GetResources, instead of GetQueueUrl and ListQueueTags for each queue."""

        def fetch() -> None:
            wanted = {spec.name for spec in specs}
            first, last = min(wanted), max(wanted)  # the common prefix of all names is theirs
            prefix = first[
                : next((i for i, (a, b) in enumerate(zip(first, last, strict=False)) if a != b), len(first))
            ]
            urls: dict[str, str] = {}
            params: AwsDict = {"QueueNamePrefix": prefix} if prefix else {}
            for page in self.aws.pages("sqs", "list_queues", key="sqs queues", MaxResults=1000, **params):
                for url in page.get("QueueUrls", []):
                    name = str(url).rstrip("/").rsplit("/", 1)[-1]
                    if name in wanted:
                        urls[name] = str(url)
            tagged = tagged_resources(self.aws, specs, resource_type="sqs")
            self.hints.put({name: (url, tagged.get(self._arn(name))) for name, url in urls.items()})

        prefetching("SQS queues", fetch)

    def read(self, spec: QueueSpec) -> Observed[QueueSpec] | None:
        hint = self.hints.take(spec.name)
        url, tagged = hint if hint is not None else (self._url(spec.key, spec.name), None)
        if url is None:
            return None
        try:
            attributes: Mapping[str, str] = self.aws.call(
                "sqs", "get_queue_attributes", key=spec.key, QueueUrl=url, AttributeNames=["All"]
            ).get("Attributes", {})
            tags = tagged
            # The tagging API's view only when it is the desired one.
            if tags is None or tags != dict(spec.tags):
                tags = dict(
                    self.aws.call("sqs", "list_queue_tags", key=spec.key, QueueUrl=url).get("Tags", {})
                )
        except AwsError as exc:
            if exc.code in NOT_FOUND:  # deleted between the two calls
                return None
            raise
        check_owned(spec.key, spec.tags, tags)
        state = self.from_described({"QueueName": spec.name, "Attributes": attributes, "Tags": tags})
        if spec.max_message_size is None:  # not managed: whatever SQS keeps is right
            state = dataclasses.replace(state, max_message_size=None)
        arn = str(attributes.get("QueueArn") or self._arn(spec.name))
        return observation(spec, state, {"arn": arn, "url": url})

    def create(self, spec: QueueSpec) -> Outputs:
        # CreateQueue is a single call (attributes and tags included): if it fails, nothing was created.
        # It would succeed for an existing queue with the same attributes and fail (QueueNameExists) otherwise
        # (AWS-QUIRKS 28); we only get here when `read` found no queue.
        created = self.aws.retry_on(
            lambda: self.aws.call("sqs", "create_queue", key=spec.key, **self.to_request(spec)),
            codes=DELETED_RECENTLY,
            what=f"SQS to allow the name of {spec.key} again after its deletion",
            timeout_s=DELETED_RECENTLY_TIMEOUT_S,
            interval_s=DELETED_RECENTLY_INTERVAL_S,
        )
        return {"arn": self._arn(spec.name), "url": str(created["QueueUrl"])}

    def update(self, spec: QueueSpec, observed: Observed[QueueSpec]) -> Outputs:
        before = observed.state
        url = observed.outputs.get("url") or self._url(spec.key, spec.name)
        if url is None:
            raise AwsError(f"{spec.key} no longer exists", service="sqs", key=str(spec.key))
        desired = queue_attributes(spec)
        live = queue_attributes(before)
        # Attributes can take up to 60 s to show (AWS-QUIRKS 31); the next plan may see the old value that long.
        changed = {name: value for name, value in desired.items() if live.get(name) != value}
        if changed:
            self.aws.call("sqs", "set_queue_attributes", key=spec.key, QueueUrl=url, Attributes=changed)
        stale, retagged = stale_and_changed(spec.tags, before.tags)
        if stale:
            self.aws.call("sqs", "untag_queue", key=spec.key, QueueUrl=url, TagKeys=stale)
        if retagged:
            self.aws.call("sqs", "tag_queue", key=spec.key, QueueUrl=url, Tags=retagged)
        return {"arn": observed.outputs.get("arn") or self._arn(spec.name), "url": url}

    def delete(self, observed: Observed[QueueSpec]) -> None:
        spec = observed.state
        url = observed.outputs.get("url") or self._url(spec.key, spec.name)
        if url is None:
            return
        try:
            self.aws.call("sqs", "delete_queue", key=spec.key, QueueUrl=url)
        except AwsError as exc:
            if exc.code not in NOT_FOUND:
                raise
        self.aws.wait_until(
            lambda: True if self._url(spec.key, spec.name) is None else None,
            what=f"{spec.key} to be deleted",
            timeout_s=GONE_TIMEOUT_S,
            interval_s=POLL_INTERVAL_S,
            key=spec.key,
        )

    # ---- helpers -------------------------------------------------------------------------------------------
    def _url(self, key: Key, name: str) -> str | None:
        try:
            return str(self.aws.call("sqs", "get_queue_url", key=key, QueueName=name)["QueueUrl"])
        except AwsError as exc:
            if exc.code in NOT_FOUND:
                return None
            raise

    def _arn(self, name: str) -> str:
        return self.aws.context().arn("sqs", name)


def _parse_redrive(raw: str) -> tuple[str | None, int | None]:
    """RedrivePolicy JSON → (dead-letter ARN, max receive count); SQS sends the count as a number or a string."""
    if not raw:
        return None, None
    policy: AwsDict = json.loads(raw)
    arn = policy.get("deadLetterTargetArn")
    count = policy.get("maxReceiveCount")
    return (str(arn) if arn else None), (int(count) if count is not None else None)
