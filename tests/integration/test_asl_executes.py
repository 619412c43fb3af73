"""The generated workflow runs on moto's Step Functions executor: each input shape, Batch, SNS, the failure path."""

from __future__ import annotations

import json
import os
import re
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from unittest.mock import patch
from uuid import uuid4

import pytest

from batchctl import asl, policies
from batchctl.naming import AwsContext, Names


@dataclass
class Stage:
    """A project+stage with a compute environment, job queue, job definitions and a topic captured by SQS."""

    boto: Any
    names: Names
    role_arn: str
    inbox_url: str

    def grant(self, steps: list[asl.WorkflowStep], lambda_arns: tuple[str, ...] = ()) -> None:
        """Give the workflow's role the policy `deploy` gives it (the strict sandbox judges the role's calls)."""
        documents = policies.state_machine_policies(
            names=self.names,
            job_definition_arns=[step.job_definition_arn for step in steps],
            topic_arn=self.names.topic_arn,
            lambda_arns=list(lambda_arns),
            log_group_arn=None,
        )
        for name, document in documents.items():
            self.boto.client("iam").put_role_policy(
                RoleName=self.role_arn.rsplit("/", 1)[1], PolicyName=name, PolicyDocument=json.dumps(document)
            )

    def machine(self, job: str, steps: list[asl.WorkflowStep], *, compute_type: str = "FARGATE_SPOT") -> str:
        self.grant(steps)
        definition = asl.job_workflow(
            names=self.names, job=job, steps=steps, topic_arn=self.names.topic_arn, compute_type=compute_type
        )
        sfn = self.boto.client("stepfunctions")
        return str(
            sfn.create_state_machine(
                name=self.names.state_machine(job), definition=json.dumps(definition), roleArn=self.role_arn
            )["stateMachineArn"]
        )

    def step(self, job: str, name: str, *, array_size: int | None = None) -> asl.WorkflowStep:
        self.boto.client("batch").register_job_definition(
            jobDefinitionName=self.names.job_definition(job, name),
            type="container",
            containerProperties={
                "image": "busybox",
                "command": ["echo", "Ref::body"],
                "vcpus": 1,
                "memory": 512,
            },
            parameters=dict.fromkeys(("body", "time", "source", "id"), ""),
        )
        return asl.WorkflowStep(
            name=name,
            job_definition_arn=self.names.job_definition_arn(job, name),
            array_size=array_size,
            spot_retries=2,
        )

    def run(self, machine_arn: str, document: Any) -> dict[str, Any]:
        """Start an execution and wait (bounded) until it ends."""
        sfn = self.boto.client("stepfunctions")
        run_id = f"run-{uuid4().hex[:8]}"
        arn = sfn.start_execution(stateMachineArn=machine_arn, name=run_id, input=json.dumps(document))[
            "executionArn"
        ]
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            described: dict[str, Any] = sfn.describe_execution(executionArn=arn)
            if described["status"] != "RUNNING":
                return described
            time.sleep(0.1)
        raise AssertionError(f"{run_id} still RUNNING after 30 s")

    def notifications(self) -> list[dict[str, Any]]:
        sqs = self.boto.client("sqs")
        messages = sqs.receive_message(QueueUrl=self.inbox_url, MaxNumberOfMessages=10).get("Messages", [])
        return [json.loads(m["Body"]) for m in messages]

    def batch_job(self, job_id: str) -> dict[str, Any]:
        (job,) = self.boto.client("batch").describe_jobs(jobs=[job_id])["jobs"]
        return dict(job)


def wait_until_valid(describe: Any) -> None:
    """A new compute environment is CREATING before it is VALID; a job queue over it is refused until then."""
    deadline = time.monotonic() + 30
    while describe()["computeEnvironments"][0]["status"] != "VALID":
        assert time.monotonic() < deadline, "the compute environment never became VALID"
        time.sleep(0.05)


