"""Global options after the command move in front of it (cli/options.py), in every form click accepts, while a
command's own options and their values stay where they are."""

from __future__ import annotations

from typing import Annotated, Any

import pytest
import typer.main

from batchctl.cli.app import app
from batchctl.cli.commands import COMMANDS, load_command
from batchctl.cli.options import globals_first

ROOT = typer.main.get_command(app).params


def command(name: str) -> Any:
    return load_command(name) if name in COMMANDS else None


@pytest.mark.parametrize(
    ("given", "parsed"),
    [
        (["plan", "-o", "json"], ["-o", "json", "plan"]),
        (["plan", "--output=json", "-vv"], ["--output=json", "-vv", "plan"]),
        (["plan", "-ojson", "--check"], ["-ojson", "plan", "--check"]),
        (
            ["-c", "a.yaml", "status", "--stage", "prod", "--limit", "3"],
            ["-c", "a.yaml", "--stage", "prod", "status", "--limit", "3"],
        ),
        (["deploy", "--no-color", "-v", "--yes"], ["--no-color", "-v", "deploy", "--yes"]),
        (
            ["logs", "tail", "etl", "-f", "--region", "eu-west-1"],
            ["--region", "eu-west-1", "logs", "tail", "etl", "-f"],
        ),
        (["schedule", "pause", "daily", "-q"], ["-q", "schedule", "pause", "daily"]),
        (["plan", "--help", "-q"], ["-q", "plan", "--help"]),
    ],
)
def test_global_options_after_the_command_move_in_front_of_it(given: list[str], parsed: list[str]) -> None:
    assert globals_first(given, root=ROOT, command=command) == parsed


@pytest.mark.parametrize(
    "given",
    [
        ["submit", "fib", "--body", "-v"],  # the value of the command's own --body
        ["submit", "fib", "--body-file", "-", "--direct"],
        ["run", "fib", "--", "-q"],  # after `--` nothing is an option
        ["nope", "-q"],  # not a command: click says so
        ["--help"],
        ["-c", "a.yaml"],
        [],
    ],
)
def test_everything_else_stays_where_it_is(given: list[str]) -> None:
    assert globals_first(given, root=ROOT, command=command) == given


def test_an_option_the_command_defines_itself_stays_its_own() -> None:
    sub = typer.Typer()

    @sub.command("tail")
    def tail(quiet: Annotated[bool, typer.Option("--quiet", "-q")] = False) -> None: ...

    group = typer.main.get_group(sub)
    given = ["logs", "tail", "-q", "--stage", "prod"]
    moved = globals_first(given, root=ROOT, command=lambda name: group if name == "logs" else None)
    assert moved == ["--stage", "prod", "logs", "tail", "-q"]
