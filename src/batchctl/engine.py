"""Reconcile desired specs with AWS: read → diff → plan → apply, and destroy in reverse dependency order.

The pipeline and its rules:
1. READ: every spec is read by its provisioner, concurrently (reads never mutate and need no other resource's
   ID: EC2 resources are found by tag). NotManagedErrors from the reads stop everything before a change, all
   named in one error.
2. PLAN (pure): specs in dependency order; Refs are filled from what was read, then `diff` gives one Change each.
   Until a resource exists, a Ref stays a Ref and the plan shows "(known after apply)".
3. APPLY: exactly the plan that was shown. A REPLACE without `allow_replace` is refused before any call. Changes
   run as soon as everything they depend on is done (graphlib get_ready/done), at most `parallelism` at a time.
   On the first failure or an interrupt no new change starts, the ones in flight finish, and the result says what
   was done, what failed and what never started, so the next deploy can finish the job.
4. DESTROY: only resources that exist and that reads proved ours are deleted, dependents first.

Imports: graph, plan, diff, specs, provisioners (through the Provisioner protocol), errors.
"""

from __future__ import annotations

import logging
import signal
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from typing import Any

from batchctl import graph
from batchctl.diff import Action, Change, diff
from batchctl.errors import BatchctlError, NotManagedError, ReplacementRefusedError
from batchctl.plan import ApplyResult, Event, Phase, Plan
from batchctl.provisioners import base
from batchctl.provisioners.base import Prefetching, Provisioner
from batchctl.specs import Key, Kind, Observed, Outputs, fill_refs

log = logging.getLogger(__name__)

EventSink = Callable[[Event], None]
Provisioners = Mapping[Kind, Provisioner[Any]]

DEFAULT_PARALLELISM = 16
# Below this many resources of a kind, one call each is as fast as a batched read (and reads less in big accounts).
PREFETCH_MIN = 4


def _ignore(_event: Event) -> None:
    return None


def read_all(
    specs: Sequence[Any], provisioners: Provisioners, *, parallelism: int = DEFAULT_PARALLELISM
) -> dict[Key, Observed | None]:
    """Read every spec's live state concurrently. Every read finishes; then the first error in spec order that is
    not a NotManagedError is raised, else every NotManagedError at once (`not_managed`).

    A kind whose provisioner can prefetch (batched List/Describe calls, the tagging API) and has at least
    PREFETCH_MIN specs is prefetched first; its reads start as soon as its prefetch is done, while other kinds'
    reads already run. At most `parallelism` calls are in flight.
    """
    if not specs:
        return {}
    by_kind: dict[Kind, list[Any]] = {}
    for spec in specs:
        by_kind.setdefault(spec.kind, []).append(spec)
    reads: dict[Key, Future[Observed | None]] = {}
    with ThreadPoolExecutor(max_workers=max(1, min(parallelism, len(specs)))) as pool:
        prefetches: dict[Future[None], Kind] = {}
        for kind, group in by_kind.items():
            prov = provisioners[kind]
            if len(group) >= PREFETCH_MIN and isinstance(prov, Prefetching):
                prefetches[pool.submit(prov.prefetch, group)] = kind
            else:
                reads.update({s.key: pool.submit(prov.read, s) for s in group})
        while prefetches:
            finished, _ = wait(prefetches, return_when=FIRST_COMPLETED)
            for future in finished:
                kind = prefetches.pop(future)
                future.result()
                prov = provisioners[kind]
                reads.update({s.key: pool.submit(prov.read, s) for s in by_kind[kind]})
    # Leaving the pool waited for every read.
    errors = [error for spec in specs if (error := reads[spec.key].exception()) is not None]
    others = [error for error in errors if not isinstance(error, NotManagedError)]
    if others:
        raise others[0]
    if errors:
        raise not_managed([error for error in errors if isinstance(error, NotManagedError)])
    return {spec.key: reads[spec.key].result() for spec in specs}


def not_managed(errors: Sequence[NotManagedError]) -> NotManagedError:
    """One error for every resource found under our name without our tags: the error itself when there is one,
    else one naming each of them, one line each (so one `plan` shows them all)."""
    if len(errors) == 1:
        return errors[0]
    lines = "\n".join(f"  {error.message}" for error in errors)
    return NotManagedError(
        f"{len(errors)} resources exist but are not managed by batchctl for this project and stage:\n{lines}",
        hint=errors[0].hint,
    )