@pytest.fixture
def stage(boto: Any) -> Stage:
    account = boto.client("sts").get_caller_identity()["Account"]
    names = Names(project=f"t{uuid4().hex[:8]}", stage="it", ctx=AwsContext(account, boto.region_name))
    iam, ec2, batch = boto.client("iam"), boto.client("ec2"), boto.client("batch")
    sns, sqs = boto.client("sns"), boto.client("sqs")
    role_arn = iam.create_role(
        RoleName=names.state_machine_role("etl"),
        AssumeRolePolicyDocument=json.dumps(policies.trust_policy("states.amazonaws.com")),
    )["Role"]["Arn"]
    vpc = ec2.create_vpc(CidrBlock="10.0.0.0/24")["Vpc"]["VpcId"]
    subnet = ec2.create_subnet(VpcId=vpc, CidrBlock="10.0.0.0/25")["Subnet"]["SubnetId"]
    group = ec2.create_security_group(GroupName=names.security_group, Description="t", VpcId=vpc)["GroupId"]
    # Batch's own service-linked role: the state machine's role does not trust batch.amazonaws.com, so Batch would
    # leave the compute environment INVALID (moto requires a service role, AWS-QUIRKS: moto gaps).
    service_role = iam.create_service_linked_role(AWSServiceName="batch.amazonaws.com")["Role"]["Arn"]
    compute = batch.create_compute_environment(
        computeEnvironmentName=names.compute_environment,
        type="MANAGED",
        serviceRole=service_role,
        computeResources={"type": "FARGATE", "maxvCpus": 4, "subnets": [subnet], "securityGroupIds": [group]},
    )["computeEnvironmentArn"]
    wait_until_valid(lambda: batch.describe_compute_environments(computeEnvironments=[compute]))
    batch.create_job_queue(
        jobQueueName=names.job_queue,
        state="ENABLED",
        priority=1,
        computeEnvironmentOrder=[{"order": 1, "computeEnvironment": compute}],
    )
    topic = sns.create_topic(Name=names.topic)["TopicArn"]
    assert topic == names.topic_arn
    inbox = sqs.create_queue(QueueName=f"{names.prefix}-inbox")["QueueUrl"]
    inbox_arn = sqs.get_queue_attributes(QueueUrl=inbox, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"
    ]
    sns.subscribe(
        TopicArn=topic, Protocol="sqs", Endpoint=inbox_arn, Attributes={"RawMessageDelivery": "true"}
    )
    return Stage(boto=boto, names=names, role_arn=role_arn, inbox_url=inbox)


@dataclass
class Reclaimer:
    """Makes moto's Batch stop the next `count` jobs as a Spot reclaim does on AWS: FAILED with `reason`."""

    count: int = 0
    reason: str = ""


@pytest.fixture
def reclaimer() -> Iterator[Reclaimer]:
    # moto's simple Batch (this process) finishes each job when it is submitted, and fails it only when
    # MOTO_SIMPLE_BATCH_FAIL_AFTER is set, without a statusReason. A reclaimed job on AWS is FAILED with the
    # compute type's own statusReason, which DescribeJobs (and so the .sync task's Cause) reports.
    from moto.batch_simple.models import BatchSimpleBackend

    state = Reclaimer()
    finish = BatchSimpleBackend._mark_job_as_finished

    def reclaim_or_finish(backend: Any, include_start_attempt: bool, job: Any) -> None:
        if state.count <= 0:
            finish(backend, include_start_attempt, job)
            return
        state.count -= 1
        job.job_stopped_reason = state.reason
        with patch.dict(os.environ, {"MOTO_SIMPLE_BATCH_FAIL_AFTER": "0"}):
            finish(backend, include_start_attempt, job)

    with patch.object(BatchSimpleBackend, "_mark_job_as_finished", reclaim_or_finish):
        yield state


SECONDS_UTC = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ")


def assert_start_time(text: str, described: dict[str, Any]) -> None:
    """`text` is ISO-8601 UTC with second precision, within the second the execution started."""
    assert SECONDS_UTC.fullmatch(text), text
    started = datetime.fromisoformat(text)
    assert started.utcoffset() == timedelta(0)
    assert timedelta(0) <= started - described["startDate"].replace(microsecond=0) < timedelta(seconds=30)


def environment(job: dict[str, Any]) -> dict[str, str]:
    return {
        e["name"]: e["value"] for e in job["container"]["environment"] if e["name"].startswith("BATCHCTL_")
    }


