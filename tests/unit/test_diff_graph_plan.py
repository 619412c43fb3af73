"""diff, graph.order and Plan's JSON form."""

from __future__ import annotations

import dataclasses
import json

import pytest

from batchctl import graph
from batchctl.diff import Action, diff
from batchctl.errors import DependencyCycleError, PlanError
from batchctl.plan import Plan
from batchctl.specs import Key, Kind, LogGroupSpec, QueueSpec, Ref, SubnetSpec, VpcSpec

QUEUE = QueueSpec(name="jobs-inbox", visibility_timeout_s=60, tags={"batchctl:project": "p"})


def test_absent_resource_is_created() -> None:
    change = diff(QUEUE, None)
    assert change.action is Action.CREATE
    assert change.key == Key(Kind.SQS_QUEUE, "jobs-inbox")


def test_equal_state_is_noop_even_with_other_depends_on() -> None:
    observed = dataclasses.replace(QUEUE, depends_on=(Key(Kind.SQS_QUEUE, "dlq"),))
    assert diff(QUEUE, observed).action is Action.NOOP


def test_changed_field_is_an_update_naming_the_field() -> None:
    change = diff(QUEUE, dataclasses.replace(QUEUE, visibility_timeout_s=30))
    assert change.action is Action.UPDATE
    assert change.fields == ("visibility_timeout_s",)


def test_fifo_change_is_a_replacement() -> None:
    change = diff(dataclasses.replace(QUEUE, fifo=True), QUEUE)
    assert change.action is Action.REPLACE
    assert change.fields == ("fifo",)


def test_unfilled_ref_counts_as_a_change() -> None:
    vpc = VpcSpec(name="v", cidr_block="10.0.0.0/24")
    desired = SubnetSpec(name="s", vpc_id=Ref(vpc.key, "id"), cidr_block="10.0.0.0/25", az_index=0)
    observed = dataclasses.replace(desired, vpc_id="vpc-123")
    # vpc_id is replace_on: a subnet cannot move to another VPC.
    assert diff(desired, observed).action is Action.REPLACE


def test_order_is_deterministic_and_respects_dependencies() -> None:
    a = LogGroupSpec(name="a")
    b = LogGroupSpec(name="b", depends_on=(a.key,))
    c = LogGroupSpec(name="c")
    vpc = VpcSpec(name="v", cidr_block="10.0.0.0/24")
    sub = SubnetSpec(name="s", vpc_id=Ref(vpc.key, "id"), cidr_block="10.0.0.0/25", az_index=0)
    first = [s.key.name for s in graph.order([sub, c, b, vpc, a])]
    second = [s.key.name for s in graph.order([a, vpc, b, c, sub])]
    assert first == second
    assert first.index("a") < first.index("b")
    assert first.index("v") < first.index("s")


def test_cycle_names_its_keys() -> None:
    a = LogGroupSpec(name="a", depends_on=(Key(Kind.LOG_GROUP, "b"),))
    b = LogGroupSpec(name="b", depends_on=(Key(Kind.LOG_GROUP, "a"),))
    with pytest.raises(DependencyCycleError) as info:
        graph.order([a, b])
    assert "logs.log_group/a" in info.value.message
    assert "logs.log_group/b" in info.value.message


def test_dependency_outside_the_plan_is_an_error() -> None:
    orphan = LogGroupSpec(name="a", depends_on=(Key(Kind.LOG_GROUP, "missing"),))
    with pytest.raises(PlanError, match="missing"):
        graph.order([orphan])


def test_plan_json_is_versioned_and_shows_before_after() -> None:
    update = diff(QUEUE, dataclasses.replace(QUEUE, visibility_timeout_s=30))
    create = diff(LogGroupSpec(name="/g", retention_days=7), None)
    plan = Plan(project="p", stage="s", changes=(create, update))
    doc = json.loads(json.dumps(plan.to_dict()))
    assert doc["version"] == 1
    assert doc["summary"] == {"noop": 0, "create": 1, "update": 1, "replace": 0, "delete": 0}
    assert doc["changes"][0]["attributes"]["retention_days"] == 7
    assert doc["changes"][1]["fields"] == {"visibility_timeout_s": {"before": 30, "after": 60}}
    assert plan.has_changes


def test_plan_json_lists_foreign_resources_apart_from_orphans_and_they_are_no_change() -> None:
    stray = Key(Kind.SQS_QUEUE, "demo-dev-Copy")
    orphan = Key(Kind.SQS_QUEUE, "demo-dev-old")
    plan = Plan(project="p", stage="s", changes=(), orphans=(orphan,), foreign=(stray,))
    doc = json.loads(json.dumps(plan.to_dict()))
    assert doc["foreign"] == ["sqs.queue/demo-dev-Copy"]
    assert doc["orphans"] == ["sqs.queue/demo-dev-old"]
    assert not plan.has_changes
    assert Plan(project="p", stage="s", changes=()).to_dict()["foreign"] == []


def test_filled_unordered_ids_are_sorted_like_a_read() -> None:
    from batchctl.specs import RouteTableSpec, fill_refs

    b, a = Key(Kind.SUBNET, "b"), Key(Kind.SUBNET, "a")
    spec = RouteTableSpec(name="rt", vpc_id="vpc-1", subnet_ids=(Ref(a, "id"), Ref(b, "id")))
    filled = fill_refs(spec, {a: {"id": "subnet-9"}, b: {"id": "subnet-1"}})
    assert filled.subnet_ids == ("subnet-1", "subnet-9")
    assert diff(filled, dataclasses.replace(filled)).action is Action.NOOP
