"""The provisioner contract (Provisioner[S], Observed[S]) and what provisioners share: Ref resolution, the poll
interval, tags, batched-read hints, ACTIVE job definitions. Imports: specs, aws, errors, naming. Each provisioner's
pure halves, to_request(spec) and from_described(item), build its Create call and read AWS's answer back."""

from __future__ import annotations

import dataclasses
import logging
import threading
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, ClassVar, Generic, Protocol, TypeVar, runtime_checkable

from batchctl.aws import Aws
from batchctl.errors import AwsError, NotManagedError
from batchctl.naming import TAG_PROJECT, TAG_STAGE
from batchctl.specs import AwsDict, Key, Kind, Outputs, Ref, Spec
from batchctl.specs import Observed as UntypedObserved

if TYPE_CHECKING:
    from _typeshed import DataclassInstance

    class SpecData(Spec, DataclassInstance, Protocol):
        """A *Spec: the Spec protocol on a dataclass."""


log = logging.getLogger(__name__)

S = TypeVar("S", bound="SpecData")
T = TypeVar("T")

# How often a wait polls AWS at most (Aws.wait_until and retry_on back off from 1 s up to this). Each wait on the
# critical path (compute environment, job queue, pipe) overshoots AWS's own time by up to this much, so it stays
# small; at most `--parallelism` waits poll at once, so the read rate stays far below the services' throttles.
POLL_INTERVAL_S = 2.0


@dataclasses.dataclass(frozen=True, slots=True)
class Observed(UntypedObserved, Generic[S]):
    """What `read` found: the live state as the spec's own type S, plus outputs (IDs, ARNs, URLs).

    A specs.Observed, so plans and callers holding observations of every kind keep them as one type."""

    state: S
    outputs: Outputs = dataclasses.field(default_factory=dict)

    @staticmethod
    def of(found: UntypedObserved) -> Observed[Any]:
        """`found` as a typed observation (what a `read` returned already is one)."""
        return found if isinstance(found, Observed) else Observed(found.state, found.outputs)


@runtime_checkable
class Deduplicating(Protocol):
    """A provisioner whose reads may find several resources of ours under one name (EC2 finds by Name tag, and two
    commands that once ran at once made two): it keeps the one in use and names the others, which deploy and
    destroy delete (shown in the plan first)."""

    def duplicates(self) -> Mapping[Key, Sequence[UntypedObserved]]:
        """By the key of the resource kept: the others, each under the name `<name>@<id>`."""
        ...


class Provisioner(Protocol[S]):
    """Four methods per kind; failure semantics are part of the contract."""

    kind: ClassVar[Kind]

    def __init__(self, aws: Aws) -> None: ...

    def read(self, spec: S) -> Observed[S] | None:
        """Return live state normalized to the spec's shape, or None if absent. Never mutates.

        Raises NotManagedError when a resource with the spec's name exists without our project+stage tags.
        """

    def create(self, spec: S) -> Outputs:
        """Create the resource. If this raises, nothing was left behind."""

    def update(self, spec: S, observed: Observed[S]) -> Outputs:
        """Bring the resource from `observed` to `spec`."""

    def delete(self, observed: Observed[S]) -> None:
        """Delete the resource (waiting until AWS says it is gone). If this raises, it is assumed to still exist."""


def observation(spec: S, state: S, outputs: Outputs) -> Observed[S]:
    """What `read` returns for `spec`: `state` (from `from_described`) with the spec's `depends_on`, which is
    bookkeeping AWS does not hold."""
    return Observed(dataclasses.replace(state, depends_on=spec.depends_on), outputs)


def resolved(value: str | Ref, *, key: Key, field: str) -> str:
    """The ID in a spec field; a Ref still unfilled at create/update time is a bug in the caller."""
    if isinstance(value, Ref):
        raise TypeError(f"{key}: {field} is still {value.key}.{value.attr}; the engine must fill Refs first")
    return value


@runtime_checkable
class Prefetching(Protocol):
    """A provisioner that can read many resources of its kind in a few batched calls (a paged List/Describe, or
    the tagging API) before the engine calls `read` for each of them."""

    def prefetch(self, specs: Sequence[Any]) -> None:
        """Fill this provisioner's `Hints` for `specs`. Never mutates, never raises AwsError: a batched read that
        fails (e.g. AccessDenied on an optional permission) only leaves `read` to make its usual calls."""


