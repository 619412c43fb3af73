"""The root command loads each command's module only when that command is used; `--help` lists them from
SUMMARIES, which must stay equal to the commands' own help."""

from __future__ import annotations

import subprocess
import sys

import pytest

from batchctl.cli import app as app_module


@pytest.mark.parametrize("name", sorted(app_module.COMMANDS))
def test_each_summary_is_the_commands_own_help(name: str) -> None:
    command = app_module.load_command(name)
    assert command.name == name
    assert (command.help or "").strip() == app_module.SUMMARIES[name]


def test_summaries_cover_exactly_the_commands() -> None:
    assert set(app_module.SUMMARIES) == set(app_module.COMMANDS)


def test_help_loads_no_command_module_and_no_heavy_library() -> None:
    probe = (
        "import sys\n"
        "sys.argv = ['batchctl', '--help']\n"
        "from batchctl.cli import main\n"
        "try:\n"
        "    main()\n"
        "except SystemExit:\n"
        "    pass\n"
        "loaded = sorted(m for m in sys.modules if m.startswith(('batchctl.', 'boto3', 'botocore', 'docker', "
        "'pydantic')))\n"
        "print(' '.join(loaded), file=sys.stderr)\n"
    )
    result = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    loaded = set(result.stderr.split())
    startup = {"batchctl.cli", "batchctl.cli.app", "batchctl.cli.commands", "batchctl.cli.context"}
    assert loaded <= startup | {"batchctl.cli.options", "batchctl.cli.usage", "batchctl.errors"}, loaded
