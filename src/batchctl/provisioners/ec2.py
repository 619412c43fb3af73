"""What the EC2 network provisioners (vpc.py, route_table.py) share: resources found by Name tag and proven ours by
tag, tagged at birth, retagged key by key, waited on while a new ID is not yet visible. Outputs are {"id": ...}.
Imports: specs, aws, errors, provisioners.base, provisioners.ec2_teardown."""

from __future__ import annotations

import dataclasses
import threading
from collections.abc import Callable, Mapping
from typing import Any, ClassVar, Protocol

from batchctl.aws import Aws
from batchctl.errors import NotManagedError, PlanError
from batchctl.provisioners.base import POLL_INTERVAL_S, Observed, check_owned, tags_from_list, tags_to_list
from batchctl.provisioners.ec2_teardown import delete_until_gone
from batchctl.specs import AwsDict, Key, Ref

CREATE_WAIT_TIMEOUT_S = 300.0
# EC2 is eventually consistent: an ID just returned by Create* may be "NotFound" for a few seconds.
NEW_ID_TIMEOUT_S = 60.0


class Ec2Spec(Protocol):
    """What the network specs share: a name (their Name tag), a Key and tags."""

    @property
    def name(self) -> str: ...

    @property
    def key(self) -> Key: ...

    @property
    def tags(self) -> Mapping[str, str]: ...


def desired_tags(spec: Ec2Spec) -> dict[str, str]:
    """The spec's tags with its Name tag: how read finds the resource again, so never lost."""
    return {**spec.tags, "Name": spec.name}


def tag_specifications(resource_type: str, spec: Ec2Spec) -> list[AwsDict]:
    """TagSpecifications for a Create* call: tagged at birth, so a half-finished run is still found by name."""
    return [{"ResourceType": resource_type, "Tags": tags_to_list(desired_tags(spec))}]


def _owned(spec: Ec2Spec, item: AwsDict) -> bool:
    """Whether a described resource carries the spec's project and stage tags."""
    try:
        check_owned(spec.key, spec.tags, tags_from_list(item.get("Tags", [])))
    except NotManagedError:
        return False
    return True


def name_tag(item: AwsDict) -> str:
    """The Name tag of a described resource ("" without one)."""
    return tags_from_list(item.get("Tags", [])).get("Name", "")


