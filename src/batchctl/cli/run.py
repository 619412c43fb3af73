"""`batchctl run JOB --local`: run a job's containers on the local Docker engine as Batch would, exiting with the
container's exit code. Remote runs are `batchctl submit`."""

from __future__ import annotations

import sys
from typing import Annotated

import typer
from rich.markup import escape

from batchctl.cli.body import read_body
from batchctl.cli.complete import complete_job
from batchctl.cli.context import CliState
from batchctl.errors import UsageError


def run(
    ctx: typer.Context,
    job: Annotated[str, typer.Argument(help="Job name from jobs.yaml.", autocompletion=complete_job)],
    local: Annotated[
        bool,
        typer.Option("--local", help="Run on the local Docker engine (required: remote runs are `submit`)."),
    ] = False,
    body: Annotated[
        str | None, typer.Option("--body", help="Message body: Ref::body in the command, BATCHCTL_BODY.")
    ] = None,
    body_file: Annotated[
        str | None, typer.Option("--body-file", help="Read the body from FILE (- for stdin).")
    ] = None,
) -> None:
    """Run a job's container locally with the command, environment and Ref:: substitution Batch would use."""
    state: CliState = ctx.obj
    ui = state.ui
    if body is not None and body_file is not None:
        raise UsageError(
            "give --body or --body-file, not both", hint="--body TEXT, or --body-file FILE (- for stdin)"
        )
    if not local:
        raise UsageError(
            "`batchctl run` runs a job on the local Docker engine and needs --local",
            hint=f"to run it on AWS Batch, use `batchctl submit {job}`",
        )
    from batchctl.image import ImageBuilder
    from batchctl.local import run_local

    output: list[str] = []

    def on_output(line: str) -> None:
        if ui.is_json:
            output.append(line)
        else:
            sys.stdout.write(line + "\n")
            sys.stdout.flush()

    code = run_local(
        state.config(),
        job,
        body=read_body(body, body_file),
        project_dir=state.project_dir,
        engine=ImageBuilder(),
        on_output=on_output,
        on_progress=lambda line: ui.info(escape(line)),
        on_warning=ui.warn,
    )

    def exited() -> None:
        if code != 0:
            ui.info(f"job {escape(job)} exited with {code}")

    ui.emit({"job": job, "exit_code": code, "output": output}, exited)
    raise typer.Exit(code)
