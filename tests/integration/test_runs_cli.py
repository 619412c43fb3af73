"""The run commands end to end through the typer app (submit, status, retry, schedule, logs tail) against the moto
server: results on stdout, errors on stderr with a hint and the right exit code, never a traceback."""

from __future__ import annotations

import json
import re
import threading
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from uuid import uuid4

import pytest
from typer.testing import CliRunner

from batchctl import asl
from batchctl.cli import submit as submit_command
from batchctl.cli.app import app
from batchctl.naming import AwsContext, Names
from batchctl.sandbox import PipeRelay
from batchctl.specs import schedule_marker
from tests.integration.test_runs import _batch_workflow

ROLE = "arn:aws:iam::123456789012:role/t-sfn"
SUCCEED = {"StartAt": "Done", "States": {"Done": {"Type": "Succeed"}}}
FAIL = {
    "StartAt": "Boom",
    "States": {"Boom": {"Type": "Fail", "Error": "batchctl.States.TaskFailed", "Cause": "it broke"}},
}
UUID = re.compile(r"[0-9a-f-]{36}")


@pytest.fixture
def project(tmp_path: Path, aws_env: str, monkeypatch: pytest.MonkeyPatch) -> tuple[Path, Names]:
    """A jobs.yaml with a queue job (fib) and a scheduled one (daily), and its names in moto's account."""
    name = f"t{uuid4().hex[:8]}"
    config = tmp_path / "jobs.yaml"
    config.write_text(
        f"""version: 1
project: {name}
stage: dev
jobs:
  fib:
    command: [python, fib.py, --body, Ref::body]
    queue: {{}}
  daily:
    command: [python, report.py, --time, Ref::time]
    schedule: {{cron: "30 21 * * ? *"}}
"""
    )
    monkeypatch.setattr(submit_command, "POLL_S", 0.05)
    return config, Names(
        project=name, stage="dev", ctx=AwsContext(account_id="123456789012", region="eu-west-1")
    )


def run(config: Path, *args: str, stdin: str | None = None) -> Any:
    return CliRunner().invoke(app, ["-c", str(config), *args], env={"COLUMNS": "200"}, input=stdin)


def _queue(boto: Any, names: Names) -> str:
    return str(boto.client("sqs").create_queue(QueueName=names.queue("fib"))["QueueUrl"])


def _queued(boto: Any, url: str) -> int:
    answer = boto.client("sqs").get_queue_attributes(
        QueueUrl=url, AttributeNames=["ApproximateNumberOfMessages"]
    )
    return int(answer["Attributes"]["ApproximateNumberOfMessages"])


def _machine(boto: Any, names: Names, job: str, definition: dict[str, Any]) -> None:
    boto.client("stepfunctions").create_state_machine(
        name=names.state_machine(job), definition=json.dumps(definition), roleArn=ROLE
    )


def _clean(result: Any) -> None:
    assert "Traceback" not in result.stdout + result.stderr


# ---- submit ---------------------------------------------------------------------------------------------------


def test_submit_a_body_prints_the_message_id(project: tuple[Path, Names], boto: Any) -> None:
    config, names = project
    url = _queue(boto, names)
    result = run(config, "submit", "fib", "--body", '{"n": 30}')
    assert result.exit_code == 0, result.stderr
    assert UUID.fullmatch(result.stdout.strip())
    (message,) = boto.client("sqs").receive_message(QueueUrl=url)["Messages"]
    assert (message["MessageId"], message["Body"]) == (result.stdout.strip(), '{"n": 30}')
    # From stdin: the final newline is not part of the body.
    piped = run(config, "submit", "fib", "--body-file", "-", stdin='{"n": 31}\n')
    assert piped.exit_code == 0, piped.stderr
    (message,) = boto.client("sqs").receive_message(QueueUrl=url)["Messages"]
    assert (message["MessageId"], message["Body"]) == (piped.stdout.strip(), '{"n": 31}')


def test_submit_a_jsonl_file_prints_counts(project: tuple[Path, Names], boto: Any, tmp_path: Path) -> None:
    config, names = project
    url = _queue(boto, names)
    bodies = tmp_path / "bodies.jsonl"
    bodies.write_text("".join(f'{{"n": {i}}}\n' for i in range(25)))
    result = run(config, "submit", "fib", "--body-file", str(bodies))
    assert result.exit_code == 0, result.stderr
    assert result.stdout.strip() == "sent 25, failed 0"
    assert _queued(boto, url) == 25
    as_json = run(config, "-o", "json", "submit", "fib", "--body-file", str(bodies))
    document = json.loads(as_json.stdout)
    assert (document["version"], document["sent"], document["failed"]) == (1, 25, [])


