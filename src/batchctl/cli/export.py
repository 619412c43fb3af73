"""`batchctl export cloudformation`: every resource `deploy` creates, as one CloudFormation template (offline: no
credentials, no AWS call, no Docker)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape

from batchctl.cli.context import CliState

export_app = typer.Typer(help="Export the stage's resources for another tool.", no_args_is_help=True)


@export_app.command("cloudformation")
def cloudformation(
    ctx: typer.Context,
    fmt: Annotated[str, typer.Option("--format", "-f", help="json or yaml.")] = "json",
    out: Annotated[
        Path | None, typer.Option("--out", help="Write the template here instead of stdout.")
    ] = None,
) -> None:
    """Print a CloudFormation template of every resource deploy creates; what it cannot express goes to stderr."""
    from batchctl import __version__
    from batchctl.errors import UsageError
    from batchctl.export import FORMATS, build_template, render

    state: CliState = ctx.obj
    ui = state.ui
    if fmt not in FORMATS:
        raise UsageError(f"--format {fmt}: unknown format", hint=f"use one of: {', '.join(FORMATS)}")
    cfg = state.config()
    tag = None
    if not cfg.image.uri:
        from batchctl.image import image_tag  # content-derived, as deploy computes it; needs no Docker engine

        tag = image_tag(cfg, state.project_dir)
    exported = build_template(cfg, image_tag=tag, config_path=str(state.config_path), version=__version__)
    text = render(exported.template, fmt)
    for warning in exported.warnings:
        ui.warn(warning)
    if out is None:
        typer.echo(text, nl=False)
        return
    try:
        out.write_text(text, encoding="utf-8")
    except OSError as exc:
        raise UsageError(
            f"--out {out}: cannot write the template ({exc.strerror or exc})",
            hint="name a file in a folder that exists and that you may write to",
        ) from exc
    count = len(exported.template["Resources"])
    ui.info(escape(f"wrote {out}: {count} CloudFormation resources for {cfg.project}/{cfg.stage}"))
