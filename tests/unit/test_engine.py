"""The engine against in-memory provisioners: ordering, Refs, replacement refusal, destroy order, concurrency."""

from __future__ import annotations

import dataclasses
import os
import signal
import threading
import time
from typing import Any, ClassVar

import pytest

from batchctl import engine
from batchctl.diff import Action
from batchctl.errors import (
    AwsError,
    DependencyCycleError,
    NotManagedError,
    PlanError,
    ReplacementRefusedError,
)
from batchctl.plan import Event, Phase
from batchctl.specs import Key, Kind, LogGroupSpec, Observed, Outputs, QueueSpec, Ref, SubnetSpec, VpcSpec


class World:
    """Shared in-memory 'cloud' with a call log."""

    def __init__(self) -> None:
        self.items: dict[Key, Observed] = {}
        self.calls: list[tuple[str, Key]] = []
        self.lock = threading.Lock()
        self.active = 0
        self.max_active = 0
        self.delay_s = 0.0
        self.fail_on: set[Key] = set()
        self.not_ours: set[Key] = set()  # reads of these find our name without our tags
        self.read_fails: set[Key] = set()
        self.counter = 0


class FakeProvisioner:
    kind: ClassVar[Kind]

    def __init__(self, world: World, kind: Kind) -> None:
        self.world = world
        self.kind = kind  # type: ignore[misc]

    def _enter(self, op: str, key: Key) -> None:
        with self.world.lock:
            self.world.calls.append((op, key))
            self.world.active += 1
            self.world.max_active = max(self.world.max_active, self.world.active)
        if self.world.delay_s:
            time.sleep(self.world.delay_s)
        with self.world.lock:
            self.world.active -= 1
        if key in self.world.fail_on and op != "read":
            raise AwsError(f"{op} failed for {key}", code="Boom")

    def read(self, spec: Any) -> Observed | None:
        self._enter("read", spec.key)
        if spec.key in self.world.not_ours:
            raise NotManagedError(
                f"{spec.key} exists but is not managed by batchctl for this project and stage "
                "(it has no batchctl tags)",
                hint="rename the project or stage",
            )
        if spec.key in self.world.read_fails:
            raise AwsError(f"read failed for {spec.key}", code="AccessDenied")
        return self.world.items.get(spec.key)

    def create(self, spec: Any) -> Outputs:
        self._enter("create", spec.key)
        with self.world.lock:
            self.world.counter += 1
            outputs = {"id": f"id-{self.world.counter}"}
        self.world.items[spec.key] = Observed(spec, outputs)
        return outputs

    def update(self, spec: Any, observed: Observed) -> Outputs:
        self._enter("update", spec.key)
        self.world.items[spec.key] = Observed(spec, observed.outputs)
        return observed.outputs

    def delete(self, observed: Observed) -> None:
        self._enter("delete", observed.state.key)
        del self.world.items[observed.state.key]


def provisioners(world: World) -> dict[Kind, Any]:
    return {k: FakeProvisioner(world, k) for k in Kind}


TAGS = {"batchctl:project": "p", "batchctl:stage": "s"}
VPC = VpcSpec(name="p-s-vpc", cidr_block="10.0.0.0/24", tags=TAGS)
SUBNETS = [
    SubnetSpec(
        name=f"p-s-public-{i}", vpc_id=Ref(VPC.key, "id"), cidr_block=f"10.0.0.{i * 128}/25", az_index=i
    )
    for i in range(2)
]
GROUPS = [LogGroupSpec(name=f"/g/{i}", retention_days=7) for i in range(6)]
SPECS: list[Any] = [*GROUPS, *SUBNETS, VPC]


def deploy(world: World, specs: list[Any], **kwargs: Any) -> Any:
    provs = provisioners(world)
    observed = engine.read_all(specs, provs)
    world.max_active = 0  # measure the apply only
    plan = engine.make_plan(specs, observed, project="p", stage="s")
    return plan, engine.apply(plan, provs, observed=observed, **kwargs)