def test_submit_a_jsonl_file_with_a_bad_line_sends_nothing(
    project: tuple[Path, Names], boto: Any, tmp_path: Path
) -> None:
    config, names = project
    url = _queue(boto, names)
    bodies = tmp_path / "bodies.jsonl"
    bodies.write_text('{"n": 1}\n{"n": \n{"n": 3}\n')
    result = run(config, "submit", "fib", "--body-file", str(bodies))
    assert result.exit_code == 1
    assert f"{bodies}:2: not valid JSON" in result.stderr
    assert result.stdout == ""
    _clean(result)
    assert _queued(boto, url) == 0


def test_submit_needs_exactly_one_body(project: tuple[Path, Names]) -> None:
    config, _ = project
    for args in (["submit", "fib"], ["submit", "fib", "--body", "{}", "--body-file", "x.json"]):
        result = run(config, *args)
        assert result.exit_code == 2
        assert "exactly one of --body and --body-file" in result.stderr
        _clean(result)


def test_submit_bad_inputs_are_one_clear_error_each(project: tuple[Path, Names], tmp_path: Path) -> None:
    config, _ = project
    unknown = run(config, "submit", "fibb", "--body", "{}")
    assert unknown.exit_code == 2
    assert "no job named 'fibb'" in unknown.stderr
    assert "daily, fib" in unknown.stderr
    assert "did you mean 'fib'?" in unknown.stderr
    missing = run(config, "submit", "fib", "--body-file", str(tmp_path / "missing.json"))
    assert missing.exit_code == 2
    assert "cannot read" in missing.stderr
    assert "No such file" in missing.stderr
    too_large = run(config, "submit", "fib", "--body", "x" * 9000)
    assert too_large.exit_code == 1
    assert "container overrides hold at most 8,192 characters" in too_large.stderr
    assert "hint: put large payloads in S3" in too_large.stderr
    no_queue = run(config, "submit", "daily", "--body", "{}")
    assert no_queue.exit_code == 2
    assert "has no queue: it runs on its schedule" in no_queue.stderr
    for result in (unknown, missing, too_large, no_queue):
        _clean(result)
        assert result.stdout == ""


def test_submit_direct_wait_exits_with_the_run_outcome(project: tuple[Path, Names], boto: Any) -> None:
    config, names = project
    _machine(boto, names, "fib", SUCCEED)
    _machine(boto, names, "daily", FAIL)
    good = run(config, "submit", "fib", "--direct", "--wait", "--body", '{"n": 3}')
    assert good.exit_code == 0, good.stderr
    assert good.stdout.strip().startswith("cli-")
    assert "SUCCEEDED" in good.stderr
    bad = run(config, "submit", "daily", "--direct", "--wait", "--body", "{}")
    assert bad.exit_code == 1
    run_id = bad.stdout.strip()
    assert run_id.startswith("cli-")
    assert f"run {run_id} of daily FAILED: batchctl.States.TaskFailed: it broke" in bad.stderr
    _clean(bad)
    described = boto.client("stepfunctions").describe_execution(
        executionArn=names.execution_arn("daily", run_id)
    )
    assert json.loads(described["input"])["source"] == "cli"


def test_submit_direct_without_wait_prints_the_run_id(project: tuple[Path, Names], boto: Any) -> None:
    config, names = project
    _machine(boto, names, "fib", SUCCEED)
    result = run(config, "-o", "json", "submit", "fib", "--direct", "--body", "{}")
    assert result.exit_code == 0, result.stderr
    document = json.loads(result.stdout)
    assert document["route"] == "direct"
    assert document["run_id"].startswith("cli-")


# ---- status, retry --------------------------------------------------------------------------------------------


def _run(boto: Any, names: Names, job: str, run_id: str, payload: object) -> None:
    sfn = boto.client("stepfunctions")
    arn = sfn.start_execution(
        stateMachineArn=names.state_machine_arn(job), name=run_id, input=json.dumps(payload)
    )["executionArn"]
    for _ in range(200):
        if sfn.describe_execution(executionArn=arn)["status"] != "RUNNING":
            return
    raise AssertionError(f"{run_id} did not finish")