def test_direct_run_submits_each_step_and_notifies_success(stage: Stage) -> None:
    steps = [stage.step("etl", "extract"), stage.step("etl", "load-data", array_size=2)]
    machine = stage.machine("etl", steps)

    described = stage.run(
        machine, asl.direct_input(body='{"n": 3}', run_id="r-1", time="2024-05-01T10:00:00Z")
    )

    assert described["status"] == "SUCCEEDED"
    output = json.loads(described["output"])
    assert output["run"] == {"body": '{"n": 3}', "time": "2024-05-01T10:00:00Z", "source": "cli", "id": "r-1"}
    assert set(output["batch"]) == {"extract", "load_data"}
    extract = stage.batch_job(output["batch"]["extract"]["JobId"])
    assert extract["jobName"] == f"{stage.names.prefix}-etl-extract"
    assert extract["parameters"] == {
        "body": '{"n": 3}',
        "time": "2024-05-01T10:00:00Z",
        "source": "cli",
        "id": "r-1",
    }
    assert environment(extract) == {
        "BATCHCTL_BODY": '{"n": 3}',
        "BATCHCTL_TIME": "2024-05-01T10:00:00Z",
        "BATCHCTL_SOURCE": "cli",
        "BATCHCTL_RUN_ID": described["name"],
    }
    load = stage.batch_job(output["batch"]["load_data"]["JobId"])
    assert load["arrayProperties"]["size"] == 2
    (message,) = stage.notifications()
    assert message["status"] == "SUCCEEDED"
    assert message["run_id"] == described["name"]
    assert message["job"] == "etl"
    assert message["batch_jobs"] == output["batch"]
    assert message["execution_url"] == stage.names.console_execution_url(described["executionArn"])


def test_pipe_record_array_is_normalized(stage: Stage) -> None:
    machine = stage.machine("inbox", [stage.step("inbox", "main")])
    record = {
        "messageId": "5f1c0c8e-0000-4000-8000-000000000001",
        "receiptHandle": "handle",
        "body": '{"n": 30}',
        "attributes": {"SentTimestamp": "1714557600000", "ApproximateReceiveCount": "1"},
        "messageAttributes": {},
        "md5OfBody": "x",
        "eventSource": "aws:sqs",
        "eventSourceARN": stage.names.queue_arn(stage.names.queue("inbox")),
        "awsRegion": stage.names.ctx.region,
    }

    described = stage.run(machine, [record])

    assert described["status"] == "SUCCEEDED"
    run = json.loads(described["output"])["run"]
    assert run["body"] == '{"n": 30}'  # a string, not a one-element list
    assert run["source"] == "queue"
    assert run["id"] == record["messageId"]
    # review 15: ISO-8601 UTC with second precision, when the run started.
    assert_start_time(run["time"], described)


def test_scheduled_input_is_normalized(stage: Stage) -> None:
    machine = stage.machine("report", [stage.step("report", "main")])
    # What EventBridge Scheduler sends once it has filled its placeholders.
    text = (
        asl.scheduled_input(job="report")
        .replace("<aws.scheduler.scheduled-time>", "2024-05-01T21:30:00Z")
        .replace("<aws.scheduler.execution-id>", "sched-1")
    )

    described = stage.run(machine, json.loads(text))

    assert described["status"] == "SUCCEEDED"
    output = json.loads(described["output"])
    assert output["run"] == {
        "body": "",
        "time": "2024-05-01T21:30:00Z",
        "source": "schedule",
        "id": "sched-1",
    }
    assert environment(stage.batch_job(output["batch"]["main"]["JobId"]))["BATCHCTL_SOURCE"] == "schedule"


@pytest.mark.parametrize(
    ("document", "body", "expected_time"),
    [
        # The CDK article's console input (seeds/000_0d47abab42b76ed9.txt §2.5.1).
        ({"time": "2020-09-27T12:31:00Z"}, "", "2020-09-27T12:31:00Z"),
        ({"body": {"a": 1}}, '{"a":1}', None),
        ({}, "", None),
        (
            {"body": "n=30", "time": "2020-09-27T12:31:00.250Z", "note": "ignored"},
            "n=30",
            "2020-09-27T12:31:00Z",
        ),
    ],
)
def test_manual_start_is_normalized(
    stage: Stage, document: dict[str, Any], body: str, expected_time: str | None
) -> None:
    # review 14: an object without source is someone starting the workflow by hand.
    machine = stage.machine("report", [stage.step("report", "main")])

    described = stage.run(machine, document)

    assert described["status"] == "SUCCEEDED", described.get("cause")
    run = json.loads(described["output"])["run"]
    if expected_time is None:
        assert_start_time(run["time"], described)  # review 15: the start, at second precision
    else:
        assert run["time"] == expected_time
    assert run == {"body": body, "time": run["time"], "source": "manual", "id": described["name"]}
    job = stage.batch_job(json.loads(described["output"])["batch"]["main"]["JobId"])
    assert job["parameters"] == run
    assert environment(job) == {
        "BATCHCTL_BODY": body,
        "BATCHCTL_TIME": run["time"],
        "BATCHCTL_SOURCE": "manual",
        "BATCHCTL_RUN_ID": described["name"],
    }


