"""Plan: the ordered changes `deploy` applies or `destroy` performs, its summary and JSON form (a public contract,
`"version": 1`), and the progress Events the engine emits. Imports: diff, specs. Pure."""

from __future__ import annotations

import dataclasses
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import TYPE_CHECKING, Any

from batchctl.diff import Action, Change
from batchctl.specs import UNCOMPARED_FIELDS, Key, Ref

if TYPE_CHECKING:
    from batchctl.triggers import Trigger  # only a type here: config (and pydantic) load when a plan is built

PLAN_FORMAT_VERSION = 1
UNKNOWN = "(known after apply)"


def to_jsonable(value: Any) -> Any:
    """Spec field values as plain JSON: Refs become "(known after apply)", tuples lists, keys strings."""
    if isinstance(value, Ref):
        return UNKNOWN
    if isinstance(value, Key):
        return str(value)
    if isinstance(value, StrEnum):
        return value.value
    if isinstance(value, Mapping):
        return {str(k): to_jsonable(v) for k, v in value.items()}
    if isinstance(value, tuple | list):
        return [to_jsonable(v) for v in value]
    return value


@dataclass(frozen=True, slots=True)
class Plan:
    """Changes in dependency order (reverse order for destroy)."""

    project: str
    stage: str
    changes: tuple[Change, ...]
    destroy: bool = False
    triggers: tuple[Trigger, ...] = ()
    # Resources of ours that jobs.yaml no longer declares (deploy --prune deletes them; destroy always does).
    orphans: tuple[Key, ...] = ()
    # Resources carrying this stage's tags under names batchctl would never generate: reported, never deleted.
    foreign: tuple[Key, ...] = ()
    # What each resource depends on, from the specs before their Refs were filled (a filled Ref hides the edge).
    edges: Mapping[Key, frozenset[Key]] = field(default_factory=dict, compare=False)
    # What the plan cannot do or check for the user, in one line each (e.g. a registry outside ECR may need a login).
    notes: tuple[str, ...] = ()
    # destroy: the state machines with runs still going, and how many (their delete stops them first).
    running_runs: Mapping[Key, int] = field(default_factory=dict, compare=False)

    @property
    def stops_runs(self) -> int:
        """How many running runs this plan stops (destroy stops a workflow's runs before deleting it)."""
        return sum(self.running_runs.values())

    def summary(self) -> dict[str, int]:
        counts = Counter(c.action.value for c in self.changes)
        return {a.value: counts.get(a.value, 0) for a in Action}

    @property
    def has_changes(self) -> bool:
        return any(c.action is not Action.NOOP for c in self.changes)

    @property
    def pending(self) -> tuple[Change, ...]:
        return tuple(c for c in self.changes if c.action is not Action.NOOP)

    def to_dict(self) -> dict[str, Any]:
        return {
            "version": PLAN_FORMAT_VERSION,
            "project": self.project,
            "stage": self.stage,
            "operation": "destroy" if self.destroy else "deploy",
            "summary": self.summary(),
            "changes": [change_to_dict(c) for c in self.changes],
            "triggers": [t.to_dict() for t in self.triggers],
            "orphans": [str(key) for key in self.orphans],
            "foreign": [str(key) for key in self.foreign],
            "notes": list(self.notes),
            "running_runs": {str(key): count for key, count in self.running_runs.items()},
        }


def change_to_dict(change: Change) -> dict[str, Any]:
    """One change as JSON: key, kind, name, action and, for updates, each field's before/after."""
    item: dict[str, Any] = {
        "key": str(change.key),
        "kind": change.key.kind.value,
        "name": change.key.name,
        "action": change.action.value,
    }
    if change.action in (Action.UPDATE, Action.REPLACE):
        item["fields"] = {
            name: {
                "before": to_jsonable(getattr(change.observed, name)),
                "after": to_jsonable(getattr(change.desired, name)),
            }
            for name in change.fields
        }
    elif change.action is Action.CREATE:
        item["attributes"] = spec_attributes(change.desired)
    return item


def spec_attributes(spec: Any) -> dict[str, Any]:
    """A spec's compared fields as JSON."""
    return {
        f.name: to_jsonable(getattr(spec, f.name))
        for f in dataclasses.fields(spec)
        if f.name not in UNCOMPARED_FIELDS
    }


class Phase(StrEnum):
    START = "start"
    DONE = "done"
    FAILED = "failed"


@dataclass(frozen=True, slots=True)
class Event:
    """Progress of one change, for the UI: started, done (with duration), failed (with the error)."""

    key: Key
    action: Action
    phase: Phase
    duration_s: float = 0.0
    error: str | None = None


@dataclass(slots=True)
class ApplyResult:
    """What an apply did: finished changes, the failed one(s), those never started, and resource outputs."""

    done: list[Change] = field(default_factory=list)
    failed: list[tuple[Change, str]] = field(default_factory=list)
    not_started: list[Change] = field(default_factory=list)
    outputs: dict[Key, Mapping[str, str]] = field(default_factory=dict)
    interrupted: bool = False

    def to_dict(self) -> dict[str, Any]:
        return {
            "done": [str(c.key) + ":" + c.action.value for c in self.done],
            "failed": [{"key": str(c.key), "action": c.action.value, "error": e} for c, e in self.failed],
            "not_started": [str(c.key) + ":" + c.action.value for c in self.not_started],
            "interrupted": self.interrupted,
        }