def test_creates_parents_first_and_fills_refs() -> None:
    world = World()
    plan, result = deploy(world, SPECS)
    assert plan.summary()["create"] == len(SPECS)
    creates = [k for op, k in world.calls if op == "create"]
    assert creates.index(VPC.key) < creates.index(SUBNETS[0].key)
    vpc_id = world.items[VPC.key].outputs["id"]
    assert world.items[SUBNETS[0].key].state.vpc_id == vpc_id
    assert not result.failed
    assert not result.not_started


def test_plan_shows_unknown_ref_until_the_parent_exists() -> None:
    world = World()
    provs = provisioners(world)
    plan = engine.make_plan(SPECS, engine.read_all(SPECS, provs), project="p", stage="s")
    subnet = next(c for c in plan.changes if c.key == SUBNETS[0].key)
    assert (
        plan.to_dict()["changes"][plan.changes.index(subnet)]["attributes"]["vpc_id"] == "(known after apply)"
    )


def test_second_deploy_is_all_noop_and_makes_no_change() -> None:
    world = World()
    deploy(world, SPECS)
    world.calls.clear()
    plan, _ = deploy(world, SPECS)
    assert not plan.has_changes
    assert {op for op, _ in world.calls} == {"read"}


def test_update_touches_only_the_changed_resource() -> None:
    world = World()
    deploy(world, SPECS)
    world.calls.clear()
    changed = [dataclasses.replace(s, retention_days=30) if s.key == GROUPS[2].key else s for s in SPECS]
    plan, _ = deploy(world, changed)
    assert [(c.key, c.action) for c in plan.pending] == [(GROUPS[2].key, Action.UPDATE)]
    assert [c for c in world.calls if c[0] != "read"] == [("update", GROUPS[2].key)]


def test_replacement_is_refused_before_any_call() -> None:
    world = World()
    queue = QueueSpec(name="q")
    deploy(world, [queue])
    world.calls.clear()
    with pytest.raises(ReplacementRefusedError, match="fifo"):
        deploy(world, [dataclasses.replace(queue, fifo=True)])
    assert [c for c in world.calls if c[0] != "read"] == []


def test_replacement_allowed_deletes_then_creates() -> None:
    world = World()
    queue = QueueSpec(name="q")
    deploy(world, [queue])
    world.calls.clear()
    deploy(world, [dataclasses.replace(queue, fifo=True)], allow_replace=True)
    assert [c for c in world.calls if c[0] != "read"] == [("delete", queue.key), ("create", queue.key)]


def test_replacing_a_resource_that_existing_resources_depend_on_is_refused_before_any_call() -> None:
    world = World()
    deploy(world, SPECS)
    world.calls.clear()
    moved = dataclasses.replace(VPC, cidr_block="10.1.0.0/24")
    specs = [moved if s.key == VPC.key else s for s in SPECS]
    with pytest.raises(ReplacementRefusedError) as refused:
        deploy(world, specs, allow_replace=True)
    assert str(VPC.key) in refused.value.message
    assert "2 existing resource(s) depend on it: ec2.subnet/p-s-public-0, ec2.subnet/p-s-public-1" in (
        refused.value.message
    )
    assert "batchctl destroy" in (refused.value.hint or "")
    assert [c for c in world.calls if c[0] != "read"] == []


def test_independent_changes_run_concurrently_within_the_bound() -> None:
    world = World()
    world.delay_s = 0.05
    deploy(world, GROUPS, parallelism=3)
    assert world.max_active == 3


def test_parallelism_one_is_sequential() -> None:
    world = World()
    world.delay_s = 0.01
    deploy(world, GROUPS, parallelism=1)
    assert world.max_active == 1


