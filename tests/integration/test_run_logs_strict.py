"""The log streams of a run on the strict sandbox, where ListJobs answers as AWS does (RUNNING jobs only unless asked
for a status) and every Spot attempt is interrupted: finished array children and every attempt of a retried job are
read (issue 13, review 7)."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from typing import Any
from uuid import uuid4

import pytest

from batchctl import asl, logtail, runs, sandbox
from batchctl.naming import Names

SIZE = 3


@pytest.fixture(scope="module")
def moto_url() -> Iterator[str]:
    """This module's own server: the strict sandbox at time scale 0, every Spot attempt interrupted."""
    box = sandbox.start(
        port=0,
        use_docker=False,
        strict=sandbox.StrictOptions(time_scale=0.0, spot_interruption_rate=1.0, seed=7),
    )
    if box.relay is not None:
        box.relay.stop()
        box.relay = None
    yield box.url
    box.stop()


@pytest.fixture
def names(aws: Any) -> Names:
    return Names(project=f"t{uuid4().hex[:8]}", stage="dev", ctx=aws.context())


def _role(boto: Any, names: Names) -> str:
    trust = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"Service": ["states.amazonaws.com", "batch.amazonaws.com"]},
                "Action": "sts:AssumeRole",
            }
        ],
    }
    iam = boto.client("iam")
    arn = iam.create_role(RoleName=f"{names.prefix}-role", AssumeRolePolicyDocument=json.dumps(trust))[
        "Role"
    ]["Arn"]
    # What the workflow's .sync task calls (the strict sandbox judges the state machine's role as AWS does).
    jobs = {
        "Effect": "Allow",
        "Action": ["batch:SubmitJob", "batch:DescribeJobs", "batch:TerminateJob"],
        "Resource": "*",
    }
    iam.put_role_policy(
        RoleName=f"{names.prefix}-role",
        PolicyName="workflow",
        PolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": [jobs]}),
    )
    return str(arn)


def _workflow(
    boto: Any, names: Names, *, compute_type: str, array_size: int | None = None, attempts: int = 1
) -> None:
    """Compute environment of `compute_type`, job queue, job definition (its streams are `main/default/<job id>`)
    and a one-step .sync workflow."""
    role = _role(boto, names)
    ec2, batch = boto.client("ec2"), boto.client("batch")
    vpc = ec2.create_vpc(CidrBlock="10.0.0.0/16")["Vpc"]["VpcId"]
    subnet = ec2.create_subnet(VpcId=vpc, CidrBlock="10.0.0.0/24")["Subnet"]["SubnetId"]
    group = ec2.create_security_group(GroupName=f"{names.prefix}-sg", Description="t", VpcId=vpc)["GroupId"]
    environment = batch.create_compute_environment(
        computeEnvironmentName=names.compute_environment,
        type="MANAGED",
        state="ENABLED",
        serviceRole=role,
        computeResources={
            "type": compute_type,
            "maxvCpus": 4,
            "subnets": [subnet],
            "securityGroupIds": [group],
        },
    )["computeEnvironmentArn"]
    batch.create_job_queue(
        jobQueueName=names.job_queue,
        state="ENABLED",
        priority=1,
        computeEnvironmentOrder=[{"order": 1, "computeEnvironment": environment}],
    )
    definition = names.job_definition("fib")
    batch.register_job_definition(
        jobDefinitionName=definition,
        type="container",
        platformCapabilities=["FARGATE"],
        retryStrategy={"attempts": attempts},
        containerProperties={
            "image": "busybox",
            "command": ["echo", "hello"],
            "executionRoleArn": role,
            "resourceRequirements": [{"type": "VCPU", "value": "1"}, {"type": "MEMORY", "value": "2048"}],
            "logConfiguration": {
                "logDriver": "awslogs",
                "options": {"awslogs-group": names.log_group("fib"), "awslogs-stream-prefix": "main"},
            },
        },
    )
    parameters: dict[str, Any] = {
        "JobName": f"{names.prefix}-fib-main",
        "JobQueue": names.job_queue_arn,
        "JobDefinition": definition,
    }
    if array_size:
        parameters["ArrayProperties"] = {"Size": array_size}
    task = {
        "Type": "Task",
        "Resource": "arn:aws:states:::batch:submitJob.sync",
        "Parameters": parameters,
        "ResultSelector": {"JobId.$": "$.JobId"},
        "ResultPath": "$.batch.main",
        "End": True,
    }
    state = asl.run_state_name("main")
    boto.client("stepfunctions").create_state_machine(
        name=names.state_machine("fib"),
        definition=json.dumps({"StartAt": state, "States": {state: task}}),
        roleArn=role,
    )
    boto.client("logs").create_log_group(logGroupName=names.log_group("fib"))


