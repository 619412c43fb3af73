"""The runs package against the moto server: submitting through the queue and directly, finding and following
runs, listing them, retrying, explaining stuck Batch jobs, pausing schedules, reading output in the background."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import uuid4

import pytest
from botocore.stub import ANY, Stubber

from batchctl import asl, logtail, runs
from batchctl.errors import ConfirmationRequiredError
from batchctl.naming import Names
from batchctl.runs import BatchJob, JobInfo, Message
from batchctl.sandbox import PipeRelay
from batchctl.specs import schedule_marker

ROLE = "arn:aws:iam::123456789012:role/t-sfn"
COMMAND = (("python", "job.py", "--body", "Ref::body"),)
SUCCEED = {"StartAt": "Done", "States": {"Done": {"Type": "Succeed"}}}
FAIL = {
    "StartAt": "Boom",
    "States": {"Boom": {"Type": "Fail", "Error": "batchctl.States.TaskFailed", "Cause": "it broke"}},
}
WAIT = {"StartAt": "Wait", "States": {"Wait": {"Type": "Wait", "Seconds": 3600, "End": True}}}


@pytest.fixture
def names(aws: Any) -> Names:
    return Names(project=f"t{uuid4().hex[:8]}", stage="dev", ctx=aws.context())


def _queue_job(name: str = "fib") -> JobInfo:
    return JobInfo(name=name, has_queue=True, commands=COMMAND)


def _create_queue(boto: Any, names: Names, job: str = "fib") -> str:
    return str(boto.client("sqs").create_queue(QueueName=names.queue(job))["QueueUrl"])


def _queued(boto: Any, url: str) -> int:
    attributes = boto.client("sqs").get_queue_attributes(
        QueueUrl=url, AttributeNames=["ApproximateNumberOfMessages"]
    )
    return int(attributes["Attributes"]["ApproximateNumberOfMessages"])


def _create_machine(boto: Any, names: Names, job: str, definition: dict[str, Any]) -> str:
    return str(
        boto.client("stepfunctions").create_state_machine(
            name=names.state_machine(job), definition=json.dumps(definition), roleArn=ROLE
        )["stateMachineArn"]
    )


def _start(boto: Any, machine_arn: str, name: str, payload: object) -> str:
    return str(
        boto.client("stepfunctions").start_execution(
            stateMachineArn=machine_arn, name=name, input=json.dumps(payload)
        )["executionArn"]
    )


def _finish(aws: Any, names: Names, job: str, run_id: str) -> runs.RunStatus:
    return runs.follow(
        aws, names, job=job, run_id=run_id, on_update=lambda _u: None, poll_s=0.05, timeout_s=30
    )


def _record(message_id: str, body: str = "{}") -> list[dict[str, Any]]:
    return [{"messageId": message_id, "body": body, "attributes": {}, "eventSource": "aws:sqs"}]


# ---- submitting through the queue -----------------------------------------------------------------------------


def test_thousand_jsonl_lines_become_thousand_messages(
    aws: Any, boto: Any, names: Names, recorder: Any
) -> None:
    url = _create_queue(boto, names)
    messages = runs.parse_jsonl("".join(f'{{"n": {i}}}\n' for i in range(1000)), source="bodies.jsonl")
    result = runs.submit_queue(aws, names, job=_queue_job(), messages=messages)
    assert len(result.sent) == 1000
    assert result.failed == ()
    assert [s.line for s in result.sent] == list(range(1, 1001))
    assert len(set(result.message_ids)) == 1000
    assert _queued(boto, url) == 1000
    assert recorder.calls.count("sqs:SendMessageBatch") == 100
    assert "sqs:SendMessage" not in recorder.calls


def test_one_body_is_one_send_message(aws: Any, boto: Any, names: Names, recorder: Any) -> None:
    url = _create_queue(boto, names)
    result = runs.submit_queue(aws, names, job=_queue_job(), messages=[Message('{"n": 30}')])
    (sent,) = result.sent
    received = boto.client("sqs").receive_message(QueueUrl=url)["Messages"]
    assert [(m["MessageId"], m["Body"]) for m in received] == [(sent.message_id, '{"n": 30}')]
    assert recorder.calls.count("sqs:SendMessage") == 1


def test_body_over_a_limit_is_refused_before_anything_is_sent(
    aws: Any, boto: Any, names: Names, recorder: Any
) -> None:
    url = _create_queue(boto, names)
    messages = [Message('{"n": 1}', line=1), Message(json.dumps({"blob": "x" * 5000}), line=2)]
    with pytest.raises(runs.RunError, match=r"^bodies.jsonl:2 cannot be sent: .*container overrides"):
        runs.submit_queue(aws, names, job=_queue_job(), messages=messages, source="bodies.jsonl")
    assert not [c for c in recorder.calls if c.startswith(("sqs:Send", "sqs:GetQueueUrl"))]
    assert _queued(boto, url) == 0


def test_submit_to_a_job_without_queue_or_not_deployed(aws: Any, names: Names) -> None:
    with pytest.raises(runs.RunError, match="has no queue: it runs on its schedule") as caught:
        runs.submit_queue(aws, names, job=JobInfo(name="daily", has_schedule=True), messages=[Message("{}")])
    assert caught.value.hint is not None
    assert "--direct" in caught.value.hint
    with pytest.raises(runs.RunError, match="does not exist") as caught:
        runs.submit_queue(aws, names, job=_queue_job(), messages=[Message("{}")])
    assert caught.value.hint == "run `batchctl deploy` first"


def _stub_queue_url(stub: Stubber) -> str:
    url = "https://sqs.eu-west-1.amazonaws.com/123456789012/q"
    stub.add_response("get_queue_url", {"QueueUrl": url}, {"QueueName": ANY})
    return url


def test_failed_batch_entry_is_sent_again_and_counted(aws: Any, names: Names) -> None:
    client = aws.client("sqs")
    with Stubber(client) as stub:
        url = _stub_queue_url(stub)
        stub.add_response(
            "send_message_batch",
            {
                "Successful": [{"Id": "0", "MessageId": "m-0", "MD5OfMessageBody": "x"}],
                "Failed": [
                    {"Id": "1", "SenderFault": False, "Code": "InternalError", "Message": "try again"}
                ],
            },
            {
                "QueueUrl": url,
                "Entries": [{"Id": "0", "MessageBody": "[0]"}, {"Id": "1", "MessageBody": "[1]"}],
            },
        )
        # Only the failed entry goes again.
        stub.add_response(
            "send_message_batch",
            {"Successful": [{"Id": "1", "MessageId": "m-1", "MD5OfMessageBody": "x"}], "Failed": []},
            {"QueueUrl": url, "Entries": [{"Id": "1", "MessageBody": "[1]"}]},
        )
        result = runs.submit_queue(
            aws, names, job=_queue_job(), messages=[Message("[0]", 1), Message("[1]", 2)]
        )
        stub.assert_no_pending_responses()
    assert [(s.line, s.message_id) for s in result.sent] == [(1, "m-0"), (2, "m-1")]
    assert result.failed == ()


def test_entries_that_keep_failing_are_counted_not_lost(aws: Any, names: Names) -> None:
    client = aws.client("sqs")
    with Stubber(client) as stub:
        url = _stub_queue_url(stub)
        stub.add_response(
            "send_message_batch",
            {
                "Successful": [{"Id": "0", "MessageId": "m-0", "MD5OfMessageBody": "x"}],
                "Failed": [
                    {"Id": "1", "SenderFault": True, "Code": "InvalidMessageContents", "Message": "bad"},
                    {"Id": "2", "SenderFault": False, "Code": "InternalError", "Message": "later"},
                ],
            },
            {"QueueUrl": url, "Entries": ANY},
        )
        # The sender's fault is not sent again; the other entry is, up to the attempt limit.
        stub.add_response(
            "send_message_batch",
            {
                "Successful": [],
                "Failed": [{"Id": "2", "SenderFault": False, "Code": "InternalError", "Message": "x"}],
            },
            {"QueueUrl": url, "Entries": [{"Id": "2", "MessageBody": "[2]"}]},
        )
        messages = [Message("[0]", 1), Message("[1]", 2), Message("[2]", 3)]
        result = runs.submit_queue(aws, names, job=_queue_job(), messages=messages, attempts=2)
        stub.assert_no_pending_responses()
    assert [s.line for s in result.sent] == [1]
    assert [(f.line, f.code) for f in result.failed] == [(2, "InvalidMessageContents"), (3, "InternalError")]


# ---- direct runs and following --------------------------------------------------------------------------------


def test_direct_starts_an_execution_with_the_direct_input(aws: Any, boto: Any, names: Names) -> None:
    _create_machine(boto, names, "fib", SUCCEED)
    now = datetime(2024, 5, 1, 10, 0, tzinfo=UTC)
    run_id = runs.start_direct(aws, names, job=_queue_job(), body='{"n": 30}', now=now)
    described = boto.client("stepfunctions").describe_execution(
        executionArn=names.execution_arn("fib", run_id)
    )
    assert described["name"] == run_id
    assert json.loads(described["input"]) == asl.direct_input(
        body='{"n": 30}', run_id=run_id, time="2024-05-01T10:00:00.000Z"
    )
    assert json.loads(described["input"])["source"] == "cli"


def test_direct_refuses_a_large_body_before_starting_and_an_undeployed_job(
    aws: Any, boto: Any, names: Names, recorder: Any
) -> None:
    with pytest.raises(runs.RunError, match="does not exist"):
        runs.start_direct(aws, names, job=_queue_job(), body="{}")
    _create_machine(boto, names, "fib", SUCCEED)
    with pytest.raises(runs.RunError, match="SubmitJob request"):
        runs.start_direct(aws, names, job=_queue_job(), body="x" * 40_000)
    assert recorder.calls.count("stepfunctions:StartExecution") == 1  # the undeployed attempt only


def test_follow_a_succeeding_and_a_failing_run(aws: Any, boto: Any, names: Names) -> None:
    _create_machine(boto, names, "fib", SUCCEED)
    _create_machine(boto, names, "etl", FAIL)
    run_id = runs.start_direct(aws, names, job=_queue_job(), body="{}")
    updates: list[runs.RunUpdate] = []
    outcome = runs.follow(
        aws, names, job="fib", run_id=run_id, on_update=updates.append, poll_s=0.05, timeout_s=30
    )
    assert outcome.status == "SUCCEEDED"
    assert outcome.succeeded
    assert updates[-1].status == "SUCCEEDED"
    assert len({u.status for u in updates}) == len(updates)  # one update per change

    failing = runs.start_direct(aws, names, job=_queue_job("etl"), body="{}")
    outcome = _finish(aws, names, "etl", failing)
    assert outcome.status == "FAILED"
    assert not outcome.succeeded
    assert (outcome.error, outcome.cause) == ("batchctl.States.TaskFailed", "it broke")


def test_follow_an_unknown_run_and_one_that_outlasts_the_timeout(aws: Any, boto: Any, names: Names) -> None:
    _create_machine(boto, names, "fib", WAIT)
    with pytest.raises(runs.RunError, match="no run 'nope' of job 'fib'"):
        _finish(aws, names, "fib", "nope")
    run_id = runs.start_direct(aws, names, job=_queue_job(), body="{}")
    with pytest.raises(runs.RunError, match="still RUNNING after 0s"):
        runs.follow(aws, names, job="fib", run_id=run_id, on_update=lambda _u: None, poll_s=0, timeout_s=0)


# The services the tests' one role serves: Batch (service role), ECS tasks (execution role), Step Functions. A role
# none of them may assume leaves the compute environment INVALID on AWS (and on the strict sandbox).
ROLE_TRUST = {
    "Version": "2012-10-17",
    "Statement": [
        {
            "Effect": "Allow",
            "Principal": {
                "Service": ["batch.amazonaws.com", "ecs-tasks.amazonaws.com", "states.amazonaws.com"]
            },
            "Action": "sts:AssumeRole",
        }
    ],
}


RUN_JOBS = {
    "Version": "2012-10-17",
    "Statement": [
        {
            "Effect": "Allow",
            "Action": ["batch:SubmitJob", "batch:DescribeJobs", "batch:TerminateJob", "batch:TagResource"],
            "Resource": "*",
        }
    ],
}


def _role(boto: Any) -> None:
    """The role the compute environments name (moto checks that it exists)."""
    iam = boto.client("iam")
    name = ROLE.rsplit("/", 1)[-1]
    if not any(role["RoleName"] == name for role in iam.list_roles()["Roles"]):
        iam.create_role(RoleName=name, AssumeRolePolicyDocument=json.dumps(ROLE_TRUST))
        # What the workflows' .sync tasks call (the strict sandbox judges the state machine's role as AWS does).
        iam.put_role_policy(RoleName=name, PolicyName="workflow", PolicyDocument=json.dumps(RUN_JOBS))


def _wait_valid(batch: Any, environment: str) -> None:
    """A new compute environment is CREATING before it is VALID; a job queue over it is refused until then."""
    deadline = time.monotonic() + 30
    while (
        batch.describe_compute_environments(computeEnvironments=[environment])["computeEnvironments"][0][
            "status"
        ]
        != "VALID"
    ):
        assert time.monotonic() < deadline, f"{environment} never became VALID"
        time.sleep(0.05)


def _batch_workflow(boto: Any, names: Names, job: str, *, log_group: str) -> None:
    """Compute environment, job queue, job definition (awslogs to `log_group`) and a one-step .sync workflow."""
    _role(boto)
    ec2, batch = boto.client("ec2"), boto.client("batch")
    vpc = ec2.create_vpc(CidrBlock="10.0.0.0/16")["Vpc"]["VpcId"]
    subnet = ec2.create_subnet(VpcId=vpc, CidrBlock="10.0.0.0/24")["Subnet"]["SubnetId"]
    group = ec2.create_security_group(GroupName=f"{names.prefix}-sg", Description="t", VpcId=vpc)["GroupId"]
    environment = batch.create_compute_environment(
        computeEnvironmentName=names.compute_environment,
        type="MANAGED",
        state="ENABLED",
        serviceRole=ROLE,
        computeResources={"type": "FARGATE", "maxvCpus": 4, "subnets": [subnet], "securityGroupIds": [group]},
    )["computeEnvironmentArn"]
    _wait_valid(batch, environment)
    batch.create_job_queue(
        jobQueueName=names.job_queue,
        state="ENABLED",
        priority=1,
        computeEnvironmentOrder=[{"order": 1, "computeEnvironment": environment}],
    )
    batch.register_job_definition(
        jobDefinitionName=names.job_definition(job),
        type="container",
        platformCapabilities=["FARGATE"],
        parameters={"body": ""},
        containerProperties={
            "image": "busybox",
            "command": ["echo", "Ref::body"],
            "executionRoleArn": ROLE,
            "resourceRequirements": [{"type": "VCPU", "value": "1"}, {"type": "MEMORY", "value": "2048"}],
            "logConfiguration": {
                "logDriver": "awslogs",
                "options": {"awslogs-group": log_group, "awslogs-stream-prefix": "main"},
            },
        },
    )
    task = {
        "Type": "Task",
        "Resource": "arn:aws:states:::batch:submitJob.sync",
        "Parameters": {
            "JobName": f"{names.prefix}-{job}-main",
            "JobQueue": names.job_queue_arn,
            "JobDefinition": names.job_definition(job),
            "Parameters": {"body.$": "$.body"},
        },
        "ResultSelector": {"JobId.$": "$.JobId"},
        "ResultPath": "$.batch.main",
        "End": True,
    }
    _create_machine(
        boto,
        names,
        job,
        {"StartAt": asl.run_state_name("main"), "States": {asl.run_state_name("main"): task}},
    )


def test_follow_reports_the_batch_jobs_of_each_step(aws: Any, boto: Any, names: Names) -> None:
    _batch_workflow(boto, names, "fib", log_group=names.log_group("fib"))
    run_id = runs.start_direct(aws, names, job=_queue_job(), body='{"n": 3}')
    updates: list[runs.RunUpdate] = []
    outcome = runs.follow(
        aws, names, job="fib", run_id=run_id, on_update=updates.append, poll_s=0.05, timeout_s=30
    )
    assert outcome.status == "SUCCEEDED"
    (batch_job,) = outcome.batch_jobs
    assert batch_job.step == "main"
    assert batch_job.status == "SUCCEEDED"
    described = boto.client("batch").describe_jobs(jobs=[batch_job.job_id])["jobs"][0]
    assert described["parameters"]["body"] == '{"n": 3}'
    batch_updates = [u for u in updates if u.batch_job_id]
    assert batch_updates
    assert batch_updates[-1].batch_status == "SUCCEEDED"
    assert batch_updates[-1].step == "main"

    streams, finished, started = runs.run_log_streams(aws, names, job="fib", run_id=run_id)
    assert finished
    assert streams == {f"main/default/{batch_job.job_id}": "main"}
    assert started <= datetime.now(UTC)


# ---- finding the run the pipe started -------------------------------------------------------------------------


def test_find_the_execution_carrying_a_message(aws: Any, boto: Any, names: Names, recorder: Any) -> None:
    machine = _create_machine(boto, names, "fib", SUCCEED)
    _start(boto, machine, "old", _record("m-old"))
    # Executions started before the message was sent are not even described.
    with pytest.raises(runs.RunError, match="no run of job 'fib' picked up message m-old") as caught:
        runs.find_execution_for_message(
            aws,
            names,
            job="fib",
            message_id="m-old",
            sent_at=datetime.now(UTC) + timedelta(hours=1),
            timeout_s=0,
        )
    assert caught.value.hint is not None
    assert names.pipe("fib") in caught.value.hint
    assert "stepfunctions:DescribeExecution" not in recorder.calls

    sent_at = datetime.now(UTC)
    _start(boto, machine, "other", _record("m-other"))
    _start(boto, machine, "direct", asl.direct_input(body="{}", run_id="direct", time="t"))
    _start(boto, machine, "ours", _record("m-ours"))
    run_id = runs.find_execution_for_message(
        aws, names, job="fib", message_id="m-ours", sent_at=sent_at, timeout_s=5
    )
    assert run_id == "ours"
    with pytest.raises(runs.RunError, match="picked up message m-none within 0s"):
        runs.find_execution_for_message(
            aws, names, job="fib", message_id="m-none", sent_at=sent_at, timeout_s=0
        )


def test_queue_to_pipe_to_run_end_to_end(aws: Any, boto: Any, names: Names) -> None:
    url = _create_queue(boto, names)
    machine = _create_machine(boto, names, "fib", SUCCEED)
    queue_arn = boto.client("sqs").get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])[
        "Attributes"
    ]["QueueArn"]
    pipes = boto.client("pipes")
    pipes.create_pipe(Name=names.pipe("fib"), RoleArn=ROLE, Source=queue_arn, Target=machine)
    sent_at = datetime.now(UTC)
    result = runs.submit_queue(aws, names, job=_queue_job(), messages=[Message('{"n": 5}')])
    # moto's Pipes never move messages: the sandbox's relay plays the pipe.
    relay = PipeRelay(endpoint_url=boto.client("sqs").meta.endpoint_url)
    assert relay.relay_once(pipes, boto.client("sqs"), boto.client("stepfunctions"), region="eu-west-1") >= 1
    run_id = runs.find_execution_for_message(
        aws, names, job="fib", message_id=result.message_ids[0], sent_at=sent_at, timeout_s=5
    )
    assert _finish(aws, names, "fib", run_id).status == "SUCCEEDED"
    (summary,) = runs.list_runs(aws, names, jobs=["fib"])
    assert (summary.run_id, summary.source) == (run_id, "queue")


# ---- listing runs ---------------------------------------------------------------------------------------------


def test_list_runs_newest_first_with_source_and_errors(aws: Any, boto: Any, names: Names) -> None:
    good = _create_machine(boto, names, "fib", SUCCEED)
    bad = _create_machine(boto, names, "etl", FAIL)
    _start(boto, good, "a-queue", _record("m-1"))
    _start(boto, bad, "b-direct", asl.direct_input(body="{}", run_id="b-direct", time="t"))
    _start(boto, good, "c-schedule", json.loads(asl.scheduled_input(job="fib")))
    for job, run_id in (("fib", "a-queue"), ("etl", "b-direct"), ("fib", "c-schedule")):
        _finish(aws, names, job, run_id)

    summaries = runs.list_runs(aws, names, jobs=["etl", "fib"])
    assert [(s.run_id, s.job, s.source, s.status) for s in summaries] == [
        ("c-schedule", "fib", "schedule", "SUCCEEDED"),
        ("b-direct", "etl", "cli", "FAILED"),
        ("a-queue", "fib", "queue", "SUCCEEDED"),
    ]
    assert summaries[1].error == "batchctl.States.TaskFailed"
    assert summaries[1].cause == "it broke"
    assert all(s.stopped is not None and s.duration_s >= 0 for s in summaries)
    assert [s.run_id for s in runs.list_runs(aws, names, jobs=["etl", "fib"], limit=2)] == [
        "c-schedule",
        "b-direct",
    ]
    assert [s.run_id for s in runs.list_runs(aws, names, jobs=["etl", "fib"], failed_only=True)] == [
        "b-direct"
    ]
    document = summaries[1].to_dict()
    assert document["status"] == "FAILED"
    assert document["started"].endswith("Z")
    # A job that is not deployed is skipped; when none is, that is an error.
    assert [s.run_id for s in runs.list_runs(aws, names, jobs=["fib", "ghost"])] == ["c-schedule", "a-queue"]
    with pytest.raises(runs.RunError, match="job 'ghost' is not deployed"):
        runs.list_runs(aws, names, jobs=["ghost"])


# ---- retrying -------------------------------------------------------------------------------------------------


def test_retry_a_failed_run_starts_a_new_execution_with_the_same_input(
    aws: Any, boto: Any, names: Names
) -> None:
    machine = _create_machine(boto, names, "fib", FAIL)
    _create_machine(boto, names, "other", SUCCEED)
    payload = _record("m-1", '{"n": 7}')
    _start(boto, machine, "r1", payload)
    _finish(aws, names, "fib", "r1")

    first = runs.retry_run(aws, names, jobs=["other", "fib"], run_id="r1")
    assert (first.job, first.retried, first.run_id, first.redriven) == ("fib", "r1", "r1-r1", False)
    described = boto.client("stepfunctions").describe_execution(
        executionArn=names.execution_arn("fib", "r1-r1")
    )
    assert json.loads(described["input"]) == payload
    _finish(aws, names, "fib", "r1-r1")
    # Again, from the original or from the retry: the next free number.
    assert runs.retry_run(aws, names, jobs=["fib"], run_id="r1").run_id == "r1-r2"
    _finish(aws, names, "fib", "r1-r2")
    assert runs.retry_run(aws, names, jobs=["fib"], run_id="r1-r1").run_id == "r1-r3"


def test_retry_of_a_retried_run_that_succeeded_asks_and_goes_on_when_told(
    aws: Any, boto: Any, names: Names
) -> None:
    machine = _create_machine(boto, names, "fib", FAIL)
    _start(boto, machine, "r1", {})
    _finish(aws, names, "fib", "r1")
    boto.client("stepfunctions").update_state_machine(stateMachineArn=machine, definition=json.dumps(SUCCEED))
    assert runs.retry_run(aws, names, jobs=["fib"], run_id="r1").run_id == "r1-r1"
    _finish(aws, names, "fib", "r1-r1")
    asked: list[str] = []
    # A "yes" on the terminal: the question names the successful retry, then the next retry starts.
    again = runs.retry_run(aws, names, jobs=["fib"], run_id="r1", confirm=asked.append)
    assert again.run_id == "r1-r2"
    assert len(asked) == 1
    assert "already retried successfully: r1-r1" in asked[0]
    # Nobody to ask (no confirm): refused, with the way out; --force: no question.
    with pytest.raises(ConfirmationRequiredError, match="r1-r1") as refused:
        runs.retry_run(aws, names, jobs=["fib"], run_id="r1")
    assert refused.value.hint is not None
    assert "--force" in refused.value.hint
    assert runs.retry_run(aws, names, jobs=["fib"], run_id="r1", force=True).run_id == "r1-r3"


def test_retry_refuses_succeeded_running_and_unknown_runs(aws: Any, boto: Any, names: Names) -> None:
    good = _create_machine(boto, names, "fib", SUCCEED)
    waiting = _create_machine(boto, names, "slow", WAIT)
    _start(boto, good, "done", {})
    _finish(aws, names, "fib", "done")
    _start(boto, waiting, "going", {})
    with pytest.raises(runs.RunError, match="succeeded: there is nothing to retry"):
        runs.retry_run(aws, names, jobs=["fib", "slow"], run_id="done")
    with pytest.raises(runs.RunError, match="is still running"):
        runs.retry_run(aws, names, jobs=["fib", "slow"], run_id="going")
    with pytest.raises(runs.RunError, match="no run 'ghost' in any job"):
        runs.retry_run(aws, names, jobs=["fib", "slow"], run_id="ghost")


def _execution(names: Names, *, status: str, error: str | None) -> dict[str, Any]:
    answer: dict[str, Any] = {
        "executionArn": names.execution_arn("fib", "r1"),
        "stateMachineArn": names.state_machine_arn("fib"),
        "name": "r1",
        "status": status,
        "startDate": datetime(2024, 5, 1, tzinfo=UTC),
        "stopDate": datetime(2024, 5, 1, 0, 5, tzinfo=UTC),
        "input": '{"source": "cli", "body": "{}", "id": "r1", "time": "t"}',
        "redriveStatus": "REDRIVABLE",
    }
    if error:
        answer["error"] = error
    return answer


def _no_retries_yet(stub: Stubber) -> None:
    """retry_run looks for earlier retries of the run (`r1-r1` first) before it starts one."""
    stub.add_client_error(
        "describe_execution", service_error_code="ExecutionDoesNotExist", http_status_code=400
    )


def test_retry_redrives_a_run_that_stopped_mid_way(aws: Any, names: Names) -> None:
    # moto has no RedriveExecution (it answers 500): the request is checked against botocore's model instead.
    client = aws.client("stepfunctions")
    arn = names.execution_arn("fib", "r1")
    with Stubber(client) as stub:
        stub.add_response(
            "describe_execution", _execution(names, status="ABORTED", error=None), {"executionArn": arn}
        )
        _no_retries_yet(stub)
        stub.add_response(
            "redrive_execution", {"redriveDate": datetime(2024, 5, 2, tzinfo=UTC)}, {"executionArn": arn}
        )
        result = runs.retry_run(aws, names, jobs=["fib"], run_id="r1")
        stub.assert_no_pending_responses()
    assert (result.run_id, result.redriven) == ("r1", True)


def test_retry_does_not_redrive_a_failure_our_workflow_caught(aws: Any, names: Names) -> None:
    # A caught step error ends in the Fail state: redriving would only fail there again.
    client = aws.client("stepfunctions")
    with Stubber(client) as stub:
        stub.add_response(
            "describe_execution", _execution(names, status="FAILED", error="batchctl.States.TaskFailed")
        )
        _no_retries_yet(stub)
        stub.add_response(
            "start_execution",
            {
                "executionArn": names.execution_arn("fib", "r1-r1"),
                "startDate": datetime(2024, 5, 2, tzinfo=UTC),
            },
            {
                "stateMachineArn": names.state_machine_arn("fib"),
                "name": "r1-r1",
                "input": '{"source": "cli", "body": "{}", "id": "r1", "time": "t"}',
            },
        )
        result = runs.retry_run(aws, names, jobs=["fib"], run_id="r1")
        stub.assert_no_pending_responses()
    assert (result.run_id, result.redriven) == ("r1-r1", False)


def test_retry_falls_back_when_redrive_is_refused(aws: Any, names: Names) -> None:
    client = aws.client("stepfunctions")
    with Stubber(client) as stub:
        stub.add_response("describe_execution", _execution(names, status="TIMED_OUT", error="States.Timeout"))
        _no_retries_yet(stub)
        stub.add_client_error(
            "redrive_execution", service_error_code="ExecutionNotRedrivable", http_status_code=400
        )
        stub.add_response(
            "start_execution",
            {
                "executionArn": names.execution_arn("fib", "r1-r1"),
                "startDate": datetime(2024, 5, 2, tzinfo=UTC),
            },
            {"stateMachineArn": ANY, "name": "r1-r1", "input": ANY},
        )
        result = runs.retry_run(aws, names, jobs=["fib"], run_id="r1")
        stub.assert_no_pending_responses()
    assert (result.run_id, result.redriven) == ("r1-r1", False)


# ---- stuck Batch jobs -----------------------------------------------------------------------------------------


def _environment(boto: Any, names: Names, *, max_vcpus: int, public: bool) -> None:
    _role(boto)
    ec2, batch = boto.client("ec2"), boto.client("batch")
    vpc = ec2.create_vpc(CidrBlock="10.1.0.0/16")["Vpc"]["VpcId"]
    subnet = ec2.create_subnet(VpcId=vpc, CidrBlock="10.1.0.0/24")["Subnet"]["SubnetId"]
    if public:
        gateway = ec2.create_internet_gateway()["InternetGateway"]["InternetGatewayId"]
        ec2.attach_internet_gateway(InternetGatewayId=gateway, VpcId=vpc)
        table = ec2.create_route_table(VpcId=vpc)["RouteTable"]["RouteTableId"]
        ec2.create_route(RouteTableId=table, DestinationCidrBlock="0.0.0.0/0", GatewayId=gateway)
        ec2.associate_route_table(RouteTableId=table, SubnetId=subnet)
    group = ec2.create_security_group(GroupName=f"{names.prefix}-sg", Description="t", VpcId=vpc)["GroupId"]
    environment = batch.create_compute_environment(
        computeEnvironmentName=names.compute_environment,
        type="MANAGED",
        state="ENABLED",
        serviceRole=ROLE,
        computeResources={
            "type": "FARGATE",
            "maxvCpus": max_vcpus,
            "subnets": [subnet],
            "securityGroupIds": [group],
        },
    )["computeEnvironmentArn"]
    _wait_valid(batch, environment)
    batch.create_job_queue(
        jobQueueName=names.job_queue,
        state="ENABLED",
        priority=1,
        computeEnvironmentOrder=[{"order": 1, "computeEnvironment": environment}],
    )


def test_stuck_job_asks_for_more_vcpus_than_the_environment_has(aws: Any, boto: Any, names: Names) -> None:
    _environment(boto, names, max_vcpus=2, public=False)
    job = BatchJob(
        job_id="j",
        step="main",
        status="RUNNABLE",
        queue=names.job_queue_arn,
        vcpus=4,
        assign_public_ip="ENABLED",
    )
    reason = runs.explain_stuck(aws, job)
    assert reason == (
        f"the job asks for 4 vCPUs but compute environment {names.compute_environment} allows at most 2 "
        "(compute.max_vcpus in jobs.yaml)"
    )


def test_stuck_fargate_job_in_a_public_subnet_without_public_ip(aws: Any, boto: Any, names: Names) -> None:
    _environment(boto, names, max_vcpus=16, public=True)
    job = BatchJob(
        job_id="j",
        step="main",
        status="RUNNABLE",
        queue=names.job_queue_arn,
        vcpus=1,
        assign_public_ip="DISABLED",
    )
    reason = runs.explain_stuck(aws, job)
    assert reason is not None
    assert "without a public IP (assignPublicIp DISABLED)" in reason
    enabled = BatchJob(
        job_id="j",
        step="main",
        status="RUNNABLE",
        queue=names.job_queue_arn,
        vcpus=1,
        assign_public_ip="ENABLED",
    )
    assert runs.explain_stuck(aws, enabled) is None
    # A private subnet (a NAT gateway gives it a way out) is not blamed.
    private = Names(project=f"t{uuid4().hex[:8]}", stage="dev", ctx=names.ctx)
    _environment(boto, private, max_vcpus=16, public=False)
    job = BatchJob(
        job_id="j",
        step="main",
        status="RUNNABLE",
        queue=private.job_queue_arn,
        vcpus=1,
        assign_public_ip="DISABLED",
    )
    assert runs.explain_stuck(aws, job) is None


# ---- schedules ------------------------------------------------------------------------------------------------


def _schedule(boto: Any, names: Names, job: str) -> dict[str, Any]:
    scheduler = boto.client("scheduler")
    scheduler.create_schedule_group(Name=names.schedule_group)
    scheduler.create_schedule(
        Name=names.schedule(job),
        GroupName=names.schedule_group,
        ScheduleExpression="cron(30 21 * * ? *)",
        ScheduleExpressionTimezone="Asia/Tokyo",
        Description=schedule_marker(names.project, names.stage, job),
        FlexibleTimeWindow={"Mode": "OFF"},
        Target={
            "Arn": names.state_machine_arn(job),
            "RoleArn": ROLE,
            "Input": asl.scheduled_input(job=job),
            "RetryPolicy": {"MaximumRetryAttempts": 185, "MaximumEventAgeInSeconds": 86400},
        },
        State="ENABLED",
    )
    return dict(scheduler.get_schedule(Name=names.schedule(job), GroupName=names.schedule_group))


def _comparable(schedule: dict[str, Any]) -> dict[str, Any]:
    return {
        k: v for k, v in schedule.items() if k not in {"State", "LastModificationDate", "ResponseMetadata"}
    }


def test_pause_and_resume_keep_every_other_field(aws: Any, boto: Any, names: Names, recorder: Any) -> None:
    before = _schedule(boto, names, "daily")
    job = JobInfo(name="daily", has_schedule=True)
    paused = runs.set_schedule_state(aws, names, job=job, enabled=False)
    assert (paused.state, paused.changed) == ("DISABLED", True)
    after = boto.client("scheduler").get_schedule(
        Name=names.schedule("daily"), GroupName=names.schedule_group
    )
    assert after["State"] == "DISABLED"
    assert _comparable(after) == _comparable(before)

    again = runs.set_schedule_state(aws, names, job=job, enabled=False)
    assert again.changed is False
    assert recorder.calls.count("scheduler:UpdateSchedule") == 1

    resumed = runs.set_schedule_state(aws, names, job=job, enabled=True)
    assert (resumed.state, resumed.changed) == ("ENABLED", True)
    final = boto.client("scheduler").get_schedule(
        Name=names.schedule("daily"), GroupName=names.schedule_group
    )
    assert final["State"] == "ENABLED"
    assert _comparable(final) == _comparable(before)


def test_schedule_errors(aws: Any, names: Names) -> None:
    with pytest.raises(runs.RunError, match="has no schedule"):
        runs.set_schedule_state(aws, names, job=_queue_job(), enabled=False)
    with pytest.raises(runs.RunError, match="does not exist") as caught:
        runs.set_schedule_state(aws, names, job=JobInfo(name="daily", has_schedule=True), enabled=False)
    assert caught.value.hint == "run `batchctl deploy` first"


# ---- container output in the background ---------------------------------------------------------------------


def _put_lines(boto: Any, group: str, stream: str, messages: list[str]) -> None:
    start_ms = int(datetime.now(UTC).timestamp() * 1000)
    boto.client("logs").put_log_events(
        logGroupName=group,
        logStreamName=stream,
        logEvents=[{"timestamp": start_ms + offset, "message": m} for offset, m in enumerate(messages)],
    )


def _until(condition: Callable[[], bool], timeout_s: float = 20.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.02)


def _background(
    aws: Any, group: str, seen: list[str], sleeps: list[float], refreshes: list[int]
) -> runs.BackgroundLogTail:
    reader = logtail.Tailer(
        aws=aws,
        group=group,
        start_ms=runs.log_start_ms(datetime.now(UTC)),
        on_event=lambda event: seen.append(event.message),
    )
    # One pass, then the thread waits (on the stop event) until stop(): only the last read can see later lines.
    return runs.BackgroundLogTail(
        reader, refresh=lambda: refreshes.append(1), poll_s=3600, sleep=sleeps.append
    )


def test_background_tail_reads_while_running_and_once_more_at_stop(aws: Any, boto: Any, names: Names) -> None:
    group, stream = names.log_group("fib"), "main/default/aaaa1111"
    boto.client("logs").create_log_group(logGroupName=group)
    boto.client("logs").create_log_stream(logGroupName=group, logStreamName=stream)
    _put_lines(boto, group, stream, ["one", "two"])
    seen: list[str] = []
    sleeps: list[float] = []
    refreshes: list[int] = []
    tail = _background(aws, group, seen, sleeps, refreshes)
    tail.start()
    _until(lambda: len(seen) == 2)
    _put_lines(boto, group, stream, ["three"])
    assert seen == ["one", "two"]
    assert tail.stop() == ()
    assert seen == ["one", "two", "three"]
    assert sleeps == [runs.LOG_SETTLE_S]
    assert refreshes == [1]
    # Stopping again reads nothing more, and a tail starts once.
    assert tail.stop() == ()
    assert (sleeps, refreshes) == ([runs.LOG_SETTLE_S], [1])
    with pytest.raises(RuntimeError, match="starts once"):
        tail.start()


def test_background_tail_skips_the_last_read_when_told(aws: Any, boto: Any, names: Names) -> None:
    group, stream = names.log_group("fib"), "main/default/aaaa1111"
    boto.client("logs").create_log_group(logGroupName=group)
    boto.client("logs").create_log_stream(logGroupName=group, logStreamName=stream)
    _put_lines(boto, group, stream, ["one"])
    seen: list[str] = []
    sleeps: list[float] = []
    refreshes: list[int] = []
    tail = _background(aws, group, seen, sleeps, refreshes)
    tail.start()
    _until(lambda: seen == ["one"])
    _put_lines(boto, group, stream, ["late"])
    assert tail.stop(final_read=False) == ()
    assert (seen, sleeps, refreshes) == (["one"], [], [])


def test_background_tail_keeps_a_read_failure_and_reads_no_more(aws: Any, names: Names) -> None:
    seen: list[str] = []
    sleeps: list[float] = []
    refreshes: list[int] = []
    tail = _background(aws, names.log_group("ghost"), seen, sleeps, refreshes)
    tail.start()
    _until(lambda: bool(tail.failures))
    (failure,) = tail.stop()
    assert isinstance(failure, runs.RunError)
    assert failure.message == f"log group {names.log_group('ghost')} does not exist"
    assert (seen, sleeps, refreshes) == ([], [], [])
