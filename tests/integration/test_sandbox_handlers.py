"""Lambda handlers in the sandbox without Docker: a deployed job whose notify names a Lambda function runs to its
real outcome, the handler task succeeds without running the function's code, and the run's history records the
invocation with the handler's event (the sandbox's Lambda answers an Invoke with the event it was given)."""

from __future__ import annotations

import io
import json
import zipfile
from pathlib import Path
from typing import Any
from uuid import uuid4

import pytest
from typer.testing import CliRunner

from batchctl import asl
from batchctl.cli import submit as submit_command
from batchctl.cli.app import app
from batchctl.naming import AwsContext, Names

ENV = {"COLUMNS": "200", "NO_COLOR": "1"}
LAMBDA_TRUST = {
    "Version": "2012-10-17",
    "Statement": [
        {"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}
    ],
}


def function(boto: Any, name: str) -> str:
    """A Python function whose code, were it run, would fail every call: the sandbox must not need to run it."""
    role = boto.client("iam").create_role(RoleName=name, AssumeRolePolicyDocument=json.dumps(LAMBDA_TRUST))
    archive = io.BytesIO()
    with zipfile.ZipFile(archive, "w") as zipped:
        zipped.writestr("handler.py", "def handle(event, context):\n    raise RuntimeError('ran')\n")
    created = boto.client("lambda").create_function(
        FunctionName=name,
        Runtime="python3.12",
        Role=role["Role"]["Arn"],
        Handler="handler.handle",
        Code={"ZipFile": archive.getvalue()},
    )
    return str(created["FunctionArn"])


@pytest.fixture
def project(
    tmp_path: Path, aws_env: str, boto: Any, monkeypatch: pytest.MonkeyPatch
) -> tuple[Path, Names, str]:
    """A deployed one-job project (prebuilt image, no Docker) with success and failure handlers."""
    name = f"t{uuid4().hex[:8]}"
    handler = function(boto, f"{name}-notify")
    config = tmp_path / "jobs.yaml"
    config.write_text(
        f"""version: 1
project: {name}
stage: dev
image: {{uri: 123456789012.dkr.ecr.eu-west-1.amazonaws.com/{name}:1}}
notify:
  topic: true
  on_success_lambda: {handler}
  on_failure_lambda: {handler}
jobs:
  hello:
    command: [echo, Ref::body]
"""
    )
    monkeypatch.setattr(submit_command, "POLL_S", 0.05)
    deployed = CliRunner().invoke(app, ["-c", str(config), "deploy", "--yes"], env=ENV)
    assert deployed.exit_code == 0, deployed.output
    names = Names(project=name, stage="dev", ctx=AwsContext(account_id="123456789012", region="eu-west-1"))
    return config, names, handler


def lambda_tasks(boto: Any, execution_arn: str) -> list[tuple[str, dict[str, Any], dict[str, Any] | None]]:
    """Each Lambda task of the execution: (state name, the parameters sent, the result if it succeeded)."""
    events = boto.client("stepfunctions").get_execution_history(executionArn=execution_arn, maxResults=1000)[
        "events"
    ]
    tasks: list[tuple[str, dict[str, Any], dict[str, Any] | None]] = []
    state = ""
    for event in events:
        if event["type"] == "TaskStateEntered":
            state = event["stateEnteredEventDetails"]["name"]
        details = event.get("taskScheduledEventDetails")
        if details and details["resourceType"] == "lambda":
            tasks.append((state, json.loads(details["parameters"]), None))
        succeeded = event.get("taskSucceededEventDetails")
        if succeeded and succeeded["resourceType"] == "lambda":
            tasks[-1] = (tasks[-1][0], tasks[-1][1], json.loads(succeeded["output"]))
    return tasks


def test_a_run_with_handlers_succeeds_and_records_the_invocation(
    project: tuple[Path, Names, str], boto: Any
) -> None:
    config, names, handler = project
    result = CliRunner().invoke(
        app, ["-c", str(config), "submit", "hello", "--direct", "--wait", "--body", '{"n": 1}'], env=ENV
    )
    assert result.exit_code == 0, result.output
    run_id = result.stdout.strip()
    assert "SUCCEEDED" in result.stderr
    assert "Traceback" not in result.output

    execution = boto.client("stepfunctions").describe_execution(
        executionArn=names.execution_arn("hello", run_id)
    )
    assert execution["status"] == "SUCCEEDED"
    ((state, sent, answer),) = lambda_tasks(boto, execution["executionArn"])
    assert state == asl.SUCCESS_HANDLER
    assert sent["FunctionName"] == handler
    # The invocation is recorded with its event: the run's own notification fields.
    assert answer is not None
    assert answer["StatusCode"] == 200
    assert (answer["Payload"]["run_id"], answer["Payload"]["status"]) == (run_id, "SUCCEEDED")
    assert answer["Payload"] == sent["Payload"]
    assert answer["Payload"]["state"]["run"]["body"] == '{"n": 1}'


def test_a_failed_run_calls_its_failure_handler_and_fails_for_its_own_reason(
    project: tuple[Path, Names, str], boto: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    config, names, handler = project
    monkeypatch.setenv("MOTO_SIMPLE_BATCH_FAIL_AFTER", "0")  # moto's Batch (in this process) fails every job
    result = CliRunner().invoke(
        app, ["-c", str(config), "submit", "hello", "--direct", "--wait", "--body", "{}"], env=ENV
    )
    assert result.exit_code == 1, result.output
    run_id = result.stdout.strip()
    execution = boto.client("stepfunctions").describe_execution(
        executionArn=names.execution_arn("hello", run_id)
    )
    assert execution["status"] == "FAILED"
    assert execution["error"] == "batchctl.States.TaskFailed"  # the job's failure, not the handler's
    ((state, sent, answer),) = lambda_tasks(boto, execution["executionArn"])
    assert state == asl.FAILURE_HANDLER
    assert sent["FunctionName"] == handler
    assert answer is not None
    assert (answer["Payload"]["run_id"], answer["Payload"]["status"]) == (run_id, "FAILED")