def _run(aws: Any, boto: Any, names: Names) -> runs.RunStatus:
    run_id = f"run-{uuid4().hex[:8]}"
    boto.client("stepfunctions").start_execution(
        stateMachineArn=names.state_machine_arn("fib"), name=run_id, input="{}"
    )
    return runs.follow(
        aws, names, job="fib", run_id=run_id, on_update=lambda _u: None, poll_s=0.05, timeout_s=30
    )


def _write(boto: Any, names: Names, stream: str, message: str) -> None:
    logs = boto.client("logs")
    logs.create_log_stream(logGroupName=names.log_group("fib"), logStreamName=stream)
    event = {"timestamp": int(time.time() * 1000), "message": message}
    logs.put_log_events(logGroupName=names.log_group("fib"), logStreamName=stream, logEvents=[event])


def _output(aws: Any, names: Names, run_id: str) -> list[str]:
    streams = runs.RunStreams(aws, names, job="fib", run_id=run_id)
    seen: list[str] = []
    lock = threading.Lock()

    def on_event(event: logtail.LogEvent) -> None:
        with lock:
            seen.append(event.message)

    logtail.tail(
        aws,
        names.log_group("fib"),
        start_ms=runs.log_start_ms(streams.started),
        on_event=on_event,
        streams=streams,
    )
    return seen


def test_the_logs_of_a_run_read_every_finished_array_child(aws: Any, boto: Any, names: Names) -> None:
    _workflow(boto, names, compute_type="FARGATE", array_size=SIZE)
    outcome = _run(aws, boto, names)
    assert outcome.status == "SUCCEEDED"
    (parent,) = outcome.batch_jobs
    children = [f"{parent.job_id}:{index}" for index in range(SIZE)]
    # As on AWS, the children are no longer listed by ListJobs without a status: they have all finished.
    listed = boto.client("batch").list_jobs(arrayJobId=parent.job_id)["jobSummaryList"]
    assert listed == []
    for index, child in enumerate(children):
        _write(boto, names, f"main/default/{child}", f"child {index}")

    streams, finished, _ = runs.run_log_streams(aws, names, job="fib", run_id=outcome.run_id)

    assert finished
    assert streams == {f"main/default/{child}": "main" for child in children}
    assert sorted(_output(aws, names, outcome.run_id)) == [f"child {index}" for index in range(SIZE)]


def test_the_logs_of_a_run_read_the_first_attempt_of_a_retried_job(aws: Any, boto: Any, names: Names) -> None:
    _workflow(boto, names, compute_type="FARGATE_SPOT", attempts=2)
    outcome = _run(aws, boto, names)
    assert outcome.status == "FAILED"
    (batch_job,) = outcome.batch_jobs
    described = boto.client("batch").describe_jobs(jobs=[batch_job.job_id])["jobs"][0]
    first, second = (attempt["container"]["logStreamName"] for attempt in described["attempts"])
    assert first != second
    _write(boto, names, first, "first attempt: reclaimed")
    _write(boto, names, second, "second attempt: reclaimed")

    streams, _, _ = runs.run_log_streams(aws, names, job="fib", run_id=outcome.run_id)

    assert list(streams) == [first, second]
    assert sorted(_output(aws, names, outcome.run_id)) == [
        "first attempt: reclaimed",
        "second attempt: reclaimed",
    ]


def test_a_stream_that_was_never_written_hides_no_other(aws: Any, boto: Any, names: Names) -> None:
    # The first attempt was reclaimed before its container wrote a line: its stream was never created, and
    # FilterLogEvents naming it fails as a whole on AWS.
    _workflow(boto, names, compute_type="FARGATE_SPOT", attempts=2)
    outcome = _run(aws, boto, names)
    (batch_job,) = outcome.batch_jobs
    described = boto.client("batch").describe_jobs(jobs=[batch_job.job_id])["jobs"][0]
    first, second = (attempt["container"]["logStreamName"] for attempt in described["attempts"])
    _write(boto, names, second, "second attempt: reclaimed")
    with pytest.raises(boto.client("logs").exceptions.ResourceNotFoundException):
        boto.client("logs").filter_log_events(
            logGroupName=names.log_group("fib"), logStreamNames=[first, second]
        )

    assert _output(aws, names, outcome.run_id) == ["second attempt: reclaimed"]
