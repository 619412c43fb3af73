"""`batchctl sandbox` as a user meets it: a taken port is an error at once with a hint, the default port is not
5000, pipes are relayed in whatever region they were made in, and moto's own log never reaches the terminal."""

from __future__ import annotations

import json
import signal
import socket
import subprocess
import sys
import threading
from typing import Any
from uuid import uuid4

import boto3

from batchctl.cli.commands import load_command
from batchctl.sandbox import PipeRelay
from tests.conftest import free_port

TRUST = json.dumps(
    {
        "Version": "2012-10-17",
        "Statement": [
            {"Effect": "Allow", "Principal": {"Service": "pipes.amazonaws.com"}, "Action": "sts:AssumeRole"}
        ],
    }
)
STATES_TRUST = TRUST.replace("pipes.amazonaws.com", "states.amazonaws.com")
SUCCEED = json.dumps({"StartAt": "Done", "States": {"Done": {"Type": "Succeed"}}})


def sandbox(*args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "batchctl", "sandbox", "--no-docker", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def test_a_port_in_use_is_an_error_at_once_with_a_hint() -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        process = sandbox("--port", str(port))
        try:
            _out, err = process.communicate(timeout=120)  # before, it waited for a server that never started
        finally:
            process.kill()
    assert process.returncode == 1, err
    assert f"error: cannot listen on 127.0.0.1:{port}" in err
    assert "hint: another program uses port" in err
    assert "--port 0" in err
    assert "Traceback" not in err


def test_the_default_port_is_not_5000() -> None:
    (port,) = [p for p in load_command("sandbox").params if p.name == "port"]
    assert port.default not in (5000, 0)


def test_moto_log_never_reaches_the_terminal() -> None:
    process = sandbox("--port", str(free_port()))
    try:
        assert process.stdout is not None
        exports = process.stdout.readline()  # the export line: the sandbox is up
        endpoint = exports.split("AWS_ENDPOINT_URL=", 1)[1].split()[0]
        sfn = boto3.client(
            "stepfunctions",
            endpoint_url=endpoint,
            region_name="eu-west-1",
            aws_access_key_id="sandbox",
            aws_secret_access_key="sandbox",
        )
        # A JSONPath that finds nothing: moto's interpreter logs three errors about its own objects.
        definition = {
            "StartAt": "P",
            "States": {"P": {"Type": "Pass", "InputPath": "$.missing", "End": True}},
        }
        arn = sfn.create_state_machine(
            name="jsonpath", definition=json.dumps(definition), roleArn="arn:aws:iam::123456789012:role/x"
        )["stateMachineArn"]
        execution = sfn.start_execution(stateMachineArn=arn, input="{}")["executionArn"]
        done = threading.Event()
        while not done.wait(0.2):
            if sfn.describe_execution(executionArn=execution)["status"] != "RUNNING":
                done.set()
        assert sfn.describe_execution(executionArn=execution)["status"] == "FAILED"
    finally:
        process.send_signal(signal.SIGINT)
        _out, err = process.communicate(timeout=60)
    assert "sandbox stopped" in err
    assert "Exception=" not in err
    assert "JsonPath" not in err
    assert "Traceback" not in err


def test_pipes_are_relayed_in_any_region(aws_env: str) -> None:
    region = "sa-east-1"  # a region no list of the relay's ever named
    session = boto3.Session(region_name=region)
    sqs, sfn, pipes, iam = (session.client(s) for s in ("sqs", "stepfunctions", "pipes", "iam"))
    name = f"t-{uuid4().hex[:8]}"
    # Each service gets a role it trusts (the strict sandbox refuses any other, as AWS does).
    role_arn = iam.create_role(RoleName=name, AssumeRolePolicyDocument=TRUST)["Role"]["Arn"]
    machine_role = iam.create_role(RoleName=f"{name}-sfn", AssumeRolePolicyDocument=STATES_TRUST)["Role"][
        "Arn"
    ]
    url = sqs.create_queue(QueueName=name)["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    machine_arn = sfn.create_state_machine(name=name, definition=SUCCEED, roleArn=machine_role)[
        "stateMachineArn"
    ]
    # The relay acts with the pipe's role: it may read the queue and start the machine, as on AWS.
    grants = [
        {
            "Effect": "Allow",
            "Action": ["sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:GetQueueAttributes"],
            "Resource": queue_arn,
        },
        {"Effect": "Allow", "Action": "states:StartExecution", "Resource": machine_arn},
    ]
    iam.put_role_policy(
        RoleName=name,
        PolicyName="pipe",
        PolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": grants}),
    )
    pipes.create_pipe(Name=name, Source=queue_arn, Target=machine_arn, RoleArn=role_arn)
    sqs.send_message(QueueUrl=url, MessageBody='{"n": 1}')

    relay = PipeRelay(endpoint_url=aws_env, interval_s=0.05)
    relay.start()
    executions: list[Any] = []
    try:
        waited = threading.Event()
        for _ in range(600):  # a bound, not a timing: the relay moves it within a few passes
            executions = sfn.list_executions(stateMachineArn=machine_arn)["executions"]
            if executions or waited.wait(0.1):
                break
    finally:
        relay.stop()
    assert len(executions) == 1
    assert relay.relayed == 1
