"""The typer app: global options (root callback) and the command modules, registered one by one.

Startup is part of the interface (DESIGN §7: `--help` ≤ 150 ms, `validate` ≤ 400 ms): this module and the command
modules import only typer and stdlib at the top; rich (beyond typer's own help), pydantic, boto3 and docker load
inside the commands that use them.
"""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

from batchctl import __version__
from batchctl.cli import (
    deploy,
    destroy,
    logs,
    plan,
    retry,
    sandbox,
    schedule,
    schema,
    status,
    submit,
    validate,
)
from batchctl.cli import image as image_cli
from batchctl.cli import init as init_cli
from batchctl.cli import run as run_cli
from batchctl.cli.context import CliState


class OutputFormat(StrEnum):
    """--output choices; the same values as `ui.Output`, which is not imported for `--help`."""

    TEXT = "text"
    JSON = "json"


app = typer.Typer(
    name="batchctl",
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


app.command("validate")(validate.validate)
app.command("plan")(plan.plan)
app.command("deploy")(deploy.deploy)
app.command("destroy")(destroy.destroy)
app.command("schema")(schema.schema)
app.command("sandbox")(sandbox.sandbox)
app.add_typer(image_cli.image_app, name="image")
app.command("run")(run_cli.run)
app.command("init")(init_cli.init)
app.command("submit")(submit.submit)
app.command("status")(status.status)
app.command("retry")(retry.retry)
app.add_typer(logs.logs_app, name="logs")
app.add_typer(schedule.schedule_app, name="schedule")
