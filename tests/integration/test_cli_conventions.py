"""CLI conventions against the moto server: hints that fit the mistake (Docker is checked before deploy asks),
progress that counts, keys that read as they are written."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any
from uuid import uuid4

import pytest
from typer.testing import CliRunner

from batchctl.cli import submit as submit_command
from batchctl.cli.app import app
from batchctl.naming import AwsContext, Names
from tests.reliability_support import example_text, write_project

ENV = {"COLUMNS": "200", "NO_COLOR": "1"}


def run(config: Path, *args: str, **env: str) -> Any:
    return CliRunner().invoke(app, ["-c", str(config), *args], env={**ENV, **env})


def test_deploy_says_docker_is_missing_before_asking_for_confirmation(aws_env: str, tmp_path: Path) -> None:
    config = write_project(tmp_path, example_text(stage="nodock"))
    # No --yes and no terminal: before, deploy asked first and stopped at "refusing ... without confirmation".
    result = run(config, "deploy", DOCKER_HOST=f"unix://{tmp_path}/no-docker.sock")
    assert result.exit_code == 1, result.output
    assert "error: no Docker engine answers at unix://" in result.stderr
    assert "confirmation" not in result.stderr
    assert "Traceback" not in result.output


def test_deploy_and_destroy_progress_counts_done_of_total(aws_env: str, tmp_path: Path) -> None:
    config = write_project(tmp_path, example_text(stage="count"))
    deployed = run(config, "deploy", "--yes", "--skip-image")
    assert deployed.exit_code == 0, deployed.output
    counters = re.findall(r" created \S+ \([\d.]+s\) \[(\d+)/(\d+)\]$", deployed.stderr, re.MULTILINE)
    assert counters, deployed.stderr
    total = int(counters[0][1])
    assert [int(done) for done, _ in counters] == list(range(1, total + 1))
    assert {int(of) for _, of in counters} == {total}
    destroyed = run(config, "destroy", "--yes")
    assert destroyed.exit_code == 0, destroyed.output
    deleted = re.findall(r" deleted \S+ \([\d.]+s\) \[(\d+)/(\d+)\]$", destroyed.stderr, re.MULTILINE)
    assert deleted, destroyed.stderr
    assert [int(done) for done, _ in deleted] == list(range(1, len(deleted) + 1))
    assert {int(of) for _, of in deleted} == {len(deleted)}


def test_plan_prints_a_log_group_key_without_a_double_slash(aws_env: str, tmp_path: Path) -> None:
    config = write_project(tmp_path, example_text(stage="keys"))
    result = run(config, "plan")
    assert result.exit_code == 0, result.output
    assert "+ logs.log_group:/batchctl/demo/keys/fibonacci" in result.stdout
    assert "//" not in result.stdout.replace("://", "")


@pytest.mark.parametrize(
    ("body", "hint"), [("", "send {} for no input"), ("a\x01b", "escape control characters")]
)
def test_an_empty_body_or_a_control_character_is_not_told_to_use_s3(
    aws_env: str, tmp_path: Path, body: str, hint: str
) -> None:
    config = write_project(tmp_path, example_text(stage="body"))
    result = run(config, "submit", "fibonacci", "--body", body)
    assert result.exit_code == 1, result.output
    assert hint in result.stderr
    assert "S3" not in result.stderr


PROJECT = """\
version: 1
project: {name}
stage: dev
jobs:
  ok: {{command: [echo, ok]}}
  bad: {{command: [echo, bad]}}
"""
SUCCEED = {"StartAt": "Done", "States": {"Done": {"Type": "Succeed"}}}
FAIL = {"StartAt": "Boom", "States": {"Boom": {"Type": "Fail", "Error": "Broke", "Cause": "it broke"}}}


def test_submit_wait_prints_the_final_state_once(
    aws_env: str, boto: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(submit_command, "POLL_S", 0.05)
    name = f"t{uuid4().hex[:8]}"
    config = tmp_path / "jobs.yaml"
    config.write_text(PROJECT.format(name=name))
    names = Names(project=name, stage="dev", ctx=AwsContext(account_id="123456789012", region="eu-west-1"))
    for job, definition in (("ok", SUCCEED), ("bad", FAIL)):
        boto.client("stepfunctions").create_state_machine(
            name=names.state_machine(job),
            definition=json.dumps(definition),
            roleArn="arn:aws:iam::123456789012:role/t-sfn",
        )
    for job, state, code in (("ok", "SUCCEEDED", 0), ("bad", "FAILED", 1)):
        result = run(config, "submit", job, "--direct", "--wait", "--body", "{}")
        assert result.exit_code == code, result.output
        assert result.stderr.count(state) == 1, result.stderr


def test_run_ids_complete_from_the_account(aws_env: str, boto: Any, tmp_path: Path) -> None:
    name = f"t{uuid4().hex[:8]}"
    config = tmp_path / "jobs.yaml"
    config.write_text(PROJECT.format(name=name))
    names = Names(project=name, stage="dev", ctx=AwsContext(account_id="123456789012", region="eu-west-1"))
    sfn = boto.client("stepfunctions")
    arn = sfn.create_state_machine(
        name=names.state_machine("ok"),
        definition=json.dumps(SUCCEED),
        roleArn="arn:aws:iam::123456789012:role/t",
    )["stateMachineArn"]
    for run_id in ("r-one", "r-two", "other"):
        sfn.start_execution(stateMachineArn=arn, name=run_id, input=json.dumps({"body": "{}", "id": run_id}))
    for line, cword in (
        (f"batchctl -c {config} retry r-", 4),
        (f"batchctl -c {config} logs tail ok --run r-", 7),
    ):
        result = CliRunner().invoke(
            app,
            [],
            prog_name="batchctl",
            env={"_BATCHCTL_COMPLETE": "complete_bash", "COMP_WORDS": line, "COMP_CWORD": str(cword)},
        )
        assert result.exit_code == 0, result.output
        assert sorted(result.stdout.split()) == ["r-one", "r-two"], result.output
