"""The typer app: the root group and its callback. The global options (also accepted after the command, see
options.py), the one error guard every command runs in (`reporting`, entered by the callback), and the commands of
commands.py, each loaded when used.

Startup is part of the interface (DESIGN §7: `--help` ≤ 150 ms, `validate` ≤ 400 ms): this module imports only typer
and stdlib; a command's module loads only when that command runs or shows its own help (`batchctl --help` lists the
commands from SUMMARIES), and rich (beyond typer's own help), pydantic, boto3 and docker load inside the commands
that use them.
"""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import typer
from typer.core import TyperCommand, TyperGroup

from batchctl import __version__
from batchctl.cli.commands import COMMANDS, SUMMARIES, load_command
from batchctl.cli.context import CliState, reporting
from batchctl.cli.options import flags_without_type, globals_first
from batchctl.cli.usage import click_usage_errors
from batchctl.errors import UsageError


class LazyGroup(TyperGroup):
    """The root group: commands are listed from SUMMARIES and loaded only when one runs or shows its help; the
    global options given after the command move in front of it before parsing (`plan -o json`)."""

    _listing = False

    def __init__(self, **attrs: Any) -> None:
        super().__init__(**attrs)
        self._loaded: dict[str, Any] = {}

    def list_commands(self, ctx: Any) -> list[str]:
        return [*super().list_commands(ctx), *COMMANDS]

    def get_command(self, ctx: Any, cmd_name: str) -> Any:
        if cmd_name not in COMMANDS:
            return super().get_command(ctx, cmd_name)
        if self._listing:
            return TyperCommand(name=cmd_name, help=SUMMARIES[cmd_name])
        if cmd_name not in self._loaded:
            self._loaded[cmd_name] = load_command(cmd_name)
        return self._loaded[cmd_name]

    def format_help(self, ctx: Any, formatter: Any) -> None:
        self._listing = True
        try:
            super().format_help(ctx, formatter)
        finally:
            self._listing = False

    def parse_args(self, ctx: Any, args: list[str]) -> list[str]:
        def command(name: str) -> Any:
            return self.get_command(ctx, name) if name in COMMANDS else None

        return super().parse_args(ctx, globals_first(args, root=self.params, command=command))

    def make_context(self, *args: Any, **extra: Any) -> Any:
        with click_usage_errors():
            return super().make_context(*args, **extra)

    def invoke(self, ctx: Any) -> Any:
        with click_usage_errors():
            return super().invoke(ctx)


flags_without_type()


class OutputFormat(StrEnum):
    """--output choices; the same values as `ui.Output`, which is not imported for `--help`."""

    TEXT = "text"
    JSON = "json"


app = typer.Typer(
    name="batchctl",
    cls=LazyGroup,
    no_args_is_help=True,
    pretty_exceptions_show_locals=False,
    add_completion=True,  # --install-completion, --show-completion; JOB and RUN complete (cli/complete.py)
    help="Reconcile the AWS Batch jobs declared in jobs.yaml: deploy, submit, logs, destroy.",
)


def _show_version(value: bool) -> None:
    if value:
        typer.echo(f"batchctl {__version__}")
        raise typer.Exit()


@app.callback()
def main(
    ctx: typer.Context,
    config: Annotated[
        Path, typer.Option("--config", "-c", envvar="BATCHCTL_CONFIG", help="Path to jobs.yaml.")
    ] = Path("jobs.yaml"),
    stage: Annotated[
        str | None, typer.Option("--stage", envvar="BATCHCTL_STAGE", help="Override the stage of jobs.yaml.")
    ] = None,
    profile: Annotated[str | None, typer.Option("--profile", help="AWS profile to use.")] = None,
    region: Annotated[str | None, typer.Option("--region", help="AWS region (overrides jobs.yaml).")] = None,
    endpoint_url: Annotated[
        str | None, typer.Option("--endpoint-url", help="Send AWS calls here (e.g. the sandbox).")
    ] = None,
    output: Annotated[OutputFormat, typer.Option("--output", "-o", help="text or json.")] = OutputFormat.TEXT,
    verbose: Annotated[
        int, typer.Option("--verbose", "-v", count=True, help="-v: AWS calls; -vv: botocore.")
    ] = 0,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="Only results and errors.")] = False,
    no_color: Annotated[bool, typer.Option("--no-color", help="No colors.")] = False,
    debug: Annotated[bool, typer.Option("--debug", envvar="BATCHCTL_DEBUG", hidden=True)] = False,
    version: Annotated[
        bool, typer.Option("--version", callback=_show_version, is_eager=True, help="Show the version.")
    ] = False,
) -> None:
    """Reconcile the AWS Batch jobs declared in jobs.yaml."""
    from batchctl.ui import Output, Ui

    ui = Ui.create(
        output=Output(output.value), verbosity=-1 if quiet else verbose, color=not no_color, debug=debug
    )
    ctx.obj = CliState(
        config_path=config, ui=ui, stage=stage, profile=profile, region=region, endpoint_url=endpoint_url
    )
    # The one error guard: the root context exits it with whatever the command (parsing included) raised.
    ctx.with_resource(reporting(ui))
    if quiet and verbose:
        raise UsageError("--quiet and --verbose cannot be combined", hint="give one of them")
