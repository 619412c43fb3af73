"""`batchctl validate`: load and check jobs.yaml offline (no credentials, no AWS call)."""

from __future__ import annotations

import typer

from batchctl.cli.context import reporting, state_of


def validate(ctx: typer.Context) -> None:
    """Check jobs.yaml offline; exit 3 listing every problem with its line and column."""
    state = state_of(ctx)
    ui = state.ui
    with reporting(ui):
        from batchctl import build, graph
        from batchctl.naming import AwsContext

        cfg = state.config()
        specs = graph.order(build.build_specs(cfg, AwsContext.placeholder(cfg.region or "us-east-1")))
        if ui.is_json:
            ui.json(
                {
                    "valid": True,
                    "project": cfg.project,
                    "stage": cfg.stage,
                    "jobs": sorted(cfg.jobs),
                    "resources": len(specs),
                }
            )
        else:
            ui.result(
                f"{state.config_path}: valid ({len(cfg.jobs)} job(s), {len(specs)} resources for "
                f"{cfg.project}/{cfg.stage})"
            )
