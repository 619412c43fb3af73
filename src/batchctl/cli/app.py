"""The typer app: global options (root callback) and the commands, one module each, loaded when used.

Startup is part of the interface (DESIGN §7: `--help` ≤ 150 ms, `validate` ≤ 400 ms): this module imports only typer
and stdlib; a command's module loads only when that command runs or shows its own help (`batchctl --help` lists the
commands from SUMMARIES), and rich (beyond typer's own help), pydantic, boto3 and docker load inside the commands
that use them.
"""

from __future__ import annotations

import importlib
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import typer
import typer.main
from typer.core import TyperCommand, TyperGroup

from batchctl import __version__
from batchctl.cli.context import CliState

# Command name → (module, attribute): a command function, or a Typer holding subcommands.
COMMANDS: dict[str, tuple[str, str]] = {
    "validate": ("batchctl.cli.validate", "validate"),
    "plan": ("batchctl.cli.plan", "plan"),
    "deploy": ("batchctl.cli.deploy", "deploy"),
    "destroy": ("batchctl.cli.destroy", "destroy"),
    "schema": ("batchctl.cli.schema", "schema"),
    "sandbox": ("batchctl.cli.sandbox", "sandbox"),
    "run": ("batchctl.cli.run", "run"),
    "init": ("batchctl.cli.init", "init"),
    "submit": ("batchctl.cli.submit", "submit"),
    "status": ("batchctl.cli.status", "status"),
    "retry": ("batchctl.cli.retry", "retry"),
    "image": ("batchctl.cli.image", "image_app"),
    "logs": ("batchctl.cli.logs", "logs_app"),
    "schedule": ("batchctl.cli.schedule", "schedule_app"),
}
# What `batchctl --help` lists for each command without loading it: its help text (a unit test keeps them equal).
SUMMARIES: dict[str, str] = {
    "validate": "Check jobs.yaml offline; exit 3 listing every problem with its line and column.",
    "plan": "Show what deploy would change (reads AWS, changes nothing).",
    "deploy": "Build and push the image, then create or update every resource of jobs.yaml, idempotently.",
    "destroy": "Delete every resource of this project and stage, dependents first.",
    "schema": "Print the JSON Schema of jobs.yaml (for editor completion and checks).",
    "sandbox": "Run an embedded AWS (moto) on 127.0.0.1 until Ctrl-C; point batchctl at it with AWS_ENDPOINT_URL.",
    "run": "Run a job's container locally with the command, environment and Ref:: substitution Batch would use.",
    "init": "Scaffold jobs.yaml, Dockerfile and job/ (one on-demand and one scheduled job) in an empty folder.",
    "submit": "Run a job now, through its queue (or --direct), and print the message or run id.",
    "status": "Recent runs: id, source, state, started, duration, Batch job ids.",
    "retry": "Re-run a failed run with its original input; prints the id of the run now going.",
    "image": "Build and push the job image.",
    "logs": "Container output of a job's runs.",
    "schedule": "Pause or resume a job's schedule.",
}


def load_command(name: str) -> Any:
    """The click command of `name`, built by typer from its module (imported now)."""
    module_name, attribute = COMMANDS[name]
    target = getattr(importlib.import_module(module_name), attribute)
    if isinstance(target, typer.Typer):
        group: Any = typer.main.get_group(target)  # as add_typer would: a group even with one subcommand
        group.name = name
        return group
    single = typer.Typer(add_completion=False)
    single.command(name)(target)
    return typer.main.get_command(single)


class LazyGroup(TyperGroup):
    """The root group: commands are listed from SUMMARIES and loaded only when one runs or shows its help."""

    _listing = False

    def list_commands(self, ctx: Any) -> list[str]:
        return [*super().list_commands(ctx), *COMMANDS]

    def get_command(self, ctx: Any, cmd_name: str) -> Any:
        if cmd_name not in COMMANDS:
            return super().get_command(ctx, cmd_name)
        if self._listing:
            return TyperCommand(name=cmd_name, help=SUMMARIES[cmd_name])
        return load_command(cmd_name)

    def format_help(self, ctx: Any, formatter: Any) -> None:
        self._listing = True
        try:
            super().format_help(ctx, formatter)
        finally:
            self._listing = False


class OutputFormat(StrEnum):
    """--output choices; the same values as `ui.Output`, which is not imported for `--help`."""

    TEXT = "text"
    JSON = "json"


app = typer.Typer(
    name="batchctl",
    cls=LazyGroup,
    no_args_is_help=True,
    pretty_exceptions_show_locals=False,
    add_completion=False,
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
    if quiet and verbose:
        raise typer.BadParameter("--quiet and --verbose cannot be combined")
    from batchctl.ui import Output, Ui

    ui = Ui.create(
        output=Output(output.value), verbosity=-1 if quiet else verbose, color=not no_color, debug=debug
    )
    ctx.obj = CliState(
        config_path=config, ui=ui, stage=stage, profile=profile, region=region, endpoint_url=endpoint_url
    )
