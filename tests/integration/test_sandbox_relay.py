"""The sandbox's pipe relay moves SQS messages to the pipe's state machine in the pipe's input shape."""

from __future__ import annotations

import json
from typing import Any
from uuid import uuid4

import pytest

from batchctl.sandbox import PipeRelay
from tests.conftest import STRICT


def trust(service: str) -> str:
    """A trust policy letting `service` assume the role (each service needs its own: AWS refuses the others)."""
    statement = {"Effect": "Allow", "Principal": {"Service": service}, "Action": "sts:AssumeRole"}
    return json.dumps({"Version": "2012-10-17", "Statement": [statement]})


DEFINITION = json.dumps({"StartAt": "Done", "States": {"Done": {"Type": "Succeed"}}})


def allow(*grants: tuple[str | list[str], str | list[str]]) -> str:
    """A policy document allowing each (actions, resources)."""
    statements = [
        {"Effect": "Allow", "Action": actions, "Resource": resource} for actions, resource in grants
    ]
    return json.dumps({"Version": "2012-10-17", "Statement": statements})


READ_QUEUE = ["sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:GetQueueAttributes"]


def piped_queue(boto: Any, name: str, *, pipe_may_start: bool) -> tuple[str, str, str]:
    """A queue, a state machine and a pipe between them whose role may read the queue and, if `pipe_may_start`,
    start the machine: (queue url, queue ARN, machine ARN)."""
    sqs, sfn, pipes, iam = (boto.client(s) for s in ("sqs", "stepfunctions", "pipes", "iam"))
    machine_role = iam.create_role(
        RoleName=f"{name}-sfn", AssumeRolePolicyDocument=trust("states.amazonaws.com")
    )
    pipe_role = iam.create_role(
        RoleName=f"{name}-pipe", AssumeRolePolicyDocument=trust("pipes.amazonaws.com")
    )
    url = sqs.create_queue(QueueName=name)["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    machine_arn = sfn.create_state_machine(
        name=name, definition=DEFINITION, roleArn=machine_role["Role"]["Arn"]
    )["stateMachineArn"]
    grants = [(READ_QUEUE, queue_arn)] + (
        [(["states:StartExecution"], machine_arn)] if pipe_may_start else []
    )
    iam.put_role_policy(RoleName=f"{name}-pipe", PolicyName="pipe", PolicyDocument=allow(*grants))
    pipes.create_pipe(Name=name, Source=queue_arn, Target=machine_arn, RoleArn=pipe_role["Role"]["Arn"])
    return url, queue_arn, machine_arn


def test_relay_starts_one_execution_per_message_with_the_record_array(aws_env: str, boto: Any) -> None:
    name = f"t-{uuid4().hex[:8]}"
    sqs, sfn = boto.client("sqs"), boto.client("stepfunctions")
    url, queue_arn, machine_arn = piped_queue(boto, name, pipe_may_start=True)
    sent = sqs.send_message(QueueUrl=url, MessageBody='{"n": 10}')

    relay = PipeRelay(endpoint_url=aws_env)
    moved = relay.relay_once(
        boto.client("pipes"), boto.client("sqs"), boto.client("stepfunctions"), region=boto.region_name
    )

    assert moved == 1
    (execution,) = sfn.list_executions(stateMachineArn=machine_arn)["executions"]
    started = json.loads(sfn.describe_execution(executionArn=execution["executionArn"])["input"])
    assert isinstance(started, list)
    assert started[0]["messageId"] == sent["MessageId"]
    assert started[0]["body"] == '{"n": 10}'
    assert started[0]["eventSourceARN"] == queue_arn
    # The message was consumed: a second pass moves nothing.
    assert relay.relay_once(boto.client("pipes"), sqs, sfn, region=boto.region_name) == 0
    assert "Messages" not in sqs.receive_message(QueueUrl=url)


@pytest.mark.skipif(not STRICT, reason="service roles are judged by the strict sandbox only")
def test_a_pipe_whose_role_may_not_start_the_machine_leaves_the_message_in_the_queue(
    aws_env: str, boto: Any
) -> None:
    """The relay acts with the pipe's role: the strict sandbox refuses states:StartExecution the role lacks, as
    AWS does, and the message is not lost (it becomes visible again, then goes to the dead-letter queue)."""
    name = f"t-{uuid4().hex[:8]}"
    sqs, sfn = boto.client("sqs"), boto.client("stepfunctions")
    url, _, machine_arn = piped_queue(boto, name, pipe_may_start=False)
    sqs.send_message(QueueUrl=url, MessageBody='{"n": 10}')

    relay = PipeRelay(endpoint_url=aws_env)
    moved = relay.relay_once(boto.client("pipes"), sqs, sfn, region=boto.region_name)

    assert moved == 0
    assert sfn.list_executions(stateMachineArn=machine_arn)["executions"] == []
    attributes = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]
    assert (
        int(attributes["ApproximateNumberOfMessages"])
        + int(attributes["ApproximateNumberOfMessagesNotVisible"])
        == 1
    )
