"""Secrets never appear in output (DESIGN §8): with fake credentials that include a session token, and a secret ARN
in jobs.yaml, every command's stdout and stderr at -vv (botocore's own DEBUG logging on) and with -o json carry
neither the secret access key nor the session token, not even in part; job definitions hold the secret only as a
`valueFrom` reference, never as an environment value.

Not run here: `image build|push` and `run --local` (they need Docker; tests/integration/test_image.py and
test_local_run.py cover them) and `sandbox` (it starts a server).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from batchctl.cli import submit as submit_command
from batchctl.cli.app import app
from tests.reliability_support import ENV, example_text, leftovers, write_project

SECRET_KEY = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYzSecretKeyNeverShown"
SESSION_TOKEN = "IQoJb3JpZ2luX2VjEXAMPLEsessionTOKENneverSHOWN/0123456789+abcdefghijklmnopqrstuv=="
SECRET_ARN = "arn:aws:secretsmanager:eu-west-1:123456789012:secret:/demo/db-AbCdEf"
WITH_SECRET = {
    "    environment:\n      LOG_LEVEL: info\n": (
        f"    environment:\n      LOG_LEVEL: info\n    secrets:\n      DB_PASSWORD: {SECRET_ARN}\n"
    )
}
VARIANTS = (("-vv",), ("-vv", "-o", "json"))


def fragments(secret: str, size: int = 12) -> list[str]:
    """Every `size`-character piece of a secret: a partial leak (a truncated log line) is a leak too."""
    return [secret[i : i + size] for i in range(len(secret) - size + 1)]


LEAKS = fragments(SECRET_KEY) + fragments(SESSION_TOKEN)


@pytest.fixture
def credentials(aws_env: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "ASIAFAKEACCESSKEY123")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", SECRET_KEY)
    monkeypatch.setenv("AWS_SESSION_TOKEN", SESSION_TOKEN)
    monkeypatch.setattr(submit_command, "POLL_S", 0.05)
    # -vv sets up the process-wide botocore and batchctl loggers (a CLI process runs one command); undo it so
    # later tests in this worker do not log every request.
    saved = [
        (log, log.level, log.handlers[:], log.propagate)
        for log in map(logging.getLogger, ("botocore", "batchctl"))
    ]
    yield
    for log, level, handlers, propagate in saved:
        log.setLevel(level)
        log.handlers[:] = handlers
        log.propagate = propagate


class Runs:
    """Runs commands in every variant and keeps each one's whole output."""

    def __init__(self, config: Path) -> None:
        self.config = config
        self.outputs: dict[str, str] = {}

    def __call__(self, *args: str, variants: tuple[tuple[str, ...], ...] = VARIANTS, ok: bool = True) -> Any:
        result: Any = None
        for flags in variants:
            command = [*flags, "-c", str(self.config), *args]
            result = CliRunner().invoke(app, command, env=ENV)
            label = " ".join(command)
            self.outputs[label] = result.stdout + result.stderr
            assert "Traceback" not in self.outputs[label], label
            if ok:
                assert result.exit_code == 0, (label, result.output)
        return result


def test_no_command_prints_the_secret_key_or_session_token(
    credentials: None, boto: Any, tmp_path: Path
) -> None:
    config = write_project(tmp_path, example_text(stage="secret", **WITH_SECRET))
    (tmp_path / "bodies.jsonl").write_text('{"n": 1}\n{"n": 2}\n')
    run = Runs(config)

    run("validate")
    run("schema")
    run("plan")
    run("deploy", "--yes", "--skip-image", variants=(("-vv",),))
    run("destroy", "--yes", variants=(("-vv", "-o", "json"),))
    run("deploy", "--yes", "--skip-image", variants=(("-vv", "-o", "json"),))
    run("plan", "--check")
    run("submit", "fibonacci", "--body", '{"n": 3}')
    run("submit", "fibonacci", "--body-file", str(tmp_path / "bodies.jsonl"))
    direct = run("submit", "fibonacci", "--direct", "--wait", "--body", '{"n": 4}')
    run("status")
    run("status", "fibonacci", "--failed")
    run("logs", "tail", "fibonacci", "--since", "1h")
    run("schedule", "pause", "daily-report")
    run("schedule", "resume", "daily-report")
    run("retry", json.loads(direct.stdout)["run_id"], ok=False)  # it succeeded: nothing to retry, an error
    run("retry", "no-such-run", ok=False)
    run("destroy", "--yes", variants=(("-vv",),))

    # The checks are real: botocore's DEBUG lines made it to the captured output.
    everything = "\n".join(run.outputs.values())
    assert "botocore" in everything
    assert everything.count("\n") > 1000
    assert len(run.outputs) >= 30
    leaks = {label: [f for f in LEAKS if f in text] for label, text in run.outputs.items()}
    assert {label: found for label, found in leaks.items() if found} == {}
    assert leftovers(boto, "demo", "secret") == []


def test_job_definitions_carry_secrets_only_as_value_from(
    credentials: None, boto: Any, tmp_path: Path
) -> None:
    config = write_project(tmp_path, example_text(stage="vf", **WITH_SECRET))
    planned = CliRunner().invoke(app, ["-c", str(config), "-o", "json", "plan"], env=ENV)
    assert planned.exit_code == 0, planned.output
    (definition,) = [
        c["attributes"]
        for c in json.loads(planned.stdout)["plan"]["changes"]
        if c["key"] == "batch.job_definition/demo-vf-fibonacci"
    ]
    assert definition["secrets"] == {"DB_PASSWORD": SECRET_ARN}
    assert "DB_PASSWORD" not in definition["environment"]

    deployed = CliRunner().invoke(app, ["-c", str(config), "deploy", "--yes", "--skip-image"], env=ENV)
    assert deployed.exit_code == 0, deployed.output
    found = boto.client("batch").describe_job_definitions(
        jobDefinitionName="demo-vf-fibonacci", status="ACTIVE"
    )
    (live,) = found["jobDefinitions"]
    container = live["containerProperties"]
    assert container["secrets"] == [{"name": "DB_PASSWORD", "valueFrom": SECRET_ARN}]
    assert "DB_PASSWORD" not in {e["name"] for e in container.get("environment", [])}
    # Only the execution role (which pulls the secret for the container) may read it.
    iam = boto.client("iam")
    readers = []
    for role in iam.list_roles()["Roles"]:
        for name in iam.list_role_policies(RoleName=role["RoleName"])["PolicyNames"]:
            document = iam.get_role_policy(RoleName=role["RoleName"], PolicyName=name)["PolicyDocument"]
            if SECRET_ARN in json.dumps(document):
                readers.append(role["RoleName"])
    assert readers == ["demo-vf-execution"]
    assert live["containerProperties"]["executionRoleArn"].endswith(":role/demo-vf-execution")
