"""Global options work after the command too: every command (each subcommand of a group too) run with the global
options before it and after it gives the same exit code, stdout and stderr, against one deployed stack."""

from __future__ import annotations

import re
import shutil
import signal
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from uuid import uuid4

from typer.testing import CliRunner

from batchctl.cli.app import app
from batchctl.cli.commands import COMMANDS, load_command

ENV = {"COLUMNS": "200", "NO_COLOR": "1"}
UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
PORT = re.compile(r"127\.0\.0\.1:\d+")
# A schedule whose next runs (shown by plan) do not move while the test runs.
CONFIG = """\
version: 1
project: {project}
stage: dev
image: {{uri: "public.ecr.aws/docker/library/python:3.12-slim"}}
notify: {{topic: false}}
jobs:
  fib:
    command: [python, fib.py, Ref::body]
    queue: {{}}
  daily:
    command: [python, report.py]
    schedule: {{cron: "0 0 1 1 ? 2099"}}
"""


@dataclass
class Case:
    """One invocation and its exit code; `between` runs after the first way, so the second starts from the same
    state."""

    args: list[str]
    code: int = 0
    between: Callable[[], Any] = field(default=lambda: None)


def outcome(result: Any) -> tuple[int, str, str]:
    def clean(text: str) -> str:
        return PORT.sub("127.0.0.1:PORT", UUID.sub("UUID", text))

    return result.exit_code, clean(result.stdout), clean(result.stderr)


def test_every_command_gives_the_same_result_with_global_options_before_or_after(
    aws_env: str, tmp_path: Path
) -> None:
    config = tmp_path / "jobs.yaml"
    config.write_text(CONFIG.format(project=f"t{uuid4().hex[:8]}"))
    scaffold = tmp_path / "scaffold"
    runner = CliRunner()
    global_options = ["-c", str(config), "--stage", "qa", "--region", "eu-west-1", "-o", "json", "-q"]
    global_options += ["--endpoint-url", aws_env, "--no-color"]

    def run(*args: str) -> Any:
        return runner.invoke(app, list(args), env=ENV)

    def deployed() -> None:
        result = run(*global_options, "deploy", "--yes")
        assert result.exit_code == 0, result.output

    deployed()
    cases = [
        Case(["validate"]),
        Case(["schema"]),
        Case(["init", str(scaffold), "--project", "fresh"], between=lambda: shutil.rmtree(scaffold)),
        Case(["plan", "--show-unchanged"]),
        Case(["deploy", "--yes"]),
        Case(["status", "--limit", "5"]),
        Case(["submit", "fib", "--body", "-v"]),  # -v is the body here, not --verbose
        Case(["retry", "no-such-run"], code=1),
        Case(["cancel", "fib", "--all"]),  # no run going: says so, exit 0
        Case(["logs", "tail", "fib", "--since", "1h"]),
        Case(
            ["schedule", "pause", "daily"],
            between=lambda: run(*global_options, "schedule", "resume", "daily"),
        ),
        Case(
            ["schedule", "resume", "daily"],
            between=lambda: run(*global_options, "schedule", "pause", "daily"),
        ),
        Case(["image", "build"], code=1),  # image.uri is set: nothing to build
        Case(["image", "push"], code=1),
        Case(["run", "fib", "--body", "x"], code=2),  # without --local: a usage error
        Case(["unlock", "--yes"]),  # no lock held: says so, exit 0
        Case(["outputs"]),  # its own -o (text, json, env) takes the global one's place after the command
        Case(["dlq", "fib", "--show", "1"]),  # the dead-letter queue is empty: the count
        Case(["export", "cloudformation"]),  # offline: the same template whichever side the options are on
        Case(["destroy", "--yes", "--parallelism", "1"], between=deployed),
    ]
    covered = {" ".join(case.args[:2]) if case.args[0] in GROUPS else case.args[0] for case in cases}
    assert covered | {"sandbox"} == every_command()

    differ = []
    for case in cases:
        before = outcome(run(*global_options, *case.args))
        case.between()
        after = outcome(run(*case.args, *global_options))
        if before != after or before[0] != case.code:
            differ.append(f"{' '.join(case.args)} (exit {case.code}):\n  before: {before}\n  after:  {after}")
    assert differ == [], "\n".join(differ)


def test_sandbox_gives_the_same_result_with_global_options_before_or_after() -> None:
    def run(*args: str) -> tuple[int, str, str]:
        process = subprocess.Popen(
            [sys.executable, "-m", "batchctl", *args],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        assert process.stdout is not None
        lines = []
        while (line := process.stdout.readline()) and line != "}\n":  # the JSON document, then it serves
            lines.append(line)
        process.send_signal(signal.SIGINT)
        rest, stderr = process.communicate(timeout=60)
        return process.returncode, PORT.sub("127.0.0.1:PORT", "".join(lines) + line + rest), stderr

    options = ["-o", "json", "-q", "--no-color"]
    before = run(*options, "sandbox", "--port", "0", "--no-docker")
    assert before[0] == 0, before
    assert '"endpoint_url": "http://127.0.0.1:PORT"' in before[1]
    assert run("sandbox", "--port", "0", "--no-docker", *options) == before


GROUPS = {name for name in COMMANDS if getattr(load_command(name), "commands", None)}


def every_command() -> set[str]:
    """Every command name, and `group sub` for each subcommand of a group."""
    names = set()
    for name in COMMANDS:
        subcommands = getattr(load_command(name), "commands", None)
        names |= {f"{name} {sub}" for sub in subcommands} if subcommands else {name}
    return names
