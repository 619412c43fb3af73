"""IAM roles (trust policy, inline and managed policies) and instance profiles.

Imports: specs, aws, errors, provisioners.base. IAM propagation delays (AWS-QUIRKS 1, 2) are handled by the
consumers of a role or profile (sfn, pipes, batch), not here.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any, ClassVar
from urllib.parse import unquote

from batchctl.aws import Aws
from batchctl.errors import AwsError
from batchctl.provisioners.base import (
    Hints,
    Observed,
    check_owned,
    observation,
    prefetching,
    tags_from_list,
    tags_to_list,
)
from batchctl.specs import AwsDict, InstanceProfileSpec, Key, Kind, Outputs, RoleSpec

NO_SUCH_ENTITY = "NoSuchEntity"
# IAM is eventually consistent: right after a policy is detached or a role leaves a profile, DeleteRole and
# DeleteInstanceProfile can still answer DeleteConflict for a short while.
DELETE_CONFLICT = frozenset({"DeleteConflict"})
DELETE_CONFLICT_TIMEOUT_S = 60.0
GONE_TIMEOUT_S = 60.0


def policy_document(raw: str | Mapping[str, Any]) -> AwsDict:
    """Normalize an IAM policy document to a dict.

    IAM's query API returns documents URL-encoded (RFC 3986); botocore usually decodes them into dicts already,
    but a raw string can still arrive (other protocols, handlers turned off), plain or URL-encoded.
    """
    if not isinstance(raw, str):
        return dict(raw)
    text = raw.strip()
    if not text.startswith("{"):
        text = unquote(text)
    document: AwsDict = json.loads(text)
    return document


def dump_policy(document: Mapping[str, Any]) -> str:
    """Serialize a policy document once, deterministically."""
    return json.dumps(document, sort_keys=True, separators=(",", ":"))


class RoleProvisioner:
    """IAM role named exactly `spec.name`; inline policies via the PutRolePolicy upsert."""

    kind: ClassVar[Kind] = Kind.IAM_ROLE

    def __init__(self, aws: Aws) -> None:
        self.aws = aws
        self.hints: Hints[AwsDict] = Hints()

    @staticmethod
    def to_request(spec: RoleSpec) -> AwsDict:
        """The CreateRole parameters for `spec` (inline and managed policies follow in calls of their own)."""
        params: AwsDict = {
            "RoleName": spec.name,
            "AssumeRolePolicyDocument": dump_policy(spec.trust_policy),
            "Tags": tags_to_list(spec.tags),
        }
        if spec.description:
            params["Description"] = spec.description
        return params

    @staticmethod
    def from_described(item: AwsDict) -> RoleSpec:
        """A role as GetAccountAuthorizationDetails describes it (a RoleDetailList entry: trust policy, inline
        policies in RolePolicyList, AttachedManagedPolicies, Tags) with the Description ListRoles or GetRole gives."""
        return RoleSpec(
            name=str(item["RoleName"]),
            trust_policy=policy_document(item["AssumeRolePolicyDocument"]),
            inline_policies={
                str(p["PolicyName"]): policy_document(p["PolicyDocument"])
                for p in item.get("RolePolicyList", [])
            },
            managed_policy_arns=tuple(
                sorted(str(p["PolicyArn"]) for p in item.get("AttachedManagedPolicies", []))
            ),
            description=str(item.get("Description", "")),
            tags=tags_from_list(item.get("Tags", [])),
        )

    def prefetch(self, specs: Sequence[RoleSpec]) -> None:
        """Every role of the account in two paged reads instead of 4+ calls per role: ListRoles (descriptions)
        and GetAccountAuthorizationDetails (trust policy, inline and managed policies, tags)."""
        prefetching("IAM roles", lambda: self._batched(specs))

    def _batched(self, specs: Sequence[RoleSpec]) -> None:
        wanted = {spec.name for spec in specs}
        described: dict[str, AwsDict] = {}
        for page in self.aws.pages("iam", "list_roles", key="iam roles", PaginationConfig={"PageSize": 1000}):
            described.update({r["RoleName"]: r for r in page.get("Roles", []) if r["RoleName"] in wanted})
        found: dict[str, AwsDict] = {}
        for page in self.aws.pages(
            "iam",
            "get_account_authorization_details",
            key="iam roles",
            Filter=["Role"],
            PaginationConfig={"PageSize": 1000},
        ):
            for detail in page.get("RoleDetailList", []):
                name = str(detail["RoleName"])
                if name in described:
                    found[name] = {**detail, "Description": described[name].get("Description", "")}
        # ListRoles reads the same IAM state GetRole does: a role it does not list is absent (a first deploy
        # then makes no GetRole per role). A role listed by one call and not the other is read live.
        self.hints.put(found, absent=[name for name in wanted if name not in described])

    def read(self, spec: RoleSpec) -> Observed[RoleSpec] | None:
        detail = self.hints.take(spec.name)
        if detail is None:
            if self.hints.absent(spec.name):
                return None
            detail = self._detail(spec)
            if detail is None:
                return None
        state = self.from_described(detail)
        check_owned(spec.key, spec.tags, state.tags)
        return observation(spec, state, {"arn": str(detail["Arn"])})

    def create(self, spec: RoleSpec) -> Outputs:
        role = self.aws.call("iam", "create_role", key=spec.key, **self.to_request(spec))["Role"]
        try:
            for policy_name, document in sorted(spec.inline_policies.items()):
                self._put_inline(spec, policy_name, document)
            for arn in spec.managed_policy_arns:
                self.aws.call("iam", "attach_role_policy", key=spec.key, RoleName=spec.name, PolicyArn=arn)
        except AwsError:
            self._delete_quietly(spec.key, spec.name)
            raise
        return {"arn": str(role["Arn"])}

    def update(self, spec: RoleSpec, observed: Observed[RoleSpec]) -> Outputs:
        before = observed.state
        key = spec.key
        if spec.trust_policy != before.trust_policy:
            self.aws.call(
                "iam",
                "update_assume_role_policy",
                key=key,
                RoleName=spec.name,
                PolicyDocument=dump_policy(spec.trust_policy),
            )
        # Removals first: IAM caps a role's inline policy size and its managed attachments (quotas), so adding
        # before removing could fail for a role near a limit.
        for policy_name in sorted(set(before.inline_policies) - set(spec.inline_policies)):
            self.aws.call("iam", "delete_role_policy", key=key, RoleName=spec.name, PolicyName=policy_name)
        for policy_name, document in sorted(spec.inline_policies.items()):
            if before.inline_policies.get(policy_name) != document:
                self._put_inline(spec, policy_name, document)
        for arn in sorted(set(before.managed_policy_arns) - set(spec.managed_policy_arns)):
            self.aws.call("iam", "detach_role_policy", key=key, RoleName=spec.name, PolicyArn=arn)
        for arn in sorted(set(spec.managed_policy_arns) - set(before.managed_policy_arns)):
            self.aws.call("iam", "attach_role_policy", key=key, RoleName=spec.name, PolicyArn=arn)
        if spec.description != before.description:
            self.aws.call("iam", "update_role", key=key, RoleName=spec.name, Description=spec.description)
        if dict(spec.tags) != dict(before.tags):
            stale = sorted(k for k in before.tags if k not in spec.tags)
            if stale:
                self.aws.call("iam", "untag_role", key=key, RoleName=spec.name, TagKeys=stale)
            if spec.tags:
                self.aws.call("iam", "tag_role", key=key, RoleName=spec.name, Tags=tags_to_list(spec.tags))
        arn = observed.outputs.get("arn") or self.aws.context().arn("iam", f"role/{spec.name}", region=False)
        return {"arn": arn}

    def delete(self, observed: Observed[RoleSpec]) -> None:
        spec = observed.state
        try:
            self._detach_everything(spec.key, spec.name)
            self.aws.retry_on(
                lambda: self.aws.call("iam", "delete_role", key=spec.key, RoleName=spec.name),
                codes=DELETE_CONFLICT,
                what=f"{spec.key} to lose its attachments",
                timeout_s=DELETE_CONFLICT_TIMEOUT_S,
            )
        except AwsError as exc:
            # NoSuchEntity is fine when the role itself is gone; not when, say, a profile vanished meanwhile.
            if exc.code != NO_SUCH_ENTITY or self._get_role(spec.key, spec.name) is not None:
                raise
        self.aws.wait_until(
            lambda: True if self._get_role(spec.key, spec.name) is None else None,
            what=f"{spec.key} to be deleted",
            timeout_s=GONE_TIMEOUT_S,
            key=spec.key,
        )

    # ---- helpers -------------------------------------------------------------------------------------------
    def _get_role(self, key: Key, name: str) -> AwsDict | None:
        try:
            role: AwsDict = self.aws.call("iam", "get_role", key=key, RoleName=name)["Role"]
        except AwsError as exc:
            if exc.code == NO_SUCH_ENTITY:
                return None
            raise
        return role

    def _detail(self, spec: RoleSpec) -> AwsDict | None:
        """The role in GetAccountAuthorizationDetails' shape, from GetRole and the role's own List calls; its
        ownership is proven before its policies are read."""
        key, name = spec.key, spec.name
        role = self._get_role(key, name)
        if role is None:
            return None
        tags = [
            t
            for page in self.aws.pages("iam", "list_role_tags", key=key, RoleName=name)
            for t in page.get("Tags", [])
        ]
        check_owned(key, spec.tags, tags_from_list(tags))
        inline = [
            {
                "PolicyName": policy_name,
                "PolicyDocument": self.aws.call(
                    "iam", "get_role_policy", key=key, RoleName=name, PolicyName=policy_name
                )["PolicyDocument"],
            }
            for policy_name in self._inline_policy_names(key, name)
        ]
        managed = [{"PolicyArn": arn} for arn in self._managed_policy_arns(key, name)]
        return {**role, "Tags": tags, "RolePolicyList": inline, "AttachedManagedPolicies": managed}

    def _inline_policy_names(self, key: Key, name: str) -> list[str]:
        return [
            str(policy_name)
            for page in self.aws.pages("iam", "list_role_policies", key=key, RoleName=name)
            for policy_name in page.get("PolicyNames", [])
        ]

    def _managed_policy_arns(self, key: Key, name: str) -> list[str]:
        return [
            str(policy["PolicyArn"])
            for page in self.aws.pages("iam", "list_attached_role_policies", key=key, RoleName=name)
            for policy in page.get("AttachedPolicies", [])
        ]

    def _put_inline(self, spec: RoleSpec, policy_name: str, document: Mapping[str, Any]) -> None:
        self.aws.call(
            "iam",
            "put_role_policy",
            key=spec.key,
            RoleName=spec.name,
            PolicyName=policy_name,
            PolicyDocument=dump_policy(document),
        )

    def _detach_everything(self, key: Key, name: str) -> None:
        """Undo every attachment that makes DeleteRole fail with DeleteConflict (AWS-QUIRKS 4), in AWS's order:
        instance profiles, inline policies, managed policies. Lists live state, not what we last observed."""
        profiles = [
            str(profile["InstanceProfileName"])
            for page in self.aws.pages("iam", "list_instance_profiles_for_role", key=key, RoleName=name)
            for profile in page.get("InstanceProfiles", [])
        ]
        for profile_name in profiles:
            self.aws.call(
                "iam",
                "remove_role_from_instance_profile",
                key=key,
                InstanceProfileName=profile_name,
                RoleName=name,
            )
        for policy_name in self._inline_policy_names(key, name):
            self.aws.call("iam", "delete_role_policy", key=key, RoleName=name, PolicyName=policy_name)
        for arn in self._managed_policy_arns(key, name):
            self.aws.call("iam", "detach_role_policy", key=key, RoleName=name, PolicyArn=arn)

    def _delete_quietly(self, key: Key, name: str) -> None:
        """Best-effort cleanup after a failed create; the create's own error is the one worth reporting."""
        try:
            self._detach_everything(key, name)
            self.aws.call("iam", "delete_role", key=key, RoleName=name)
        except AwsError:
            return