class Hints(Generic[T]):
    """What a batched read found, by resource name, each taken at most once by `read`.

    Rules: a hint stands for what exists. A name the batch did not find is read live by `read` (a listing can lag
    behind a create), unless the batch reads the same state as `read` would (`absent`). A hint is taken (removed)
    when used, so a later `read` (during apply) is live again.
    """

    def __init__(self) -> None:
        self._found: dict[str, T] = {}
        self._absent: set[str] = set()
        self._lock = threading.Lock()

    def put(self, found: Mapping[str, T], *, absent: Iterable[str] = ()) -> None:
        """`absent`: names the batch proves absent. Only from a call that reads the same state as `read`'s own
        call, as current (DescribeLogGroups by prefix, DescribeJobDefinitions, IAM ListRoles); never from an index
        that lags behind (the tagging API, SQS ListQueues)."""
        with self._lock:
            self._found.update(found)
            self._absent.update(absent)

    def take(self, name: str) -> T | None:
        with self._lock:
            return self._found.pop(name, None)

    def absent(self, name: str) -> bool:
        """True (once) when the batch proved `name` absent."""
        with self._lock:
            if name in self._absent:
                self._absent.discard(name)
                return True
            return False


def prefetching(what: str, fetch: Callable[[], None]) -> None:
    """Run a batched read; an AwsError is logged and ignored (the per-resource reads then happen as before)."""
    try:
        fetch()
    except AwsError as exc:
        log.debug("batched read of %s skipped: %s", what, exc.message)


def tagged_resources(aws: Aws, specs: Sequence[Any], *, resource_type: str) -> dict[str, dict[str, str]]:
    """ARN → tags of every resource of `resource_type` (a tagging API filter: a service, e.g. "logs") tagged with the
    project and stage of `specs`, in one paged GetResources. Empty when the specs carry no such tags.

    The tagging API is eventually consistent: callers use these tags only when they equal the desired ones, and
    read the resource's own tags otherwise."""
    tags: Mapping[str, str] = getattr(specs[0], "tags", {}) if specs else {}
    if TAG_PROJECT not in tags or TAG_STAGE not in tags:
        return {}
    found: dict[str, dict[str, str]] = {}
    try:
        for page in aws.pages(
            "resourcegroupstaggingapi",
            "get_resources",
            key=resource_type,
            ResourceTypeFilters=[resource_type],
            TagFilters=[
                {"Key": TAG_PROJECT, "Values": [tags[TAG_PROJECT]]},
                {"Key": TAG_STAGE, "Values": [tags[TAG_STAGE]]},
            ],
            ResourcesPerPage=100,
        ):
            for item in page.get("ResourceTagMappingList", []):
                found[str(item["ResourceARN"])] = tags_from_list(item.get("Tags", []))
    except AwsError as exc:  # e.g. no tag:GetResources permission: each resource's tags are read instead
        log.debug("tags of %s not read in bulk: %s", resource_type, exc.message)
        return {}
    return found


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


def stale_and_changed(
    desired: Mapping[str, str], live: Mapping[str, str]
) -> tuple[list[str], dict[str, str]]:
    """The tag keys to remove (sorted) and the tags to add or change, to bring `live` tags to `desired`."""
    stale = sorted(k for k in live if k not in desired)
    return stale, {k: v for k, v in desired.items() if live.get(k) != v}


def active_job_definitions(aws: Aws, name: str, *, key: object = "") -> list[AwsDict]:
    """Every ACTIVE revision of the job definition `name`, oldest first (AWS paginates; moto does not)."""
    found: list[AwsDict] = []
    for page in aws.pages(
        "batch", "describe_job_definitions", key=key or name, jobDefinitionName=name, status="ACTIVE"
    ):
        for definition in page.get("jobDefinitions", []):
            if definition.get("jobDefinitionName") == name and definition.get("status") == "ACTIVE":
                found.append(definition)
    return sorted(found, key=lambda d: int(d.get("revision", 0)))
