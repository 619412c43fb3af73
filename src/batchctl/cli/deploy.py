"""`batchctl deploy`: apply exactly the plan that `plan` shows."""

from __future__ import annotations

import threading
from typing import Annotated

import typer

from batchctl.cli.context import confirm_or_exit, reporting, state_of
from batchctl.cli.plan import ParallelismOption, prepare
from batchctl.errors import ExitCode


def deploy(
    ctx: typer.Context,
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Apply without asking.")] = False,
    skip_image: Annotated[
        bool, typer.Option("--skip-image", help="Do not build and push the image.")
    ] = False,
    allow_replace: Annotated[
        bool, typer.Option("--allow-replace", help="Allow deleting and recreating resources.")
    ] = False,
    parallelism: ParallelismOption = 16,
) -> None:
    """Create or update every resource of jobs.yaml, idempotently."""
    state = state_of(ctx)
    ui = state.ui
    with reporting(ui):
        from batchctl import engine

        cfg = state.config()
        if not skip_image and not cfg.image.uri:
            ui.warn(
                "building and pushing the image is not available yet: job definitions point at "
                "the stage repository's :latest tag (push it yourself, or set image.uri)"
            )
        prepared = prepare(state, parallelism=parallelism)
        plan = prepared.plan
        engine.check_replacements(plan, allow_replace=allow_replace)
        if not plan.has_changes:
            if ui.is_json:
                ui.json({"plan": plan.to_dict(), "result": {"done": [], "failed": [], "not_started": []}})
            else:
                ui.info("No changes: everything is up to date.")
            return
        if not ui.is_json:
            ui.render_plan(plan)
        confirm_or_exit(ui, question="Apply these changes?", yes=yes)
        stop = threading.Event()
        with ui.status(f"applying {len(plan.pending)} change(s)"):
            result = engine.apply(
                plan,
                prepared.provisioners,
                observed=prepared.observed,
                parallelism=parallelism,
                allow_replace=allow_replace,
                on_event=ui.render_event,
                stop=stop,
            )
        if ui.is_json:
            ui.json({"plan": plan.to_dict(), "result": result.to_dict()})
        ui.render_apply_result(result, verb="deploy")
        if result.interrupted:
            ui.info("Run `batchctl deploy` again to finish.")
            raise typer.Exit(int(ExitCode.INTERRUPTED))
        if result.failed:
            ui.info("Fix the cause and run `batchctl deploy` again: it continues from what exists.")
            raise typer.Exit(int(ExitCode.FAILED))
