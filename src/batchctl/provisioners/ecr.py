"""ECR repositories: scan on push, tag mutability, lifecycle policy and tags.

Imports: specs, aws, errors, provisioners.base.
"""

from __future__ import annotations

import json
from typing import ClassVar

from batchctl.aws import Aws
from batchctl.errors import AwsError
from batchctl.provisioners.base import Observed, check_owned, observation, tags_from_list, tags_to_list
from batchctl.specs import AwsDict, Key, Kind, Outputs, RepositorySpec

REPOSITORY_NOT_FOUND = "RepositoryNotFoundException"
LIFECYCLE_POLICY_NOT_FOUND = "LifecyclePolicyNotFoundException"
GONE_TIMEOUT_S = 60.0


class RepositoryProvisioner:
    """Repository named exactly `spec.name` in the caller's registry."""

    kind: ClassVar[Kind] = Kind.ECR_REPOSITORY

    def __init__(self, aws: Aws) -> None:
        self.aws = aws

    @staticmethod
    def to_request(spec: RepositorySpec) -> AwsDict:
        """The CreateRepository parameters for `spec` (the lifecycle policy follows with PutLifecyclePolicy)."""
        return {
            "repositoryName": spec.name,
            "imageScanningConfiguration": {"scanOnPush": spec.scan_on_push},
            "imageTagMutability": spec.image_tag_mutability,
            "tags": tags_to_list(spec.tags),
        }

    @staticmethod
    def from_described(item: AwsDict) -> RepositorySpec:
        """A DescribeRepositories item, with its `tags` (ListTagsForResource) and `lifecyclePolicyText`
        (GetLifecyclePolicy; absent without a policy), in the spec's shape."""
        policy = item.get("lifecyclePolicyText")
        return RepositorySpec(
            name=str(item["repositoryName"]),
            scan_on_push=bool(item.get("imageScanningConfiguration", {}).get("scanOnPush", False)),
            image_tag_mutability=str(item.get("imageTagMutability", "MUTABLE")),
            lifecycle_policy=json.loads(policy) if policy else None,
            tags=tags_from_list(item.get("tags", [])),
        )

    def read(self, spec: RepositorySpec) -> Observed[RepositorySpec] | None:
        repo = self._describe(spec.key, spec.name)
        if repo is None:
            return None
        arn = str(repo["repositoryArn"])
        tags = self.aws.call("ecr", "list_tags_for_resource", key=spec.key, resourceArn=arn).get("tags", [])
        check_owned(spec.key, spec.tags, tags_from_list(tags))
        found = {**repo, "tags": tags}
        policy = self._lifecycle_policy_text(spec.key, spec.name)
        if policy is not None:
            found["lifecyclePolicyText"] = policy
        return observation(spec, self.from_described(found), {"arn": arn, "uri": str(repo["repositoryUri"])})

    def create(self, spec: RepositorySpec) -> Outputs:
        repo = self.aws.call("ecr", "create_repository", key=spec.key, **self.to_request(spec))["repository"]
        try:
            if spec.lifecycle_policy is not None:
                self._put_lifecycle_policy(spec, spec.lifecycle_policy)
        except AwsError:
            self._delete_quietly(spec.key, spec.name)
            raise
        return {"arn": str(repo["repositoryArn"]), "uri": str(repo["repositoryUri"])}

    def update(self, spec: RepositorySpec, observed: Observed[RepositorySpec]) -> Outputs:
        before = observed.state
        key = spec.key
        if spec.scan_on_push != before.scan_on_push:
            self.aws.call(
                "ecr",
                "put_image_scanning_configuration",
                key=key,
                repositoryName=spec.name,
                imageScanningConfiguration={"scanOnPush": spec.scan_on_push},
            )
        if spec.image_tag_mutability != before.image_tag_mutability:
            self.aws.call(
                "ecr",
                "put_image_tag_mutability",
                key=key,
                repositoryName=spec.name,
                imageTagMutability=spec.image_tag_mutability,
            )
        if spec.lifecycle_policy != before.lifecycle_policy:
            if spec.lifecycle_policy is None:
                try:
                    self.aws.call("ecr", "delete_lifecycle_policy", key=key, repositoryName=spec.name)
                except AwsError as exc:
                    if exc.code != LIFECYCLE_POLICY_NOT_FOUND:
                        raise
            else:
                self._put_lifecycle_policy(spec, spec.lifecycle_policy)
        arn = observed.outputs.get("arn") or self.aws.context().arn("ecr", f"repository/{spec.name}")
        if dict(spec.tags) != dict(before.tags):
            stale = sorted(k for k in before.tags if k not in spec.tags)
            if stale:
                self.aws.call("ecr", "untag_resource", key=key, resourceArn=arn, tagKeys=stale)
            if spec.tags:
                self.aws.call("ecr", "tag_resource", key=key, resourceArn=arn, tags=tags_to_list(spec.tags))
        uri = observed.outputs.get("uri")
        if not uri:
            ctx = self.aws.context()
            uri = f"{ctx.account_id}.dkr.ecr.{ctx.region}.{ctx.url_suffix}/{spec.name}"
        return {"arn": arn, "uri": uri}

    def delete(self, observed: Observed[RepositorySpec]) -> None:
        spec = observed.state
        try:
            # Without force, a repository holding images fails with RepositoryNotEmptyException (AWS-QUIRKS 45).
            self.aws.call("ecr", "delete_repository", key=spec.key, repositoryName=spec.name, force=True)
        except AwsError as exc:
            if exc.code != REPOSITORY_NOT_FOUND:
                raise
        self.aws.wait_until(
            lambda: True if self._describe(spec.key, spec.name) is None else None,
            what=f"{spec.key} to be deleted",
            timeout_s=GONE_TIMEOUT_S,
            key=spec.key,
        )

    # ---- helpers -------------------------------------------------------------------------------------------
    def _describe(self, key: Key, name: str) -> AwsDict | None:
        try:
            found = self.aws.call("ecr", "describe_repositories", key=key, repositoryNames=[name])
        except AwsError as exc:
            if exc.code == REPOSITORY_NOT_FOUND:
                return None
            raise
        for repo in found.get("repositories", []):
            if repo.get("repositoryName") == name:
                result: AwsDict = repo
                return result
        return None

    def _lifecycle_policy_text(self, key: Key, name: str) -> str | None:
        try:
            found = self.aws.call("ecr", "get_lifecycle_policy", key=key, repositoryName=name)
        except AwsError as exc:
            if exc.code == LIFECYCLE_POLICY_NOT_FOUND:
                return None
            raise
        return str(found["lifecyclePolicyText"])

    def _put_lifecycle_policy(self, spec: RepositorySpec, policy: AwsDict) -> None:
        self.aws.call(
            "ecr",
            "put_lifecycle_policy",
            key=spec.key,
            repositoryName=spec.name,
            lifecyclePolicyText=json.dumps(policy, sort_keys=True, separators=(",", ":")),
        )

    def _delete_quietly(self, key: Key, name: str) -> None:
        """Best-effort cleanup after a failed create; the create's own error is the one worth reporting."""
        try:
            self.aws.call("ecr", "delete_repository", key=key, repositoryName=name, force=True)
        except AwsError:
            return
