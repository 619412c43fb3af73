"""`batchctl export cloudformation` end to end: the literal command on the example and on every export matrix config
(exit 0, one JSON template on stdout that cfn-lint finds no error in), offline; bad inputs give one error line with a
hint, the documented exit code and no traceback."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from cfnlint.api import ManualArgs, lint
from typer.testing import CliRunner

import batchctl.image  # noqa: F401  (imported while sockets are on: urllib3 probes IPv6 with a socket on import)
from batchctl.cli.app import app
from batchctl.errors import ExitCode

ROOT = Path(__file__).resolve().parents[2]
MATRIX = [ROOT / "jobs.yaml", *sorted((ROOT / "tests" / "data" / "export").glob("*.yaml"))]
ENV = {"COLUMNS": "200", "NO_COLOR": "1"}
BATCHCTL = str(Path(sys.executable).with_name("batchctl"))


@pytest.mark.parametrize("path", MATRIX, ids=lambda p: p.stem)
def test_export_cloudformation_redirected_to_a_file(path: Path, tmp_path: Path) -> None:
    # The literal command, run where the config lives: `batchctl export cloudformation > t.json`.
    out = tmp_path / "t.json"
    with out.open("w") as stdout:
        done = subprocess.run(
            [BATCHCTL, "-c", path.name, "export", "cloudformation"],
            cwd=path.parent,
            stdout=stdout,
            stderr=subprocess.PIPE,
            text=True,
            check=False,
            env={"PATH": "/usr/bin:/bin", "NO_COLOR": "1", "HOME": str(tmp_path)},  # no credentials at all
        )
    assert done.returncode == 0, done.stderr
    template = json.loads(out.read_text())
    assert template["Resources"]
    errors = [
        m for m in lint(out.read_text(), config=ManualArgs(regions=["us-east-1"])) if m.rule.id[0] == "E"
    ]
    assert errors == []


def test_export_is_offline_and_warns_on_stderr(tmp_path: Path) -> None:
    # Unit tests run with sockets disabled: any AWS call would fail this test.
    out = tmp_path / "stack.yaml"
    argv = ["-c", str(ROOT / "jobs.yaml"), "export", "cloudformation", "--format", "yaml", "--out", str(out)]
    result = CliRunner().invoke(app, argv, env=ENV)
    assert result.exit_code == 0, result.output
    assert result.stdout == ""
    assert "warning: image:" in result.stderr
    assert out.read_text().startswith("AWSTemplateFormatVersion:")


def test_the_global_stage_option_after_the_command_names_the_stage() -> None:
    argv = ["-c", str(ROOT / "jobs.yaml"), "export", "cloudformation", "--stage", "prod"]
    result = CliRunner().invoke(app, argv, env=ENV)
    assert result.exit_code == 0, result.output
    names = {r["Properties"].get("RoleName") for r in json.loads(result.stdout)["Resources"].values()}
    assert "demo-prod-execution" in names


@pytest.mark.parametrize(
    ("extra", "code", "message"),
    [
        (["--format", "xml"], ExitCode.USAGE, "error: --format xml: unknown format"),
        (
            ["--out", "/nonexistent/folder/t.json"],
            ExitCode.USAGE,
            "error: --out /nonexistent/folder/t.json: cannot",
        ),
    ],
)
def test_bad_options_are_one_error_line(extra: list[str], code: ExitCode, message: str) -> None:
    result = CliRunner().invoke(
        app, ["-c", str(ROOT / "jobs.yaml"), "export", "cloudformation", *extra], env=ENV
    )
    assert result.exit_code == code
    errors = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1
    assert errors[0].startswith(message)
    assert "Traceback" not in result.output


def test_an_invalid_jobs_yaml_exits_with_the_config_code(tmp_path: Path) -> None:
    path = tmp_path / "jobs.yaml"
    path.write_text("version: 1\nproject: demo\nstage: dev\njobs:\n  hello:\n    vcpus: 0\n")
    result = CliRunner().invoke(app, ["-c", str(path), "export", "cloudformation"], env=ENV)
    assert result.exit_code == ExitCode.CONFIG
    assert "jobs.yaml:6:" in result.stderr
    assert "Traceback" not in result.output
    assert result.stdout == ""
