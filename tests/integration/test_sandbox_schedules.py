"""The sandbox runs EventBridge Scheduler schedules (moto only stores them): a due schedule starts its state machine
with its input, acting as its role, which the strict sandbox judges as AWS judges the scheduler's role."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import uuid4

import pytest

from batchctl.sandbox import ScheduleRunner
from tests.conftest import STRICT
from tests.integration.test_sandbox_relay import allow, trust

DEFINITION = json.dumps({"StartAt": "Done", "States": {"Done": {"Type": "Succeed"}}})
AT = datetime(2031, 1, 5, 9, 30, tzinfo=UTC)


def scheduled_machine(boto: Any, expression: str, *, may_start: bool, **extra: Any) -> tuple[str, str]:
    """A state machine and a schedule targeting it whose role may (or may not) start it: (machine ARN, name)."""
    name = f"t-{uuid4().hex[:8]}"
    iam, sfn, scheduler = boto.client("iam"), boto.client("stepfunctions"), boto.client("scheduler")
    machine_role = iam.create_role(
        RoleName=f"{name}-sfn", AssumeRolePolicyDocument=trust("states.amazonaws.com")
    )
    machine = sfn.create_state_machine(name=name, definition=DEFINITION, roleArn=machine_role["Role"]["Arn"])[
        "stateMachineArn"
    ]
    role = iam.create_role(
        RoleName=f"{name}-sched", AssumeRolePolicyDocument=trust("scheduler.amazonaws.com")
    )
    resource = machine if may_start else f"{machine}-other"
    iam.put_role_policy(
        RoleName=f"{name}-sched",
        PolicyName="schedule",
        PolicyDocument=allow(("states:StartExecution", resource)),
    )
    scheduler.create_schedule(
        Name=name,
        ScheduleExpression=expression,
        FlexibleTimeWindow={"Mode": "OFF"},
        Target={"Arn": machine, "RoleArn": role["Role"]["Arn"], "Input": '{"source": "schedule", "n": 1}'},
        **extra,
    )
    return machine, name


def inputs(boto: Any, machine: str) -> list[Any]:
    sfn = boto.client("stepfunctions")
    return [
        json.loads(sfn.describe_execution(executionArn=e["executionArn"])["input"])
        for e in sfn.list_executions(stateMachineArn=machine)["executions"]
    ]


def test_a_one_time_schedule_starts_its_machine_once_when_due(aws_env: str, boto: Any) -> None:
    machine, _ = scheduled_machine(boto, f"at({AT:%Y-%m-%dT%H:%M:%S})", may_start=True)
    runner = ScheduleRunner(endpoint_url=aws_env)

    runner.run_once(AT - timedelta(seconds=1))
    assert inputs(boto, machine) == []
    runner.run_once(AT + timedelta(seconds=1))
    runner.run_once(AT + timedelta(minutes=5))

    assert inputs(boto, machine) == [{"source": "schedule", "n": 1}]
    assert (runner.fired, runner.failed) == (1, 0)


def test_a_rate_schedule_fires_each_period_and_a_disabled_one_never(aws_env: str, boto: Any) -> None:
    machine, name = scheduled_machine(boto, "rate(5 minutes)", may_start=True)
    runner = ScheduleRunner(endpoint_url=aws_env)
    seen = datetime.now(UTC)

    runner.run_once(seen)
    runner.run_once(seen + timedelta(minutes=5, seconds=1))
    runner.run_once(seen + timedelta(minutes=10, seconds=2))
    assert len(inputs(boto, machine)) == 2

    schedule = boto.client("scheduler").get_schedule(Name=name)
    boto.client("scheduler").update_schedule(
        Name=name,
        ScheduleExpression=schedule["ScheduleExpression"],
        FlexibleTimeWindow={"Mode": "OFF"},
        Target=schedule["Target"],
        State="DISABLED",
    )
    runner.run_once(seen + timedelta(hours=1))
    assert len(inputs(boto, machine)) == 2


@pytest.mark.skipif(not STRICT, reason="service roles are judged by the strict sandbox only")
def test_a_schedule_whose_role_may_not_start_the_machine_starts_nothing(aws_env: str, boto: Any) -> None:
    machine, _ = scheduled_machine(boto, f"at({AT:%Y-%m-%dT%H:%M:%S})", may_start=False)
    runner = ScheduleRunner(endpoint_url=aws_env)

    runner.run_once(AT + timedelta(seconds=1))

    assert inputs(boto, machine) == []
    assert (runner.fired, runner.failed) == (0, 1)