class InstanceProfileProvisioner:
    """Instance profile named exactly `spec.name`, holding the one role `spec.role_name`."""

    kind: ClassVar[Kind] = Kind.IAM_INSTANCE_PROFILE

    def __init__(self, aws: Aws) -> None:
        self.aws = aws

    @staticmethod
    def to_request(spec: InstanceProfileSpec) -> AwsDict:
        """The CreateInstanceProfile parameters for `spec` (its role is added by a call of its own)."""
        return {"InstanceProfileName": spec.name, "Tags": tags_to_list(spec.tags)}

    @staticmethod
    def from_described(item: AwsDict) -> InstanceProfileSpec:
        """GetInstanceProfile's InstanceProfile (which carries its Tags) in the spec's shape."""
        roles = item.get("Roles", [])
        return InstanceProfileSpec(
            name=str(item["InstanceProfileName"]),
            role_name=str(roles[0]["RoleName"]) if roles else "",
            tags=tags_from_list(item.get("Tags", [])),
        )

    def read(self, spec: InstanceProfileSpec) -> Observed[InstanceProfileSpec] | None:
        profile = self._get_profile(spec.key, spec.name)
        if profile is None:
            return None
        state = self.from_described(profile)
        check_owned(spec.key, spec.tags, state.tags)
        return observation(spec, state, {"arn": str(profile["Arn"])})

    def create(self, spec: InstanceProfileSpec) -> Outputs:
        profile = self.aws.call("iam", "create_instance_profile", key=spec.key, **self.to_request(spec))[
            "InstanceProfile"
        ]
        try:
            if spec.role_name:
                self.aws.call(
                    "iam",
                    "add_role_to_instance_profile",
                    key=spec.key,
                    InstanceProfileName=spec.name,
                    RoleName=spec.role_name,
                )
        except AwsError:
            self._delete_quietly(spec.key, spec.name)
            raise
        return {"arn": str(profile["Arn"])}

    def update(self, spec: InstanceProfileSpec, observed: Observed[InstanceProfileSpec]) -> Outputs:
        before = observed.state
        key = spec.key
        if spec.role_name != before.role_name:
            # A profile holds at most one role (LimitExceeded otherwise): remove the old one first.
            if before.role_name:
                self.aws.call(
                    "iam",
                    "remove_role_from_instance_profile",
                    key=key,
                    InstanceProfileName=spec.name,
                    RoleName=before.role_name,
                )
            if spec.role_name:
                self.aws.call(
                    "iam",
                    "add_role_to_instance_profile",
                    key=key,
                    InstanceProfileName=spec.name,
                    RoleName=spec.role_name,
                )
        if dict(spec.tags) != dict(before.tags):
            stale = sorted(k for k in before.tags if k not in spec.tags)
            if stale:
                self.aws.call(
                    "iam", "untag_instance_profile", key=key, InstanceProfileName=spec.name, TagKeys=stale
                )
            if spec.tags:
                self.aws.call(
                    "iam",
                    "tag_instance_profile",
                    key=key,
                    InstanceProfileName=spec.name,
                    Tags=tags_to_list(spec.tags),
                )
        arn = observed.outputs.get("arn") or self.aws.context().arn(
            "iam", f"instance-profile/{spec.name}", region=False
        )
        return {"arn": arn}

    def delete(self, observed: Observed[InstanceProfileSpec]) -> None:
        spec = observed.state
        try:
            self._remove_roles(spec.key, spec.name)
            self.aws.retry_on(
                lambda: self.aws.call(
                    "iam", "delete_instance_profile", key=spec.key, InstanceProfileName=spec.name
                ),
                codes=DELETE_CONFLICT,
                what=f"{spec.key} to lose its role",
                timeout_s=DELETE_CONFLICT_TIMEOUT_S,
            )
        except AwsError as exc:
            if exc.code != NO_SUCH_ENTITY or self._get_profile(spec.key, spec.name) is not None:
                raise
        self.aws.wait_until(
            lambda: True if self._get_profile(spec.key, spec.name) is None else None,
            what=f"{spec.key} to be deleted",
            timeout_s=GONE_TIMEOUT_S,
            key=spec.key,
        )

    # ---- helpers -------------------------------------------------------------------------------------------
    def _get_profile(self, key: Key, name: str) -> AwsDict | None:
        try:
            profile: AwsDict = self.aws.call(
                "iam", "get_instance_profile", key=key, InstanceProfileName=name
            )["InstanceProfile"]
        except AwsError as exc:
            if exc.code == NO_SUCH_ENTITY:
                return None
            raise
        return profile

    def _remove_roles(self, key: Key, name: str) -> None:
        """DeleteInstanceProfile fails with DeleteConflict while the profile holds a role: remove the live ones."""
        profile = self._get_profile(key, name)
        for role in profile.get("Roles", []) if profile else []:
            self.aws.call(
                "iam",
                "remove_role_from_instance_profile",
                key=key,
                InstanceProfileName=name,
                RoleName=role["RoleName"],
            )

    def _delete_quietly(self, key: Key, name: str) -> None:
        """Best-effort cleanup after a failed create; the create's own error is the one worth reporting."""
        try:
            self._remove_roles(key, name)
            self.aws.call("iam", "delete_instance_profile", key=key, InstanceProfileName=name)
        except AwsError:
            return
