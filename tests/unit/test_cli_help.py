"""Help that reads well: a flag takes no value, so it shows no `<bool>` (or `<int>`, for -v) placeholder."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from batchctl.cli.app import app
from batchctl.cli.commands import COMMANDS, load_command

ENV = {"COLUMNS": "200", "NO_COLOR": "1"}


def every_command() -> list[list[str]]:
    found: list[list[str]] = [[]]
    for name in sorted(COMMANDS):
        sub = getattr(load_command(name), "commands", None)
        found += [[name, s] for s in sorted(sub)] if sub else [[name]]
    return found


@pytest.mark.parametrize("command", every_command(), ids=lambda c: " ".join(c) or "batchctl")
def test_help_shows_no_placeholder_for_a_flag(command: list[str]) -> None:
    result = CliRunner().invoke(app, [*command, "--help"], env=ENV)
    assert result.exit_code == 0, result.output
    assert "--help" in result.stdout
    assert "<bool>" not in result.stdout
    counters = [line for line in result.stdout.splitlines() if "--verbose" in line]  # -v, -vv: a count
    assert all("<int>" not in line for line in counters), counters
