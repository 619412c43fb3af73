"""`batchctl dlq JOB` against the moto server: the count of a job's dead-letter queue, a look at some messages
that leaves them there, moving them back (StartMessageMoveTask), and the one-line errors."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any
from uuid import uuid4

import pytest
from typer.testing import CliRunner

from batchctl.cli.app import app
from batchctl.naming import AwsContext, Names


@pytest.fixture
def project(tmp_path: Path, aws_env: str) -> tuple[Path, Names]:
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
    command: [python, report.py]
    schedule: {{cron: "30 21 * * ? *"}}
"""
    )
    return config, Names(
        project=name, stage="dev", ctx=AwsContext(account_id="123456789012", region="eu-west-1")
    )


def run(config: Path, *args: str) -> Any:
    return CliRunner().invoke(app, ["-c", str(config), *args], env={"COLUMNS": "200"})


def _queues(boto: Any, names: Names, dead: int) -> tuple[str, str]:
    """The job's queue and dead-letter queue as deploy creates them, `dead` messages in the dead-letter queue."""
    sqs = boto.client("sqs")
    dlq = sqs.create_queue(QueueName=names.dead_letter_queue("fib"))["QueueUrl"]
    dlq_arn = sqs.get_queue_attributes(QueueUrl=dlq, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    policy = json.dumps({"deadLetterTargetArn": dlq_arn, "maxReceiveCount": "3"})
    queue = sqs.create_queue(QueueName=names.queue("fib"), Attributes={"RedrivePolicy": policy})["QueueUrl"]
    for n in range(dead):
        sqs.send_message(QueueUrl=dlq, MessageBody=json.dumps({"n": n}))
    return queue, dlq


def _count(boto: Any, url: str) -> int:
    answer = boto.client("sqs").get_queue_attributes(
        QueueUrl=url, AttributeNames=["ApproximateNumberOfMessages"]
    )
    return int(answer["Attributes"]["ApproximateNumberOfMessages"])


def test_dlq_counts_and_shows_messages_without_taking_them(project: tuple[Path, Names], boto: Any) -> None:
    config, names = project
    _, dlq = _queues(boto, names, dead=3)
    counted = run(config, "dlq", "fib")
    assert counted.exit_code == 0, counted.stderr
    assert counted.stdout.strip() == f"3 message(s) in {names.dead_letter_queue('fib')}"

    shown = run(config, "-o", "json", "dlq", "fib", "--show", "2")
    assert shown.exit_code == 0, shown.stderr
    document = json.loads(shown.stdout)
    assert document["waiting"] == 3
    assert len(document["messages"]) == 2
    assert {json.loads(m["body"])["n"] for m in document["messages"]} <= {0, 1, 2}
    assert "visibility timeout 0" in shown.stderr
    # Nothing was taken, nothing hidden: all three are still there and visible.
    assert _count(boto, dlq) == 3
    again = run(config, "dlq", "fib", "--show", "10")
    lines = again.stdout.splitlines()
    assert lines[0] == f"3 message(s) in {names.dead_letter_queue('fib')}"
    assert len(lines) == 4


def test_dlq_of_a_job_without_queue_or_not_deployed(project: tuple[Path, Names], boto: Any) -> None:
    config, names = project
    scheduled = run(config, "dlq", "daily")
    assert scheduled.exit_code == 2
    assert len(scheduled.stderr.strip().splitlines()) <= 2  # the error, and its hint
    assert "job 'daily' has no queue, so no dead-letter queue" in scheduled.stderr
    missing = run(config, "dlq", "fib")
    assert missing.exit_code == 1
    assert "run `batchctl deploy` first" in missing.stderr
    boto.client("sqs").create_queue(QueueName=names.queue("fib"))
    no_dlq = run(config, "dlq", "fib", "--redrive")
    assert no_dlq.exit_code == 1
    assert "has no dead-letter queue" in no_dlq.stderr
    for result in (scheduled, missing, no_dlq):
        assert "Traceback" not in result.stdout + result.stderr
        assert result.stdout == ""


def test_dlq_redrive_with_nothing_waiting_makes_no_move(project: tuple[Path, Names], boto: Any) -> None:
    config, names = project
    _queues(boto, names, dead=0)
    result = run(config, "-o", "json", "dlq", "fib", "--redrive")
    assert result.exit_code == 0, result.stderr
    assert json.loads(result.stdout)["redrive"] is None
    assert "nothing to move back" in result.stderr


@pytest.mark.xfail(strict=True, reason="moto: SQS StartMessageMoveTask is not implemented")
def test_dlq_redrive_moves_the_messages_back_to_the_queue(project: tuple[Path, Names], boto: Any) -> None:
    config, names = project
    queue, dlq = _queues(boto, names, dead=3)
    result = run(config, "-o", "json", "dlq", "fib", "--redrive")
    assert result.exit_code == 0, result.stderr
    assert json.loads(result.stdout)["redrive"]["task_handle"]
    assert (_count(boto, queue), _count(boto, dlq)) == (3, 0)


def test_dlq_redrive_where_the_endpoint_lacks_the_move_task_says_so(
    project: tuple[Path, Names], boto: Any
) -> None:
    """The sandbox's SQS (moto) has no StartMessageMoveTask: one error naming the operation, a hint for what to do
    instead, exit 1, and the messages stay where they were."""
    config, names = project
    queue, dlq = _queues(boto, names, dead=2)
    for args in (["dlq", "fib", "--redrive"], ["-o", "json", "dlq", "fib", "--redrive"]):
        result = run(config, *args)
        assert result.exit_code == 1, result.output
        assert result.stdout == ""
        error, hint = result.stderr.strip().splitlines()
        assert error.startswith("error: sqs StartMessageMoveTask failed for")
        assert "does not support StartMessageMoveTask" in error
        assert hint.startswith("hint: ")
        assert "on AWS" in hint
        assert "is it running" not in result.stderr  # it is: it answered the calls before this one
        assert "Traceback" not in result.output
    assert (_count(boto, queue), _count(boto, dlq)) == (0, 2)