def test_status_lists_runs_as_a_table_and_as_json(project: tuple[Path, Names], boto: Any) -> None:
    config, names = project
    _machine(boto, names, "fib", SUCCEED)
    _machine(boto, names, "daily", FAIL)
    _run(boto, names, "fib", "r-queue", [{"messageId": "m-1", "body": "{}"}])
    _run(boto, names, "daily", "r-schedule", json.loads(asl.scheduled_input(job="daily")))

    table = run(config, "status")
    assert table.exit_code == 0, table.stderr
    lines = table.stdout.splitlines()
    assert any("r-queue" in line and "queue" in line and "SUCCEEDED" in line for line in lines)
    assert any("r-schedule" in line and "schedule" in line and "FAILED" in line for line in lines)

    failed = run(config, "status", "--failed")
    assert "r-queue" not in failed.stdout
    assert "it broke" in failed.stdout

    document = json.loads(run(config, "-o", "json", "status", "fib").stdout)
    assert [(r["run_id"], r["source"], r["status"]) for r in document["runs"]] == [
        ("r-queue", "queue", "SUCCEEDED")
    ]


def test_status_ids_can_be_copied_into_retry_and_logs_and_fit_80_columns(
    project: tuple[Path, Names], boto: Any
) -> None:
    config, names = project
    _machine(boto, names, "fib", SUCCEED)
    _machine(boto, names, "daily", FAIL)
    boto.client("logs").create_log_group(logGroupName=names.log_group("fib"))
    cli = "cli-20261204T134024Z-aaaa000"
    twins = "3f2a9c1e-0000-4000-8000-00000000000"  # alike up to their 11th character
    for run_id in (f"{cli}1", f"{cli}2", f"{twins[:9]}1{twins[10:]}1", f"{twins}2"):
        _run(boto, names, "fib", run_id, {"source": "cli", "body": "{}", "id": run_id, "time": "t"})
    failed = "5e6f7a8b-1c2d-4e3f-9a0b-c1d2e3f4a5b6"
    _run(boto, names, "daily", failed, {"source": "cli", "body": "{}", "id": failed, "time": "t"})
    _run(boto, names, "daily", "r1", {"source": "cli", "body": "{}", "id": "r1", "time": "t"})
    every_id = [
        e["name"]
        for job in ("fib", "daily")
        for e in boto.client("stepfunctions").list_executions(stateMachineArn=names.state_machine_arn(job))[
            "executions"
        ]
    ]

    table = CliRunner().invoke(app, ["-c", str(config), "status"], env={"COLUMNS": "80"})
    assert table.exit_code == 0, table.stderr
    lines = table.stdout.splitlines()
    assert all(len(line) <= 80 for line in lines), "\n".join(lines)
    header, *rows = lines
    assert "STATUS" in header
    assert "STATE" not in header.replace("STATUS", "")
    shown = {row.split()[0]: row for row in rows}
    assert len(shown) == len(every_id) == 6
    for value, row in shown.items():
        # What is shown is one run's id or a prefix of it that no other run's id starts with.
        owners = [i for i in every_id if i == value] or [i for i in every_id if i.startswith(value)]
        assert len(owners) == 1, (value, owners)
        assert re.search(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d", row), row  # the start, on one line
    assert "r1" in shown
    assert "5e6f7a8b" in shown
    assert f"{cli}1" in shown  # a prefix would save next to nothing: the id whole

    retried = run(config, "retry", "5e6f7a8b")
    assert retried.exit_code == 0, retried.stderr
    assert retried.stdout.strip() == f"{failed}-r1"
    assert f"with the input of run {failed}" in retried.stderr
    twin = next(value for value in shown if value.startswith("3f2a9c1e"))
    logs = run(config, "-o", "json", "logs", "tail", "fib", "--run", twin)
    assert logs.exit_code == 0, logs.stderr
    ambiguous = run(config, "logs", "tail", "fib", "--run", "3f2a9c1e")
    assert ambiguous.exit_code == 2
    assert "is ambiguous: 2 runs start with it" in ambiguous.stderr
    _clean(ambiguous)

    document = json.loads(run(config, "-o", "json", "status", "daily").stdout)
    assert all(r["status"] == "FAILED" and "state" not in r for r in document["runs"])
    assert f"{failed}-r1" in {r["run_id"] for r in document["runs"]}


def test_status_of_an_unknown_job_or_nothing_deployed(project: tuple[Path, Names]) -> None:
    config, _ = project
    unknown = run(config, "status", "nope")
    assert unknown.exit_code == 2
    assert "no job named 'nope'" in unknown.stderr
    nothing = run(config, "status")
    assert nothing.exit_code == 1
    assert "none of the 2 jobs is deployed" in nothing.stderr
    assert "hint: run `batchctl deploy` first" in nothing.stderr
    _clean(nothing)


def test_retry_a_failed_run_and_a_run_that_does_not_exist(project: tuple[Path, Names], boto: Any) -> None:
    config, names = project
    _machine(boto, names, "fib", SUCCEED)
    _machine(boto, names, "daily", FAIL)
    _run(boto, names, "daily", "r1", {"source": "cli", "body": "{}", "id": "r1", "time": "t"})
    result = run(config, "retry", "r1")
    assert result.exit_code == 0, result.stderr
    assert result.stdout.strip() == "r1-r1"
    assert "with the input of run r1" in result.stderr
    ghost = run(config, "retry", "ghost")
    assert ghost.exit_code == 1
    assert f"no run 'ghost' in any job of {names.prefix}" in ghost.stderr
    _clean(ghost)


def test_retry_of_a_run_already_retried_successfully_needs_force(
    project: tuple[Path, Names], boto: Any
) -> None:
    config, names = project
    _machine(boto, names, "fib", SUCCEED)
    _machine(boto, names, "daily", FAIL)
    _run(boto, names, "daily", "r1", {"source": "cli", "body": "{}", "id": "r1", "time": "t"})
    # The cause is fixed: from now on the workflow succeeds, and so does the first retry.
    sfn = boto.client("stepfunctions")
    sfn.update_state_machine(stateMachineArn=names.state_machine_arn("daily"), definition=json.dumps(SUCCEED))
    first = run(config, "retry", "r1")
    assert first.exit_code == 0, first.stderr
    assert first.stdout.strip() == "r1-r1"
    for _ in range(200):
        if sfn.describe_execution(executionArn=names.execution_arn("daily", "r1-r1"))["status"] != "RUNNING":
            break
    # Off a terminal nobody can be asked: refused (usage exit code), nothing started, --force named.
    again = run(config, "retry", "r1")
    assert again.exit_code == 2
    assert "already retried successfully: r1-r1" in again.stderr
    assert "--force" in again.stderr
    assert again.stdout == ""
    _clean(again)
    executions = sfn.list_executions(stateMachineArn=names.state_machine_arn("daily"))["executions"]
    assert sorted(e["name"] for e in executions) == ["r1", "r1-r1"]
    forced = run(config, "retry", "r1", "--force")
    assert forced.exit_code == 0, forced.stderr
    assert forced.stdout.strip() == "r1-r2"


# ---- schedule -------------------------------------------------------------------------------------------------


def test_schedule_pause_and_resume(project: tuple[Path, Names], boto: Any) -> None:
    config, names = project
    scheduler = boto.client("scheduler")
    scheduler.create_schedule_group(Name=names.schedule_group)
    scheduler.create_schedule(
        Name=names.schedule("daily"),
        GroupName=names.schedule_group,
        Description=schedule_marker(names.project, names.stage, "daily"),  # as deploy creates it
        ScheduleExpression="cron(30 21 * * ? *)",
        FlexibleTimeWindow={"Mode": "OFF"},
        Target={
            "Arn": names.state_machine_arn("daily"),
            "RoleArn": ROLE,
            "Input": asl.scheduled_input(job="daily"),
        },
    )
    paused = run(config, "schedule", "pause", "daily")
    assert paused.exit_code == 0, paused.stderr
    assert paused.stdout.strip() == f"{names.schedule_group}/{names.schedule('daily')}: DISABLED"
    state = scheduler.get_schedule(Name=names.schedule("daily"), GroupName=names.schedule_group)["State"]
    assert state == "DISABLED"
    resumed = run(config, "-o", "json", "schedule", "resume", "daily")
    assert json.loads(resumed.stdout)["state"] == "ENABLED"
    no_schedule = run(config, "schedule", "pause", "fib")
    assert no_schedule.exit_code == 2
    assert "job 'fib' has no schedule" in no_schedule.stderr
    _clean(no_schedule)


# ---- logs tail ------------------------------------------------------------------------------------------------


def test_logs_tail_prints_the_job_output(project: tuple[Path, Names], boto: Any) -> None:
    config, names = project
    logs = boto.client("logs")
    group = names.log_group("fib")
    logs.create_log_group(logGroupName=group)
    now_ms = int(datetime.now(UTC).timestamp() * 1000)
    for stream, offset, message in (
        ("main/default/aaaa1111", 0, "hello [bold]"),
        ("main/default/bbbb2222", 10, "world"),
    ):
        logs.create_log_stream(logGroupName=group, logStreamName=stream)
        logs.put_log_events(
            logGroupName=group,
            logStreamName=stream,
            logEvents=[{"timestamp": now_ms + offset, "message": message}],
        )
    result = run(config, "logs", "tail", "fib", "--since", "10m")
    assert result.exit_code == 0, result.stderr
    # Markup-like text comes out as it is; a job's whole log group has many streams: every line is labelled.
    assert result.stdout.splitlines() == ["main/aaaa1111 | hello [bold]", "main/bbbb2222 | world"]
    document = json.loads(run(config, "-o", "json", "logs", "tail", "fib", "--filter", "world").stdout)
    assert [e["message"] for e in document["events"]] == ["world"]
    assert document["log_group"] == group


def test_logs_tail_bad_inputs(project: tuple[Path, Names], boto: Any) -> None:
    config, names = project
    boto.client("logs").create_log_group(logGroupName=names.log_group("fib"))
    bad_since = run(config, "logs", "tail", "fib", "--since", "yesterday")
    assert bad_since.exit_code == 2
    assert "hint: use a duration such as 30s, 10m" in bad_since.stderr
    bad_step = run(config, "logs", "tail", "fib", "--step", "load")
    assert bad_step.exit_code == 2
    assert "job 'fib' has no step 'load'; its steps are: main" in bad_step.stderr
    no_run = run(config, "logs", "tail", "fib", "--run", "ghost")
    assert no_run.exit_code == 1
    assert "no run 'ghost' of job 'fib'" in no_run.stderr
    for result in (bad_since, bad_step, no_run):
        _clean(result)


# ---- waiting through the queue, with the container output -----------------------------------------------------


def test_submit_through_the_queue_waits_for_the_run_the_pipe_starts(
    project: tuple[Path, Names], boto: Any
) -> None:
    config, names = project
    url = _queue(boto, names)
    _machine(boto, names, "fib", SUCCEED)
    queue_arn = boto.client("sqs").get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])[
        "Attributes"
    ]["QueueArn"]
    boto.client("pipes").create_pipe(
        Name=names.pipe("fib"), RoleArn=ROLE, Source=queue_arn, Target=names.state_machine_arn("fib")
    )
    # moto's Pipes never move messages: the sandbox's relay plays the pipe.
    relay = PipeRelay(endpoint_url=boto.client("sqs").meta.endpoint_url, interval_s=0.1)
    relay.start()
    try:
        result = run(config, "submit", "fib", "--wait", "--body", '{"n": 1}')
    finally:
        relay.stop()
    assert result.exit_code == 0, result.stderr
    run_id = result.stdout.strip()
    described = boto.client("stepfunctions").describe_execution(
        executionArn=names.execution_arn("fib", run_id)
    )
    assert json.loads(described["input"])[0]["body"] == '{"n": 1}'
    assert "SUCCEEDED" in result.stderr