def test_manual_start_with_a_time_that_is_not_utc_fails_without_running(stage: Stage) -> None:
    machine = stage.machine("report", [stage.step("report", "main")])

    described = stage.run(machine, {"time": "2020-09-27T21:31:00+09:00"})

    assert described["status"] == "FAILED"
    assert described["error"] == asl.INVALID_TIME_ERROR
    assert stage.notifications() == []
    assert submitted_jobs(stage, "SUCCEEDED") == []


def test_failed_batch_job_fails_the_execution_and_notifies(
    stage: Stage, monkeypatch: pytest.MonkeyPatch
) -> None:
    machine = stage.machine("etl", [stage.step("etl", "extract"), stage.step("etl", "load")])
    monkeypatch.setenv("MOTO_SIMPLE_BATCH_FAIL_AFTER", "0")  # moto's Batch (in this process) fails every job

    described = stage.run(machine, asl.direct_input(body="{}", run_id="r-2", time="2024-05-01T10:00:00Z"))

    assert described["status"] == "FAILED"
    assert described["error"] == "batchctl.States.TaskFailed"
    cause = json.loads(described["cause"])  # the DescribeJobs JSON of the failed job
    assert cause["Status"] == "FAILED"
    assert cause["JobName"] == f"{stage.names.prefix}-etl-extract"
    (message,) = stage.notifications()
    assert message["status"] == "FAILED"
    assert message["error"] == "States.TaskFailed"
    assert json.loads(message["cause"])["JobId"] == cause["JobId"]
    assert message["batch_jobs"] == {}  # the second step never ran


@pytest.mark.parametrize("document", [{"source": "webhook", "body": "{}"}, [{"Records": []}]])
def test_unknown_input_fails_without_running_anything(stage: Stage, document: Any) -> None:
    machine = stage.machine("etl", [stage.step("etl", "main")])

    described = stage.run(machine, document)

    assert described["status"] == "FAILED"
    assert described["error"] == asl.UNKNOWN_INPUT_ERROR
    assert stage.notifications() == []
    jobs = stage.boto.client("batch").list_jobs(jobQueue=stage.names.job_queue, jobStatus="SUCCEEDED")
    assert jobs["jobSummaryList"] == []


def submitted_jobs(stage: Stage, status: str) -> list[dict[str, Any]]:
    batch = stage.boto.client("batch")
    return list(batch.list_jobs(jobQueue=stage.names.job_queue, jobStatus=status)["jobSummaryList"])


@pytest.mark.parametrize(
    ("compute_type", "reason"),
    [
        ("FARGATE_SPOT", "Your Spot Task was interrupted."),
        ("SPOT", "Host EC2 (instance i-0123456789abcdef0) terminated."),
    ],
)
def test_a_reclaim_resubmits_the_step(
    stage: Stage, reclaimer: Reclaimer, compute_type: str, reason: str
) -> None:
    # review 2: each Spot type's own wording is recognised, and the run goes on without an application retry.
    machine = stage.machine("etl", [stage.step("etl", "main")], compute_type=compute_type)
    reclaimer.count, reclaimer.reason = 1, reason

    described = stage.run(machine, asl.direct_input(body="{}", run_id="r-3", time="2024-05-01T10:00:00Z"))

    assert described["status"] == "SUCCEEDED"
    output = json.loads(described["output"])
    assert output["spot"] == {"main": 1}
    (reclaimed,) = submitted_jobs(stage, "FAILED")
    (succeeded,) = submitted_jobs(stage, "SUCCEEDED")
    assert stage.batch_job(reclaimed["jobId"])["statusReason"] == reason
    assert output["batch"]["main"]["JobId"] == succeeded["jobId"]
    (message,) = stage.notifications()
    assert message["status"] == "SUCCEEDED"


def test_reclaims_beyond_spot_retries_fail_the_run(stage: Stage, reclaimer: Reclaimer) -> None:
    machine = stage.machine("etl", [stage.step("etl", "main")], compute_type="FARGATE_SPOT")
    reclaimer.count, reclaimer.reason = 3, "Your Spot Task was interrupted."

    described = stage.run(machine, asl.direct_input(body="{}", run_id="r-4", time="2024-05-01T10:00:00Z"))

    assert described["status"] == "FAILED"
    assert described["error"] == "batchctl.States.TaskFailed"
    assert json.loads(described["cause"])["StatusReason"] == "Your Spot Task was interrupted."
    # The first submission and spot_retries (2) resubmissions, each reclaimed; no more.
    assert len(submitted_jobs(stage, "FAILED")) == 3
    assert submitted_jobs(stage, "SUCCEEDED") == []
    assert reclaimer.count == 0


