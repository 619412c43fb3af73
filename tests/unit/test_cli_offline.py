"""CLI commands that work offline: validate, schema, --version, and the global options' usage error."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from batchctl.cli.app import app

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "jobs.yaml"
ENV = {"COLUMNS": "200", "NO_COLOR": "1"}

BAD = """\
version: 1
project: demo
stage: dev
compute: {type: FARGATE, max_vcpus: 4}
jobs:
  fib:
    command: [python, x.py, Ref::bodyy]
    vcpu: 2
    memory_mib: 3000
    schedule: {cron: "30 21 * * *", timezone: Asia/Tokio}
"""


def test_validate_example_exits_zero() -> None:
    result = CliRunner().invoke(app, ["-c", str(EXAMPLE), "validate"], env=ENV)
    assert result.exit_code == 0, result.output
    assert "valid (3 job(s)" in result.stdout


def test_validate_json_output_is_versioned() -> None:
    result = CliRunner().invoke(app, ["-c", str(EXAMPLE), "-o", "json", "validate"], env=ENV)
    doc = json.loads(result.stdout)
    assert doc["version"] == 1
    assert doc["valid"] is True
    assert doc["jobs"] == ["daily-report", "etl", "fibonacci"]


def test_five_mistakes_give_five_positioned_lines_and_exit_3(tmp_path: Path) -> None:
    path = tmp_path / "jobs.yaml"
    path.write_text(BAD)
    result = CliRunner().invoke(app, ["-c", str(path), "validate"], env=ENV)
    assert result.exit_code == 3
    positioned = [line for line in result.stderr.splitlines() if line.startswith(f"{path}:")]
    assert len(positioned) == 5, result.stderr
    assert f"{path}:8:5: jobs.fib.vcpu: unknown key 'vcpu'" in result.stderr
    assert "Traceback" not in result.output


def test_missing_config_exits_3_with_a_hint(tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["-c", str(tmp_path / "nope.yaml"), "validate"], env=ENV)
    assert result.exit_code == 3
    assert "error:" in result.stderr
    assert "hint:" in result.stderr
    assert "Traceback" not in result.output


@pytest.mark.parametrize("content", ["", "- a\n- b\n", "\x00\x01\x02binary", "a: [unclosed\n"])
def test_broken_files_exit_3_without_traceback(tmp_path: Path, content: str) -> None:
    path = tmp_path / "jobs.yaml"
    path.write_text(content)
    result = CliRunner().invoke(app, ["-c", str(path), "validate"], env=ENV)
    assert result.exit_code == 3, result.output
    assert "Traceback" not in result.output


def test_schema_prints_the_json_schema() -> None:
    result = CliRunner().invoke(app, ["schema"], env=ENV)
    assert result.exit_code == 0
    schema = json.loads(result.stdout)
    assert "jobs" in schema["properties"]


def test_quiet_and_verbose_together_is_a_usage_error() -> None:
    result = CliRunner().invoke(app, ["-q", "-v", "validate"], env=ENV)
    assert result.exit_code == 2


def test_version() -> None:
    result = CliRunner().invoke(app, ["--version"], env=ENV)
    assert result.exit_code == 0
    assert result.stdout.startswith("batchctl ")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ["run", "fibonacci"],
            "error: `batchctl run` runs a job on the local Docker engine and needs --local",
        ),
        (
            ["run", "fibonacci", "--local", "--body", "x", "--body-file", "y"],
            "error: give --body or --body-file",
        ),
        (["submit", "fibonacci"], "error: give exactly one of --body and --body-file"),
        (["validate", "-q", "-v"], "error: --quiet and --verbose cannot be combined"),
    ],
)
def test_usage_errors_exit_2_with_one_error_line(args: list[str], message: str) -> None:
    result = CliRunner().invoke(app, ["-c", str(EXAMPLE), *args], env=ENV)
    assert result.exit_code == 2, result.output
    assert message in result.stderr
    assert "Traceback" not in result.output


def test_global_options_after_the_command_give_the_same_document() -> None:
    before = CliRunner().invoke(app, ["-c", str(EXAMPLE), "-o", "json", "--stage", "qa", "validate"], env=ENV)
    after = CliRunner().invoke(app, ["validate", "--stage", "qa", "-c", str(EXAMPLE), "-o", "json"], env=ENV)
    assert before.exit_code == after.exit_code == 0, after.output
    assert json.loads(before.stdout)["stage"] == "qa"
    assert after.stdout == before.stdout
