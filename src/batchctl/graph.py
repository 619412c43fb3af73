"""Dependency edges between specs (from `depends_on` and every `Ref`), deterministic ordering, cycle detection.

Imports: specs, errors.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from graphlib import CycleError, TopologicalSorter
from typing import Any

from batchctl.errors import DependencyCycleError, PlanError
from batchctl.specs import Key, refs_of


def dependencies(spec: Any) -> set[Key]:
    """Keys a spec needs to exist before it: its depends_on plus the resources its Refs point at."""
    return set(spec.depends_on) | {ref.key for ref in refs_of(spec)}


def edges(specs: Iterable[Any]) -> dict[Key, set[Key]]:
    """Map each key to the keys it depends on; a dependency missing from `specs` is an error."""
    specs = list(specs)
    known = {s.key for s in specs}
    graph: dict[Key, set[Key]] = {}
    for spec in specs:
        if spec.key in graph:
            raise PlanError(f"two resources share the key {spec.key}")
        deps = dependencies(spec)
        missing = sorted(deps - known)
        if missing:
            raise PlanError(
                f"{spec.key} depends on {', '.join(map(str, missing))}, which is not part of the plan"
            )
        graph[spec.key] = deps
    return graph


def sorter(graph: dict[Key, set[Key]]) -> TopologicalSorter[Key]:
    """A prepared TopologicalSorter; a cycle raises DependencyCycleError naming its keys."""
    ts: TopologicalSorter[Key] = TopologicalSorter(graph)
    try:
        ts.prepare()
    except CycleError as exc:
        cycle = exc.args[1] if len(exc.args) > 1 else []
        raise DependencyCycleError(
            "dependency cycle: " + " -> ".join(str(k) for k in cycle),
            hint="this is a bug in how batchctl builds resources; please report it",
        ) from exc
    return ts


def order(specs: Sequence[Any]) -> list[Any]:
    """Specs in dependency order; each ready batch sorted by key so the order is deterministic."""
    by_key = {s.key: s for s in specs}
    ts = sorter(edges(specs))
    ordered: list[Any] = []
    while ts.is_active():
        ready = sorted(ts.get_ready())
        ordered.extend(by_key[k] for k in ready)
        ts.done(*ready)
    return ordered


def dependents(graph: dict[Key, set[Key]]) -> dict[Key, set[Key]]:
    """Reverse edges: key → keys that depend on it (what must go before it on destroy)."""
    reverse: dict[Key, set[Key]] = {k: set() for k in graph}
    for key, deps in graph.items():
        for dep in deps:
            reverse.setdefault(dep, set()).add(key)
    return reverse