def test_failure_stops_new_changes_and_reports_the_rest() -> None:
    world = World()
    world.fail_on = {VPC.key}
    events: list[Event] = []
    _, result = deploy(world, SPECS, parallelism=1, on_event=events.append)
    assert [c.key for c, _ in result.failed] == [VPC.key]
    assert {c.key for c in result.not_started} >= {s.key for s in SUBNETS}
    assert any(e.phase is Phase.FAILED and e.key == VPC.key for e in events)
    # The next deploy finishes the job.
    world.fail_on = set()
    _, result = deploy(world, SPECS)
    assert not result.failed
    assert not engine.make_plan(
        SPECS, engine.read_all(SPECS, provisioners(world)), project="p", stage="s"
    ).has_changes


def test_stop_event_halts_before_new_changes() -> None:
    world = World()
    stop = threading.Event()
    stop.set()
    _, result = deploy(world, GROUPS, parallelism=1, stop=stop)
    assert result.interrupted
    assert result.done == []  # stopped before the first change: nothing starts
    assert len(result.not_started) == len(GROUPS)
    assert all(op == "read" for op, _ in world.calls)


def test_destroy_deletes_dependents_first_and_only_what_exists() -> None:
    world = World()
    deploy(world, [VPC, *SUBNETS])
    world.calls.clear()
    specs = [VPC, *SUBNETS, *GROUPS]  # the groups were never created
    provs = provisioners(world)
    observed = engine.read_all(specs, provs)
    plan = engine.make_destroy_plan(specs, observed, project="p", stage="s")
    assert {c.key for c in plan.changes} == {VPC.key, *(s.key for s in SUBNETS)}
    result = engine.apply_destroy(plan, provs, specs=specs, observed=observed)
    deletes = [k for op, k in world.calls if op == "delete"]
    assert deletes[-1] == VPC.key
    assert not world.items
    assert not result.failed


def test_cycle_is_named() -> None:
    a = LogGroupSpec(name="a", depends_on=(Key(Kind.LOG_GROUP, "b"),))
    b = LogGroupSpec(name="b", depends_on=(Key(Kind.LOG_GROUP, "a"),))
    with pytest.raises(DependencyCycleError, match=r"logs\.log_group/a"):
        engine.make_plan([a, b], {}, project="p", stage="s")


class PrefetchingProvisioner(FakeProvisioner):
    """Reads every spec of its kind in one batch first; `read` then answers from it (counted as `hinted`)."""

    def __init__(self, world: World, kind: Kind) -> None:
        super().__init__(world, kind)
        self.batches: list[list[Key]] = []
        self.hinted: list[Key] = []
        self._found: dict[Key, Observed] = {}

    def prefetch(self, specs: Any) -> None:
        self.batches.append([s.key for s in specs])
        self._found = {s.key: self.world.items[s.key] for s in specs if s.key in self.world.items}

    def read(self, spec: Any) -> Observed | None:
        found = self._found.pop(spec.key, None)
        if found is not None:
            self.hinted.append(spec.key)
            return found
        return super().read(spec)


def _log_groups(count: int) -> list[LogGroupSpec]:
    return [LogGroupSpec(name=f"/batchctl/p/s/job-{i}", retention_days=30, tags=TAGS) for i in range(count)]


def test_a_kind_with_enough_resources_is_prefetched_once_before_its_reads() -> None:
    world = World()
    groups = _log_groups(engine.PREFETCH_MIN + 2)
    for spec in groups[:3]:
        world.items[spec.key] = Observed(spec, {"arn": spec.name})
    provs = provisioners(world)
    batcher = PrefetchingProvisioner(world, Kind.LOG_GROUP)
    provs[Kind.LOG_GROUP] = batcher
    observed = engine.read_all([*groups, VPC], provs)
    assert batcher.batches == [[s.key for s in groups]]
    # Found in the batch: no call of its own. Not found: read live.
    assert sorted(batcher.hinted) == sorted(s.key for s in groups[:3])
    assert [key for op, key in world.calls if op == "read"].count(groups[5].key) == 1
    assert list(observed) == [*(s.key for s in groups), VPC.key]
    assert [observed[s.key] is not None for s in groups] == [True, True, True, False, False, False]