def outputs_of(observed: Mapping[Key, Observed | None]) -> dict[Key, Outputs]:
    """Outputs of every resource that exists."""
    return {key: found.outputs for key, found in observed.items() if found is not None}


def make_plan(
    specs: Sequence[Any], observed: Mapping[Key, Observed | None], *, project: str, stage: str
) -> Plan:
    """Diff every spec (Refs filled from what exists) into a Plan in dependency order."""
    known = outputs_of(observed)
    changes = []
    for spec in graph.order(specs):
        found = observed.get(spec.key)
        desired = fill_refs(spec, known)
        changes.append(diff(desired, found.state if found else None))
    edges = {key: frozenset(deps) for key, deps in graph.edges(specs).items()}
    return Plan(project=project, stage=stage, changes=tuple(changes), edges=edges)


def make_destroy_plan(
    specs: Sequence[Any], observed: Mapping[Key, Observed | None], *, project: str, stage: str
) -> Plan:
    """DELETE for every spec that exists, dependents before what they depend on."""
    changes = [
        Change(Action.DELETE, None, found.state)
        for spec in reversed(graph.order(specs))
        if (found := observed.get(spec.key)) is not None
    ]
    return Plan(project=project, stage=stage, changes=tuple(changes), destroy=True)


def check_replacements(plan: Plan, *, allow_replace: bool) -> None:
    """Refuse a plan with REPLACE changes unless allowed: before any call is made."""
    replaced = [c for c in plan.changes if c.action is Action.REPLACE]
    if replaced and not allow_replace:
        lines = ", ".join(f"{c.key} ({', '.join(c.fields)})" for c in replaced)
        raise ReplacementRefusedError(
            f"the plan replaces {len(replaced)} resource(s): {lines}",
            hint="replacing deletes and recreates the resource; rerun with --allow-replace if that is intended",
        )
    # A replacement deletes the old resource first, which AWS refuses (a VPC with subnets, a compute environment
    # with a job queue) or which breaks what still points at it. Only a resource nothing existing depends on is
    # replaced; the rest is refused here, before any call.
    edges = plan.edges or graph.edges([c.desired for c in plan.changes])
    existing = {c.key for c in plan.changes if c.action is not Action.CREATE}
    for change in replaced:
        dependents = sorted(k for k, deps in edges.items() if change.key in deps and k in existing)
        if dependents:
            shown = ", ".join(map(str, dependents[:3])) + (", ..." if len(dependents) > 3 else "")
            raise ReplacementRefusedError(
                f"{change.key} cannot be replaced ({', '.join(change.fields)}) while {len(dependents)} existing "
                f"resource(s) depend on it: {shown}",
                hint="keep the old value in jobs.yaml, or run `batchctl destroy` then `batchctl deploy` to "
                "recreate the stage with the new one",
            )


class _Runner:
    """Runs changes over a dependency graph with bounded concurrency; stops starting new ones on failure."""

    def __init__(
        self,
        *,
        graph_edges: dict[Key, set[Key]],
        run: Callable[[Change], Outputs | None],
        changes: Mapping[Key, Change],
        parallelism: int,
        on_event: EventSink,
        stop: threading.Event | None,
    ) -> None:
        self.edges = graph_edges
        self.run = run
        self.changes = changes
        self.parallelism = max(1, parallelism)
        self.on_event = on_event
        self.stop = stop or threading.Event()

    def execute(self, result: ApplyResult) -> None:
        restore = _stop_on_sigint(self.stop)
        try:
            self._execute(result)
        finally:
            restore()

    def _execute(self, result: ApplyResult) -> None:
        ts = graph.sorter(self.edges)
        in_flight: dict[Future[Outputs | None], tuple[Change, float]] = {}
        ready: list[Key] = []
        halted = False
        with ThreadPoolExecutor(max_workers=self.parallelism) as pool:
            while True:
                try:
                    if self.stop.is_set() and not halted:
                        halted = True
                        result.interrupted = True
                    if not halted:
                        ready.extend(sorted(ts.get_ready()))
                        # Changes with nothing to do complete at once, which may free more.
                        while ready and not halted and not self.stop.is_set():
                            key = ready[0]
                            change = self.changes.get(key)
                            if change is None or change.action is Action.NOOP:
                                ready.pop(0)
                                ts.done(key)
                                ready.extend(sorted(ts.get_ready()))
                                continue
                            if len(in_flight) >= self.parallelism:
                                break
                            ready.pop(0)
                            self.on_event(Event(key, change.action, Phase.START))
                            in_flight[pool.submit(self.run, change)] = (change, time.monotonic())
                    if not in_flight:
                        break
                    finished, _ = wait(in_flight, return_when=FIRST_COMPLETED)
                    for future in sorted(finished, key=lambda f: in_flight[f][0].key):
                        change, started = in_flight.pop(future)
                        elapsed = time.monotonic() - started
                        try:
                            outputs = future.result()
                        except BatchctlError as exc:
                            halted = True
                            result.failed.append((change, exc.message))
                            self.on_event(
                                Event(change.key, change.action, Phase.FAILED, elapsed, exc.message)
                            )
                            continue
                        if outputs is not None:
                            result.outputs[change.key] = outputs
                        result.done.append(change)
                        self.on_event(Event(change.key, change.action, Phase.DONE, elapsed))
                        if not halted:
                            ts.done(change.key)
                    if self.stop.is_set() and not halted:
                        halted = True
                        result.interrupted = True
                except KeyboardInterrupt:
                    # Ctrl-C: start nothing new, let in-flight calls finish, then report.
                    halted = True
                    result.interrupted = True
                    self.stop.set()
        finished_keys = {c.key for c in result.done} | {c.key for c, _ in result.failed}
        result.not_started = [
            c
            for k, c in sorted(self.changes.items())
            if c.action is not Action.NOOP and k not in finished_keys
        ]


