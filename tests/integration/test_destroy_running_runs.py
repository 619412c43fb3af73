"""Deleting a state machine with runs in flight (issue 13, review 6), on the strict sandbox, where (as on AWS) a
machine with RUNNING executions stays DELETING until they end: the delete stops them first."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any
from uuid import uuid4

import pytest

from batchctl import sandbox
from batchctl.diff import Action, Change
from batchctl.plan import Plan
from batchctl.provisioners.sfn import StateMachineProvisioner, running_executions
from batchctl.specs import Key, Kind, StateMachineSpec
from tests.integration.test_sfn_provisioner import TAGS, make_role

WAIT = {"StartAt": "Wait", "States": {"Wait": {"Type": "Wait", "Seconds": 3600, "End": True}}}


@pytest.fixture(scope="module")
def moto_url() -> Iterator[str]:
    """This module's own server: the strict sandbox at time scale 0."""
    box = sandbox.start(port=0, use_docker=False, strict=sandbox.StrictOptions(time_scale=0.0))
    if box.relay is not None:
        box.relay.stop()
        box.relay = None
    yield box.url
    box.stop()


def test_deleting_a_state_machine_stops_its_running_runs_first(timed_aws: Any, boto: Any) -> None:
    prov = StateMachineProvisioner(timed_aws)
    spec = StateMachineSpec(name=f"t-{uuid4().hex[:8]}", definition=WAIT, role_arn=make_role(boto), tags=TAGS)
    arn = prov.create(spec)["arn"]
    sfn = boto.client("stepfunctions")
    runs = [sfn.start_execution(stateMachineArn=arn, name=f"run-{n}")["executionArn"] for n in range(2)]
    observed = prov.read(spec)
    assert observed is not None
    assert sorted(running_executions(timed_aws, spec.key, arn)) == sorted(runs)

    prov.delete(observed)  # without stopping the runs first this waits for the machine until it times out

    assert prov.read(spec) is None
    with pytest.raises(sfn.exceptions.StateMachineDoesNotExist):
        sfn.describe_state_machine(stateMachineArn=arn)


def test_a_destroy_plan_says_how_many_runs_it_stops() -> None:
    machine = StateMachineSpec(name="demo-dev-etl", definition=WAIT, role_arn="arn:aws:iam::1:role/r")
    key = Key(Kind.STATE_MACHINE, machine.name)
    plan = Plan(
        project="demo",
        stage="dev",
        changes=(Change(Action.DELETE, None, machine),),
        destroy=True,
        running_runs={key: 2},
    )

    assert plan.stops_runs == 2
    assert plan.to_dict()["running_runs"] == {str(key): 2}
    assert json.loads(json.dumps(plan.to_dict()))["running_runs"] == {str(key): 2}
