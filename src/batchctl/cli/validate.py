"""`batchctl validate`: load and check jobs.yaml offline (no credentials, no AWS call)."""

from __future__ import annotations

import typer

from batchctl.cli.context import CliState


def validate(ctx: typer.Context) -> None:
    """Check jobs.yaml offline; exit 3 listing every problem with its line and column."""
    from batchctl import build, graph
    from batchctl.naming import AwsContext

    state: CliState = ctx.obj
    cfg = state.config()
    specs = graph.order(build.build_specs(cfg, AwsContext.placeholder(cfg.region or "us-east-1")))
    state.ui.emit(
        {
            "valid": True,
            "project": cfg.project,
            "stage": cfg.stage,
            "jobs": sorted(cfg.jobs),
            "resources": len(specs),
        },
        f"{state.config_path}: valid ({len(cfg.jobs)} job(s), {len(specs)} resources for "
        f"{cfg.project}/{cfg.stage})",
    )
