"""The sandbox's pipe relay moves SQS messages to the pipe's state machine in the pipe's input shape."""

from __future__ import annotations

import json
from typing import Any
from uuid import uuid4

from batchctl.sandbox import PipeRelay


def trust(service: str) -> str:
    """A trust policy letting `service` assume the role (each service needs its own: AWS refuses the others)."""
    statement = {"Effect": "Allow", "Principal": {"Service": service}, "Action": "sts:AssumeRole"}
    return json.dumps({"Version": "2012-10-17", "Statement": [statement]})


DEFINITION = json.dumps({"StartAt": "Done", "States": {"Done": {"Type": "Succeed"}}})


def test_relay_starts_one_execution_per_message_with_the_record_array(aws_env: str, boto: Any) -> None:
    name = f"t-{uuid4().hex[:8]}"
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
    pipes.create_pipe(Name=name, Source=queue_arn, Target=machine_arn, RoleArn=pipe_role["Role"]["Arn"])
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
