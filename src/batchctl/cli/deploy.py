"""`batchctl deploy`: its options, the confirmation and the rendering; `deployment` builds, pushes and applies."""

from __future__ import annotations

import threading
from typing import Annotated

import typer

from batchctl.cli.complete import complete_job
from batchctl.cli.context import NOTHING_DONE, CliState, ParallelismOption, confirmation
from batchctl.cli.target import show_target
from batchctl.cli.unlock import LockTimeoutOption, stage_lock
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
    prune: Annotated[
        bool,
        typer.Option(
            "--prune",
            help="Also delete our resources that jobs.yaml no longer declares (removed jobs, steps, triggers).",
        ),
    ] = False,
    jobs: Annotated[
        list[str] | None,
        typer.Option(
            "--job",
            metavar="NAME",
            autocompletion=complete_job,
            help="Only these jobs (repeat the option) and the shared resources they use.",
        ),
    ] = None,
    parallelism: ParallelismOption = 16,
    lock_timeout: LockTimeoutOption = 0.0,
) -> None:
    """Build and push the image, then create or update every resource of jobs.yaml, idempotently."""
    from batchctl import deployment

    state: CliState = ctx.obj
    ui = state.ui
    cfg = state.config()
    deployment.check_jobs(cfg, jobs or [], prune=prune)
    target = show_target(state)
    stop = threading.Event()
    # Held from before the plan is read until the command ends: two deploys must never plan the same creates.
    with stage_lock(
        state, command="deploy --prune" if prune else "deploy", timeout_s=lock_timeout, stop=stop
    ):
        prepared = deployment.prepare(
            cfg, state.aws(), project_dir=state.project_dir, listener=ui, parallelism=parallelism
        )
        if jobs:
            prepared = deployment.only_jobs(prepared, jobs)
        plan = prepared.plan
        result = deployment.deploy(
            prepared,
            listener=ui,
            confirm=confirmation(ui, plan, yes=yes, also=len(plan.orphans) if prune else 0),
            image=not skip_image,
            allow_replace=allow_replace,
            prune=prune,
            parallelism=parallelism,
            stop=stop,
        )
    if result is None:

        def up_to_date() -> None:
            ui.info("No changes: everything is up to date.")
            ui.render_kept_orphans(plan)

        ui.emit({"plan": plan.to_dict(), "result": NOTHING_DONE, "target": target}, up_to_date)
        return
    ui.emit({"plan": plan.to_dict(), "result": result.to_dict(), "target": target})
    ui.render_apply_result(result, verb="deploy")
    if not prune:
        ui.render_kept_orphans(plan)
    if result.interrupted:
        ui.info("Run `batchctl deploy` again to finish.")
        raise typer.Exit(int(ExitCode.INTERRUPTED))
    if result.failed:
        ui.info("Fix the cause and run `batchctl deploy` again: it continues from what exists.")
        raise typer.Exit(int(ExitCode.FAILED))
