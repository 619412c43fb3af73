"""Compare desired and observed specs field by field. Imports: specs. Pure."""

from __future__ import annotations

from dataclasses import dataclass, fields
from enum import StrEnum
from typing import Any

from batchctl.specs import UNCOMPARED_FIELDS, Key, Ref


class Action(StrEnum):
    """What a change does; values appear in plan JSON."""

    NOOP = "noop"
    CREATE = "create"
    UPDATE = "update"
    REPLACE = "replace"
    DELETE = "delete"


@dataclass(frozen=True, slots=True)
class Change:
    """One resource's action, with the desired and observed state and the fields that differ."""

    action: Action
    desired: Any
    observed: Any | None
    fields: tuple[str, ...] = ()

    @property
    def key(self) -> Key:
        spec: Any = self.desired if self.desired is not None else self.observed
        key: Key = spec.key
        return key


def _differs(desired: Any, observed: Any) -> bool:
    if isinstance(desired, Ref):
        # Unknown until its resource exists; an existing value on the other side means the resource moved.
        return True
    if isinstance(desired, tuple) and isinstance(observed, tuple):
        return len(desired) != len(observed) or any(
            _differs(d, o) for d, o in zip(desired, observed, strict=True)
        )
    return bool(desired != observed)


def changed_fields(desired: Any, observed: Any) -> tuple[str, ...]:
    """Names of compared fields whose values differ."""
    return tuple(
        f.name
        for f in fields(desired)
        if f.name not in UNCOMPARED_FIELDS and _differs(getattr(desired, f.name), getattr(observed, f.name))
    )


def diff(desired: Any, observed: Any | None) -> Change:
    """NOOP, CREATE, UPDATE or REPLACE (when a field AWS cannot change in place differs)."""
    if observed is None:
        return Change(Action.CREATE, desired, None, ())
    changed = changed_fields(desired, observed)
    if not changed:
        return Change(Action.NOOP, desired, observed, ())
    action = Action.REPLACE if desired.replace_on.intersection(changed) else Action.UPDATE
    return Change(action, desired, observed, changed)