def test_submit_with_logs_shows_the_container_output(project: tuple[Path, Names], boto: Any) -> None:
    config, names = project
    group = names.log_group("fib")
    boto.client("logs").create_log_group(logGroupName=group)
    _batch_workflow(boto, names, "fib", log_group=group)
    stop = threading.Event()

    def container() -> None:
        # moto runs no container without Docker: write the job's output into its stream when Batch has the job.
        batch, logs = boto.client("batch"), boto.client("logs")
        while not stop.is_set():
            for status in ("SUBMITTED", "RUNNABLE", "RUNNING", "SUCCEEDED"):
                for job in batch.list_jobs(jobQueue=names.job_queue, jobStatus=status)["jobSummaryList"]:
                    stream = f"main/default/{job['jobId']}"
                    logs.create_log_stream(logGroupName=group, logStreamName=stream)
                    now_ms = int(datetime.now(UTC).timestamp() * 1000)
                    logs.put_log_events(
                        logGroupName=group,
                        logStreamName=stream,
                        logEvents=[{"timestamp": now_ms, "message": "fib(7) = 13"}],
                    )
                    return
            stop.wait(0.02)

    writer = threading.Thread(target=container)
    writer.start()
    try:
        result = run(config, "submit", "fib", "--direct", "--logs", "--body", '{"n": 7}')
    finally:
        stop.set()
        writer.join(timeout=10)
    assert result.exit_code == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0] == "fib(7) = 13"
    assert lines[-1].startswith("cli-")
