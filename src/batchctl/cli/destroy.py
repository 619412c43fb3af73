"""`batchctl destroy`: delete everything this project+stage created (proven by tag), nothing else. Its options,
the confirmation and the rendering; `deployment` deletes."""

from __future__ import annotations

import threading
from typing import Annotated

import typer

from batchctl.cli.context import NOTHING_DONE, CliState, ParallelismOption, confirmation
from batchctl.cli.unlock import LockTimeoutOption, stage_lock
from batchctl.errors import ExitCode


def destroy(
    ctx: typer.Context,
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Delete without asking.")] = False,
    keep_images: Annotated[bool, typer.Option("--keep-images", help="Keep the ECR repository.")] = False,
    parallelism: ParallelismOption = 16,
    lock_timeout: LockTimeoutOption = 0.0,
) -> None:
    """Delete every resource of this project and stage, dependents first."""
    from batchctl import deployment

    state: CliState = ctx.obj
    ui = state.ui
    stop = threading.Event()
    with stage_lock(state, command="destroy", timeout_s=lock_timeout, stop=stop):
        prepared = deployment.prepare(
            state.config(),
            state.aws(),
            project_dir=state.project_dir,
            listener=ui,
            parallelism=parallelism,
            destroy=True,
            keep_images=keep_images,
        )
        plan = prepared.plan
        result = deployment.destroy(
            prepared, listener=ui, confirm=confirmation(ui, plan, yes=yes), parallelism=parallelism, stop=stop
        )
    if result is None:
        nothing = f"Nothing to destroy for {plan.project}/{plan.stage}."
        ui.emit({"plan": plan.to_dict(), "result": NOTHING_DONE}, lambda: ui.info(nothing))
        return
    ui.emit({"plan": plan.to_dict(), "result": result.to_dict()})
    ui.render_apply_result(result, verb="destroy")
    if result.interrupted:
        raise typer.Exit(int(ExitCode.INTERRUPTED))
    if result.failed:
        ui.info("Run `batchctl destroy` again once the cause is fixed: it continues with what is left.")
        raise typer.Exit(int(ExitCode.FAILED))