# ---- Lambda handlers (review 15 item 5) -----------------------------------------------------------------------


@pytest.fixture
def handler(stage: Stage) -> str:
    """A Lambda function on the sandbox's Lambda without Docker (the function's code does not run there)."""
    import io
    import zipfile

    archive = io.BytesIO()
    with zipfile.ZipFile(archive, "w") as zipped:
        zipped.writestr("handler.py", "def handle(event, context):\n    return None\n")
    arn = stage.boto.client("lambda").create_function(
        FunctionName=f"{stage.names.prefix}-handler",
        Runtime="python3.12",
        Role=stage.role_arn,
        Handler="handler.handle",
        Code={"ZipFile": archive.getvalue()},
    )["FunctionArn"]
    return str(arn)


def handler_events(stage: Stage, execution_arn: str) -> list[dict[str, Any]]:
    """The payloads the execution sent to Lambda, as Step Functions resolved them (TaskScheduled parameters)."""
    sfn = stage.boto.client("stepfunctions")
    events = sfn.get_execution_history(executionArn=execution_arn, maxResults=1000)["events"]
    scheduled = [e["taskScheduledEventDetails"] for e in events if e["type"] == "TaskScheduled"]
    return [json.loads(d["parameters"])["Payload"] for d in scheduled if d["resourceType"] == "lambda"]


def test_handlers_get_the_run_state_metadata_batch_results_and_context(
    stage: Stage, handler: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    steps = [stage.step("etl", "extract"), stage.step("etl", "load")]
    metadata = {
        "project": stage.names.project,
        "stage": stage.names.stage,
        "job": "etl",
        "image": "123456789012.dkr.ecr.eu-west-1.amazonaws.com/demo:abc123",
        "steps": [
            {"name": "extract", "command": ["echo", "Ref::body"], "vcpus": 1, "memory_mib": 512},
            {"name": "load", "command": ["echo", "Ref::body"], "vcpus": 1, "memory_mib": 512},
        ],
    }
    definition = asl.job_workflow(
        names=stage.names,
        job="etl",
        steps=steps,
        topic_arn=stage.names.topic_arn,
        compute_type="FARGATE_SPOT",
        on_success_lambda=handler,
        on_failure_lambda=handler,
        metadata=metadata,
    )
    stage.grant(steps, (handler,))
    machine = stage.boto.client("stepfunctions").create_state_machine(
        name=stage.names.state_machine("etl"), definition=json.dumps(definition), roleArn=stage.role_arn
    )["stateMachineArn"]
    run = {"body": '{"n": 3}', "time": "2024-05-01T10:00:00Z", "source": "cli", "id": "r-ok"}

    succeeded = stage.run(machine, asl.direct_input(body=run["body"], run_id=run["id"], time=run["time"]))
    assert succeeded["status"] == "SUCCEEDED"
    (event,) = handler_events(stage, succeeded["executionArn"])
    # The notification's fields, as handlers got them before.
    assert (event["status"], event["run_id"], event["job"]) == ("SUCCEEDED", succeeded["name"], "etl")
    # The run input and each step's whole DescribeJobs result.
    assert event["state"]["run"] == run
    for key in ("extract", "load"):
        result = event["state"]["batch"][key]
        described = stage.batch_job(result["JobId"])
        assert result["Status"] == described["status"] == "SUCCEEDED"
        assert result["JobName"] == described["jobName"]
        assert "Container" in result
    # The execution context and what was deployed.
    assert event["context"]["Execution"]["Name"] == succeeded["name"]
    assert event["context"]["Execution"]["Id"] == succeeded["executionArn"]
    assert event["context"]["StateMachine"]["Name"] == stage.names.state_machine("etl")
    assert event["metadata"] == metadata
    assert len(json.dumps(event).encode()) < 256 * 1024  # Step Functions' limit of a task's input

    monkeypatch.setenv("MOTO_SIMPLE_BATCH_FAIL_AFTER", "0")  # moto's Batch (in this process) fails every job
    failed = stage.run(machine, asl.direct_input(body="{}", run_id="r-ko", time=run["time"]))
    assert failed["status"] == "FAILED"
    (event,) = handler_events(stage, failed["executionArn"])
    assert event["status"] == "FAILED"
    assert event["state"]["error"]["Error"] == "States.TaskFailed"
    assert (
        json.loads(event["state"]["error"]["Cause"])["Status"] == "FAILED"
    )  # the failed step's DescribeJobs
    assert event["state"]["batch"] == {}  # no step finished
    assert event["metadata"] == metadata
