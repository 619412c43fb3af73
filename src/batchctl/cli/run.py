"""`batchctl run JOB --local`: run a job's containers on the local Docker engine as Batch would, exiting with the
container's exit code. Remote runs are `batchctl submit`."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape

from batchctl.cli.context import reporting, state_of
from batchctl.errors import RunError, UsageError


def _read_body(body: str | None, body_file: str | None) -> str | None:
    if body_file is None:
        return body
    if body_file == "-":
        return sys.stdin.read()
    try:
        return Path(body_file).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise RunError(f"cannot read --body-file {body_file}: {exc}") from exc


def run(
    ctx: typer.Context,
    job: Annotated[str, typer.Argument(help="Job name from jobs.yaml.")],
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
    state = state_of(ctx)
    ui = state.ui
    if body is not None and body_file is not None:
        raise typer.BadParameter("give --body or --body-file, not both", param_hint="'--body-file'")
    output: list[str] = []

    def on_output(line: str) -> None:
        if ui.is_json:
            output.append(line)
        else:
            sys.stdout.write(line + "\n")
            sys.stdout.flush()

    with reporting(ui):
        if not local:
            raise UsageError(
                "`batchctl run` runs a job on the local Docker engine and needs --local",
                hint=f"to run it on AWS Batch, use `batchctl submit {job}`",
            )
        from batchctl.image import ImageBuilder
        from batchctl.local import run_local

        cfg = state.config()
        text = _read_body(body, body_file)
        code = run_local(
            cfg,
            job,
            body=text,
            project_dir=state.config_path.parent,
            engine=ImageBuilder(),
            on_output=on_output,
            on_progress=lambda line: ui.info(escape(line)),
            on_warning=ui.warn,
        )
        if ui.is_json:
            ui.json({"job": job, "exit_code": code, "output": output})
        elif code != 0:
            ui.info(f"job {escape(job)} exited with {code}")
    raise typer.Exit(code)
