"""CloudWatch Logs log groups (with retention). Imports: specs, aws, errors, provisioners.base."""

from __future__ import annotations

from collections.abc import Sequence
from typing import ClassVar

from batchctl.aws import Aws
from batchctl.errors import AwsError
from batchctl.provisioners.base import (
    Hints,
    Observed,
    check_owned,
    observation,
    prefetching,
    tagged_resources,
)
from batchctl.specs import AwsDict, Kind, LogGroupSpec, Outputs


class LogGroupProvisioner:
    """Log group named exactly `spec.name`; retention via the PutRetentionPolicy upsert."""

    kind: ClassVar[Kind] = Kind.LOG_GROUP

    def __init__(self, aws: Aws) -> None:
        self.aws = aws
        self.hints: Hints[tuple[AwsDict, dict[str, str] | None]] = Hints()

    @staticmethod
    def to_request(spec: LogGroupSpec) -> AwsDict:
        """The CreateLogGroup parameters for `spec` (retention follows with PutRetentionPolicy)."""
        return {"logGroupName": spec.name, "tags": dict(spec.tags)}

    @staticmethod
    def from_described(item: AwsDict) -> LogGroupSpec:
        """A DescribeLogGroups item, with the group's `tags` (ListTagsForResource), in the spec's shape."""
        retention = item.get("retentionInDays")
        return LogGroupSpec(
            name=str(item["logGroupName"]),
            retention_days=int(retention) if retention is not None else None,
            tags={str(k): str(v) for k, v in (item.get("tags") or {}).items()},
        )

    def prefetch(self, specs: Sequence[LogGroupSpec]) -> None:
        """One paged DescribeLogGroups per parent path (`/batchctl/<project>/<stage>/`, ...) and one paged
        GetResources for the tags, instead of two calls per group."""

        def fetch() -> None:
            found = self._batched(specs)
            # The same DescribeLogGroups (by prefix) that `read` makes for one group: what it lacks is absent.
            self.hints.put(found, absent=[spec.name for spec in specs if spec.name not in found])

        prefetching("log groups", fetch)

    def _batched(self, specs: Sequence[LogGroupSpec]) -> dict[str, tuple[AwsDict, dict[str, str] | None]]:
        wanted = {spec.name for spec in specs}
        groups: dict[str, AwsDict] = {}
        for prefix in sorted({name.rsplit("/", 1)[0] + "/" if "/" in name else name for name in wanted}):
            for page in self.aws.pages("logs", "describe_log_groups", key=prefix, logGroupNamePrefix=prefix):
                groups.update(
                    {g["logGroupName"]: g for g in page.get("logGroups", []) if g["logGroupName"] in wanted}
                )
        tags = tagged_resources(self.aws, specs, resource_type="logs")
        return {name: (group, tags.get(_arn_of(group))) for name, group in groups.items()}

    def read(self, spec: LogGroupSpec) -> Observed[LogGroupSpec] | None:
        hint = self.hints.take(spec.name)
        if hint is not None:
            group, tagged = hint
            return self._observed(spec, group, tagged)
        if self.hints.absent(spec.name):
            return None
        # DescribeLogGroups filters by prefix: page through and keep the exact name only.
        for page in self.aws.pages("logs", "describe_log_groups", key=spec.key, logGroupNamePrefix=spec.name):
            for group in page.get("logGroups", []):
                if group["logGroupName"] == spec.name:
                    return self._observed(spec, group, None)
        return None

    def _observed(
        self, spec: LogGroupSpec, group: AwsDict, tagged: dict[str, str] | None
    ) -> Observed[LogGroupSpec]:
        """The group as read; its tags from the tagging API when they are the desired ones, else read here."""
        arn = _arn_of(group)
        tags = tagged
        if tags is None or tags != dict(spec.tags):
            tags = self.aws.call("logs", "list_tags_for_resource", key=spec.key, resourceArn=arn).get(
                "tags", {}
            )
        check_owned(spec.key, spec.tags, tags)
        return observation(spec, self.from_described({**group, "tags": tags}), {"arn": arn})

    def create(self, spec: LogGroupSpec) -> Outputs:
        try:
            self.aws.call("logs", "create_log_group", key=spec.key, **self.to_request(spec))
        except AwsError as exc:
            if exc.code != "ResourceAlreadyExistsException":
                raise
            # Created by a concurrent or interrupted run: only adopt it if it carries our tags.
            if self.read(spec) is None:
                raise
        try:
            if spec.retention_days is not None:
                self.aws.call(
                    "logs",
                    "put_retention_policy",
                    key=spec.key,
                    logGroupName=spec.name,
                    retentionInDays=spec.retention_days,
                )
        except AwsError:
            self._delete_quietly(spec)
            raise
        return {"arn": self._arn(spec.name)}

    def update(self, spec: LogGroupSpec, observed: Observed[LogGroupSpec]) -> Outputs:
        before = observed.state
        if spec.retention_days != before.retention_days:
            if spec.retention_days is None:
                self.aws.call("logs", "delete_retention_policy", key=spec.key, logGroupName=spec.name)
            else:
                self.aws.call(
                    "logs",
                    "put_retention_policy",
                    key=spec.key,
                    logGroupName=spec.name,
                    retentionInDays=spec.retention_days,
                )
        arn = observed.outputs.get("arn") or self._arn(spec.name)
        if dict(spec.tags) != dict(before.tags):
            stale = [k for k in before.tags if k not in spec.tags]
            if stale:
                self.aws.call("logs", "untag_resource", key=spec.key, resourceArn=arn, tagKeys=stale)
            self.aws.call("logs", "tag_resource", key=spec.key, resourceArn=arn, tags=dict(spec.tags))
        return {"arn": arn}

    def delete(self, observed: Observed[LogGroupSpec]) -> None:
        spec = observed.state
        try:
            self.aws.call("logs", "delete_log_group", key=spec.key, logGroupName=spec.name)
        except AwsError as exc:
            if exc.code != "ResourceNotFoundException":
                raise

    def _delete_quietly(self, spec: LogGroupSpec) -> None:
        try:
            self.aws.call("logs", "delete_log_group", key=spec.key, logGroupName=spec.name)
        except AwsError:
            return

    def _arn(self, name: str) -> str:
        return self.aws.context().arn("logs", f"log-group:{name}")


def _arn_of(group: AwsDict) -> str:
    """DescribeLogGroups gives `...:log-group:NAME:*`; tags and the tagging API use the ARN without `:*`."""
    return str(group["arn"]).removesuffix(":*")
