"""`batchctl init [DIR]`: scaffold a new project in an empty folder."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from batchctl.cli.context import reporting, state_of


def init(
    ctx: typer.Context,
    directory: Annotated[Path, typer.Argument(help="Folder to scaffold (created if missing).")] = Path("."),
    project: Annotated[
        str | None, typer.Option("--project", help="Project name (default: the folder's).")
    ] = None,
) -> None:
    """Scaffold jobs.yaml, Dockerfile and job/ (one on-demand and one scheduled job) in an empty folder."""
    ui = state_of(ctx).ui
    with reporting(ui):
        from batchctl.config import load_config
        from batchctl.scaffold import scaffold

        written = scaffold(directory, project=project)
        cfg = load_config(directory / "jobs.yaml")  # what we write must validate
        if ui.is_json:
            ui.json({"project": cfg.project, "files": [str(p) for p in written]})
            return
        for path in written:
            ui.result(f"created {path}")
        where = "" if directory.resolve() == Path.cwd() else f"cd {directory} && "
        ui.info(f"Next: {where}batchctl validate && batchctl plan")
