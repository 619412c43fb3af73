"""The provisioner contract shared by every resource kind, plus tag helpers. Imports: specs, aws, errors, naming.

A provisioner talks to one AWS service for one Kind: `read` normalizes live state into the spec's shape (and
proves ownership by tag), `create`/`update`/`delete` change it. Diffing happens elsewhere, in pure code.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any, ClassVar, Protocol

from batchctl.aws import Aws
from batchctl.errors import NotManagedError
from batchctl.naming import TAG_PROJECT, TAG_STAGE
from batchctl.specs import Key, Kind, Observed, Outputs


class Provisioner(Protocol):
    """Four methods per kind; failure semantics are part of the contract."""

    kind: ClassVar[Kind]

    def __init__(self, aws: Aws) -> None: ...

    def read(self, spec: Any) -> Observed | None:
        """Return live state normalized to the spec's shape, or None if absent. Never mutates.

        Raises NotManagedError when a resource with the spec's name exists without our project+stage tags.
        """

    def create(self, spec: Any) -> Outputs:
        """Create the resource. If this raises, nothing was left behind."""

    def update(self, spec: Any, observed: Observed) -> Outputs:
        """Bring the resource from `observed` to `spec`."""

    def delete(self, observed: Observed) -> None:
        """Delete the resource (waiting until AWS says it is gone). If this raises, it is assumed to still exist."""


def tags_from_list(
    items: Iterable[Mapping[str, str]], *, key: str = "Key", value: str = "Value"
) -> dict[str, str]:
    """[{"Key": k, "Value": v}, ...] → {k: v} (IAM, EC2, ECR, SNS, SFN use this shape)."""
    return {str(item[key]): str(item[value]) for item in items}


def tags_to_list(tags: Mapping[str, str], *, key: str = "Key", value: str = "Value") -> list[dict[str, str]]:
    """{k: v} → [{"Key": k, "Value": v}, ...], sorted by key."""
    return [{key: k, value: v} for k, v in sorted(tags.items())]


def check_owned(key: Key, desired_tags: Mapping[str, str], live_tags: Mapping[str, str]) -> None:
    """Raise NotManagedError unless the live resource carries the desired project+stage tags."""
    for tag in (TAG_PROJECT, TAG_STAGE):
        want = desired_tags.get(tag)
        if want is not None and live_tags.get(tag) != want:
            have = ", ".join(f"{t}={live_tags[t]}" for t in (TAG_PROJECT, TAG_STAGE) if t in live_tags)
            raise NotManagedError(
                f"{key} exists but is not managed by batchctl for this project and stage"
                + (f" (it is tagged {have})" if have else " (it has no batchctl tags)"),
                hint="rename the project or stage in jobs.yaml, or delete/rename the existing resource yourself",
            )
