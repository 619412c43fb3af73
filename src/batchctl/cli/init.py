"""`batchctl init [DIR]`: scaffold a new project in an empty folder."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape

from batchctl.cli.context import CliState


def init(
    ctx: typer.Context,
    directory: Annotated[Path, typer.Argument(help="Folder to scaffold (created if missing).")] = Path("."),
    project: Annotated[
        str | None,
        typer.Option("--project", help="Project name (default: the folder's, when valid as it is)."),
    ] = None,
) -> None:
    """Scaffold jobs.yaml, Dockerfile and job/ (one on-demand and one scheduled job) in an empty folder."""
    from batchctl.config import load_config
    from batchctl.scaffold import scaffold

    state: CliState = ctx.obj
    ui = state.ui
    written = scaffold(directory, project=project)
    cfg = load_config(directory / "jobs.yaml")  # what we write must validate
    where = "" if directory.resolve() == Path.cwd() else f"cd {directory} && "

    def created() -> None:
        ui.info(
            escape(
                f"project {cfg.project}, stage {cfg.stage}: every AWS name starts {cfg.project}-{cfg.stage}"
            )
        )
        for path in written:
            ui.result(escape(f"created {path}"))
        ui.info(escape(f"Next: {where}batchctl validate && batchctl plan"))

    ui.emit({"project": cfg.project, "files": [str(p) for p in written]}, created)