def _stop_on_sigint(stop: threading.Event) -> Callable[[], None]:
    """While changes run, the first Ctrl-C only sets `stop` (no KeyboardInterrupt can land between starting a
    change and recording it); a second Ctrl-C raises as usual. Returns the function that restores the handler.
    Signals can only be handled on the main thread: elsewhere this does nothing."""
    if threading.current_thread() is not threading.main_thread():
        return lambda: None
    previous = signal.getsignal(signal.SIGINT)
    if previous is None:  # installed from outside Python: fall back to the usual KeyboardInterrupt
        previous = signal.default_int_handler

    def on_sigint(_signum: int, _frame: object) -> None:
        stop.set()
        signal.signal(signal.SIGINT, previous)

    def restore() -> None:
        signal.signal(signal.SIGINT, previous)

    signal.signal(signal.SIGINT, on_sigint)
    return restore


def apply(
    plan: Plan,
    provisioners: Provisioners,
    *,
    observed: Mapping[Key, Observed | None],
    parallelism: int = DEFAULT_PARALLELISM,
    allow_replace: bool = False,
    on_event: EventSink = _ignore,
    stop: threading.Event | None = None,
) -> ApplyResult:
    """Apply a deploy plan: create/update/replace in dependency order, filling Refs as resources appear."""
    check_replacements(plan, allow_replace=allow_replace)
    result = ApplyResult(outputs=dict(outputs_of(observed)))
    lock = threading.Lock()

    def run(change: Change) -> Outputs | None:
        with lock:
            known = dict(result.outputs)
        desired = fill_refs(change.desired, known)
        prov = provisioners[desired.kind]
        found = observed.get(change.key)
        if change.action is Action.CREATE:
            return prov.create(desired)
        if change.action is Action.UPDATE:
            assert found is not None
            return prov.update(desired, base.Observed.of(found))
        if change.action is Action.REPLACE:
            assert found is not None
            prov.delete(base.Observed.of(found))
            return prov.create(desired)
        return None

    specs = [c.desired for c in plan.changes]
    runner = _Runner(
        graph_edges=graph.edges(specs),
        run=run,
        changes={c.key: c for c in plan.changes},
        parallelism=parallelism,
        on_event=on_event,
        stop=stop,
    )
    runner.execute(result)
    return result


def apply_destroy(
    plan: Plan,
    provisioners: Provisioners,
    *,
    specs: Sequence[Any],
    observed: Mapping[Key, Observed | None],
    parallelism: int = DEFAULT_PARALLELISM,
    on_event: EventSink = _ignore,
    stop: threading.Event | None = None,
) -> ApplyResult:
    """Delete what the destroy plan lists; a resource goes only after everything that depends on it."""
    result = ApplyResult()
    reverse = graph.dependents(graph.edges(specs))

    def run(change: Change) -> Outputs | None:
        found = observed[change.key]
        assert found is not None
        provisioners[change.key.kind].delete(base.Observed.of(found))
        return None

    runner = _Runner(
        graph_edges=reverse,
        run=run,
        changes={c.key: c for c in plan.changes},
        parallelism=parallelism,
        on_event=on_event,
        stop=stop,
    )
    runner.execute(result)
    return result