def test_a_kind_with_few_resources_is_read_one_by_one() -> None:
    world = World()
    provs = provisioners(world)
    batcher = PrefetchingProvisioner(world, Kind.LOG_GROUP)
    provs[Kind.LOG_GROUP] = batcher
    groups = _log_groups(engine.PREFETCH_MIN - 1)
    engine.read_all(groups, provs)
    assert batcher.batches == []
    assert sorted(key for op, key in world.calls if op == "read") == sorted(s.key for s in groups)


class SigintOnCreate(FakeProvisioner):
    """Sends this process a real SIGINT from inside the first create (a worker thread), as Ctrl-C would."""

    def create(self, spec: Any) -> Outputs:
        if not self.world.calls or all(op != "create" for op, _ in self.world.calls):
            os.kill(os.getpid(), signal.SIGINT)
            time.sleep(0.05)  # the main thread handles the signal while this change is still in flight
        return super().create(spec)


def test_ctrl_c_lets_the_running_change_finish_records_it_and_starts_nothing_more() -> None:
    assert threading.current_thread() is threading.main_thread()  # where Python delivers signals
    world = World()
    provs: dict[Kind, Any] = {k: SigintOnCreate(world, k) for k in Kind}
    before = signal.getsignal(signal.SIGINT)
    observed = engine.read_all(GROUPS, provs)
    plan = engine.make_plan(GROUPS, observed, project="p", stage="s")
    result = engine.apply(plan, provs, observed=observed, parallelism=1)  # no KeyboardInterrupt escapes
    assert result.interrupted
    assert [c.key for c in result.done] == [GROUPS[0].key]
    assert GROUPS[0].key in world.items  # the change in flight finished and is reported as done
    assert [c.key for c in result.not_started] == [g.key for g in GROUPS[1:]]
    assert signal.getsignal(signal.SIGINT) is before  # the usual Ctrl-C is back


def test_every_resource_not_ours_is_named_in_one_error_in_spec_order() -> None:
    world = World()
    world.delay_s = 0.01
    world.not_ours = {GROUPS[4].key, GROUPS[1].key, SUBNETS[0].key, VPC.key, GROUPS[0].key}
    with pytest.raises(NotManagedError) as caught:
        engine.read_all(SPECS, provisioners(world), parallelism=4)
    error = caught.value
    assert isinstance(error, PlanError)
    assert error.exit_code == 1
    head, *lines = error.message.splitlines()
    assert head == "5 resources exist but are not managed by batchctl for this project and stage:"
    named = [spec.key for spec in SPECS if spec.key in world.not_ours]
    assert lines == [
        f"  {key} exists but is not managed by batchctl for this project and stage (it has no batchctl tags)"
        for key in named
    ]
    assert error.hint == "rename the project or stage"
    # Every spec was read: none was skipped because another read failed first.
    assert sorted(k for op, k in world.calls if op == "read") == sorted(spec.key for spec in SPECS)


def test_a_single_resource_not_ours_keeps_its_own_message() -> None:
    world = World()
    world.not_ours = {GROUPS[2].key}
    with pytest.raises(NotManagedError) as caught:
        engine.read_all(SPECS, provisioners(world))
    assert caught.value.message == (
        f"{GROUPS[2].key} exists but is not managed by batchctl for this project and stage (it has no batchctl tags)"
    )


def test_another_read_error_wins_over_resources_not_ours() -> None:
    world = World()
    world.not_ours = {GROUPS[0].key, GROUPS[1].key}
    world.read_fails = {GROUPS[3].key}
    with pytest.raises(AwsError) as caught:
        engine.read_all(SPECS, provisioners(world))
    assert caught.value.message == f"read failed for {GROUPS[3].key}"