class Ec2Base:
    """Find-by-Name-tag, retagging and bounded waits shared by the EC2 network provisioners."""

    # Set by each subclass: describe operation, its list key, the id key, the id filter name, the
    # "not found" error code of the id, and a human noun for messages.
    describe_op: ClassVar[str]
    items_key: ClassVar[str]
    id_key: ClassVar[str]
    id_filter: ClassVar[str]
    not_found_code: ClassVar[str]
    noun: ClassVar[str]

    def __init__(self, aws: Aws) -> None:
        self.aws = aws
        self._duplicates: dict[Key, list[Observed[Any]]] = {}
        self._duplicates_lock = threading.Lock()

    def _describe(self, spec: Ec2Spec, filters: list[AwsDict]) -> list[AwsDict]:
        return [
            item
            for page in self.aws.pages("ec2", self.describe_op, key=spec.key, Filters=filters)
            for item in page.get(self.items_key, [])
        ]

    def _find(self, spec: Ec2Spec, *, extra: list[AwsDict] | None = None) -> AwsDict | None:
        """The one resource named `spec.name` that is ours; NotManagedError if only others carry the name."""
        found = self._describe(spec, [{"Name": "tag:Name", "Values": [spec.name]}])
        for item in extra or []:
            if all(item[self.id_key] != f[self.id_key] for f in found):
                found.append(item)
        ours: list[AwsDict] = []
        foreign: list[NotManagedError] = []
        for item in found:
            try:
                check_owned(spec.key, spec.tags, tags_from_list(item.get("Tags", [])))
            except NotManagedError as exc:
                foreign.append(exc)
            else:
                ours.append(item)
        if not ours:
            if foreign:
                raise foreign[0]
            return None
        vpc_id = getattr(spec, "vpc_id", None)
        if len(ours) > 1 and isinstance(vpc_id, str):
            # Two of ours with one name: the one in the VPC the spec wants is the live one.
            in_vpc = [item for item in ours if self._vpc_of(item) == vpc_id]
            ours = in_vpc or ours
        if len(ours) > 1:
            return self._keep_one(spec, sorted(ours, key=lambda item: str(item[self.id_key])))
        return ours[0]

    def _keep_one(self, spec: Ec2Spec, ours: list[AwsDict]) -> AwsDict:
        """Of several resources of ours named `spec.name` (two commands that once ran at the same time), the one
        to keep; the others are remembered as duplicates (`duplicates()`), which deploy and destroy delete. Kinds
        without a rule for "in use" (a VPC, a subnet) stop the plan instead."""
        ids = ", ".join(str(item[self.id_key]) for item in ours)
        raise PlanError(
            f"{spec.key} is ambiguous: {len(ours)} {self.noun}s are tagged Name={spec.name} for this project "
            f"and stage ({ids})",
            hint=f"delete the {self.noun}(s) not in use, or remove their Name tag, then run again",
        )

    def _remember(
        self, spec: Ec2Spec, kept: AwsDict, others: list[AwsDict], state: Callable[[AwsDict], Any]
    ) -> AwsDict:
        """Keep `kept`; each of `others` becomes a duplicate named `<name>@<id>` (`state` reads it back)."""
        found = []
        for item in others:
            resource_id = str(item[self.id_key])
            seen = dataclasses.replace(state(item), name=f"{spec.name}@{resource_id}", depends_on=())
            found.append(Observed(seen, {"id": resource_id}))
        with self._duplicates_lock:
            self._duplicates[spec.key] = found
        return kept

    def duplicates(self) -> dict[Key, list[Observed[Any]]]:
        """The duplicates the reads so far found, by the key of the resource kept in their place."""
        with self._duplicates_lock:
            return {key: list(found) for key, found in self._duplicates.items() if found}

    def _our_vpc(self, spec: Ec2Spec) -> str | None:
        """The ID of the spec's VPC: given, or (a Ref, before apply) the one VPC of ours with that Name tag."""
        vpc_id = getattr(spec, "vpc_id", None)
        if isinstance(vpc_id, str):
            return vpc_id
        if not isinstance(vpc_id, Ref):
            return None
        name = vpc_id.key.name
        vpcs = [
            item
            for page in self.aws.pages(
                "ec2", "describe_vpcs", key=spec.key, Filters=[{"Name": "tag:Name", "Values": [name]}]
            )
            for item in page.get("Vpcs", [])
            if _owned(spec, item)
        ]
        return str(vpcs[0]["VpcId"]) if len(vpcs) == 1 else None

    def _vpc_of(self, item: AwsDict) -> str:
        return str(item.get("VpcId", ""))

    def _by_id(self, spec: Ec2Spec, resource_id: str) -> AwsDict | None:
        found = self._describe(spec, [{"Name": self.id_filter, "Values": [resource_id]}])
        return found[0] if found else None

    def _retag(self, spec: Ec2Spec, resource_id: str, live: Mapping[str, str]) -> None:
        """Make the resource's tags equal to the spec's: only the keys that differ are touched."""
        desired = desired_tags(spec)
        stale = [{"Key": k} for k in sorted(live) if k not in desired]
        changed = {k: v for k, v in desired.items() if live.get(k) != v}
        if stale:
            self.aws.call("ec2", "delete_tags", key=spec.key, Resources=[resource_id], Tags=stale)
        if changed:
            self.aws.call(
                "ec2", "create_tags", key=spec.key, Resources=[resource_id], Tags=tags_to_list(changed)
            )

    def _on_new(self, spec: Ec2Spec, operation: str, **params: Any) -> AwsDict:
        """Call `operation` on a just-created resource, riding out EC2's eventual consistency on its ID."""
        return self.aws.retry_on(
            lambda: self.aws.call("ec2", operation, key=spec.key, **params),
            codes=frozenset({self.not_found_code}),
            what=f"{spec.key} to become visible",
            timeout_s=NEW_ID_TIMEOUT_S,
            interval_s=2.0,
        )

    def _wait_state(self, spec: Ec2Spec, resource_id: str, state: str) -> None:
        def probe() -> bool | None:
            item = self._by_id(spec, resource_id)
            return True if item is not None and item.get("State") == state else None

        self.aws.wait_until(
            probe,
            what=f"{spec.key} ({resource_id}) to be {state}",
            timeout_s=CREATE_WAIT_TIMEOUT_S,
            interval_s=POLL_INTERVAL_S,
            key=spec.key,
        )

    def _delete_with_retry(
        self, spec: Ec2Spec, resource_id: str, attempt: Callable[[], object], *, timeout_s: float
    ) -> None:
        """Run `attempt` (which deletes), retrying DependencyViolation until `timeout_s`; then wait until gone."""
        delete_until_gone(
            self.aws,
            key=spec.key,
            what=f"{spec.key} ({resource_id})",
            attempt=attempt,
            not_found_code=self.not_found_code,
            gone=lambda: self._by_id(spec, resource_id) is None,
            timeout_s=timeout_s,
        )
