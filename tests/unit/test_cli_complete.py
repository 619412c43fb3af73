"""Shell completion: typer's --install-completion/--show-completion, job names from jobs.yaml for JOB arguments
(the global options before or after the command), and nothing, quietly, without a jobs.yaml or without AWS."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from batchctl.cli.app import app

EXAMPLE = Path(__file__).resolve().parents[2] / "jobs.yaml"


def complete(line: str, **env: str) -> tuple[int, list[str], str]:
    """What bash completion offers for `line` (completing its last word; a final space starts a new one)."""
    words = line.split()
    cword = len(words) if line.endswith(" ") else len(words) - 1
    result = CliRunner().invoke(
        app,
        [],
        prog_name="batchctl",
        env={
            "_BATCHCTL_COMPLETE": "complete_bash",
            "COMP_WORDS": line,
            "COMP_CWORD": str(cword),
            "AWS_ENDPOINT_URL": "http://127.0.0.1:9",
            **env,
        },
    )
    return result.exit_code, result.stdout.split(), result.stderr


@pytest.mark.parametrize(
    ("line", "offered"),
    [
        (f"batchctl -c {EXAMPLE} submit f", ["fibonacci"]),
        (f"batchctl submit -c {EXAMPLE} f", ["fibonacci"]),
        (f"batchctl -c {EXAMPLE} run ", ["daily-report", "etl", "fibonacci"]),
        (f"batchctl -c {EXAMPLE} status e", ["etl"]),
        (f"batchctl -c {EXAMPLE} logs tail d", ["daily-report"]),
        (f"batchctl -c {EXAMPLE} schedule pause da", ["daily-report"]),
        (f"batchctl -c {EXAMPLE} schedule resume x", []),
        (f"batchctl -c {EXAMPLE} deploy --job fi", ["fibonacci"]),
    ],
)
def test_job_arguments_complete_from_jobs_yaml(line: str, offered: list[str]) -> None:
    code, words, stderr = complete(line)
    assert code == 0, stderr
    assert words == offered


@pytest.mark.parametrize("content", [None, "", "jobs: [a, b]\n", "a: [unclosed\n", "\x00binary"])
def test_no_or_a_broken_jobs_yaml_completes_nothing_quietly(tmp_path: Path, content: str | None) -> None:
    config = tmp_path / "jobs.yaml"
    if content is not None:
        config.write_text(content)
    code, words, stderr = complete(f"batchctl -c {config} submit ")
    assert (code, words, stderr) == (0, [], "")


def test_run_ids_complete_to_nothing_without_aws() -> None:
    # Sockets are disabled in unit tests: the AWS call fails, completion offers nothing and prints nothing.
    code, words, stderr = complete(f"batchctl -c {EXAMPLE} retry ")
    assert (code, words, stderr) == (0, [], "")
    code, words, stderr = complete(f"batchctl -c {EXAMPLE} logs tail etl --run ")
    assert (code, words, stderr) == (0, [], "")


def test_completion_can_be_shown_and_installed(monkeypatch: pytest.MonkeyPatch) -> None:
    help_text = CliRunner().invoke(app, ["--help"], env={"COLUMNS": "200", "NO_COLOR": "1"}).stdout
    assert "--install-completion" in help_text
    assert "--show-completion" in help_text
    # By default typer takes the shell from the process tree (shellingham), so "bash" below would be ignored and
    # the answer would depend on how pytest was launched ("Shell  not supported." under a non-shell parent).
    # typer's own switch makes the options take the shell as their value, read when the command is built.
    monkeypatch.setenv("_TYPER_COMPLETE_TEST_DISABLE_SHELL_DETECTION", "1")
    shown = CliRunner().invoke(app, ["--show-completion", "bash"], prog_name="batchctl")
    assert shown.exit_code == 0, shown.output
    assert "_BATCHCTL_COMPLETE=complete_bash" in shown.stdout
