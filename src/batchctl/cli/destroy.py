"""`batchctl destroy`: delete everything this project+stage created (proven by tag), nothing else."""

from __future__ import annotations

import threading
from typing import Annotated

import typer

from batchctl.cli.context import confirm_or_exit, reporting, state_of
from batchctl.cli.plan import ParallelismOption, prepare
from batchctl.errors import ExitCode


def destroy(
    ctx: typer.Context,
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Delete without asking.")] = False,
    keep_images: Annotated[bool, typer.Option("--keep-images", help="Keep the ECR repository.")] = False,
    parallelism: ParallelismOption = 16,
) -> None:
    """Delete every resource of this project and stage, dependents first."""
    state = state_of(ctx)
    ui = state.ui
    with reporting(ui):
        from batchctl import engine, prune
        from batchctl.plan import Plan
        from batchctl.specs import Kind

        prepared = prepare(state, parallelism=parallelism, destroy=True)
        declared = prepared.plan
        if keep_images:
            declared = Plan(
                project=declared.project,
                stage=declared.stage,
                changes=tuple(c for c in declared.changes if c.key.kind is not Kind.ECR_REPOSITORY),
                destroy=True,
            )
        # What jobs.yaml no longer declares goes too (first: nothing declared depends on it).
        orphans = prepared.orphans.plan
        plan = Plan(
            project=declared.project,
            stage=declared.stage,
            changes=orphans.changes + declared.changes,
            destroy=True,
        )
        if not plan.changes:
            if ui.is_json:
                ui.json({"plan": plan.to_dict(), "result": {"done": [], "failed": [], "not_started": []}})
            else:
                ui.info(f"Nothing to destroy for {plan.project}/{plan.stage}.")
            return
        if not ui.is_json:
            ui.render_plan(plan)
        confirm_or_exit(ui, question=f"Delete these {len(plan.changes)} resources?", yes=yes)
        stop = threading.Event()
        with ui.status(f"deleting {len(plan.changes)} resource(s)"):
            result = prune.apply(
                prepared.orphans,
                prepared.provisioners,
                parallelism=parallelism,
                on_event=ui.render_event,
                stop=stop,
            )
            if not result.failed and not result.interrupted:
                rest = engine.apply_destroy(
                    declared,
                    prepared.provisioners,
                    specs=prepared.specs,
                    observed=prepared.observed,
                    parallelism=parallelism,
                    on_event=ui.render_event,
                    stop=stop,
                )
                rest.done[:0] = result.done
                result = rest
            else:  # the declared resources were never started: say so
                result.not_started.extend(declared.changes)
        if ui.is_json:
            ui.json({"plan": plan.to_dict(), "result": result.to_dict()})
        ui.render_apply_result(result, verb="destroy")
        if result.interrupted:
            raise typer.Exit(int(ExitCode.INTERRUPTED))
        if result.failed:
            ui.info("Run `batchctl destroy` again once the cause is fixed: it continues with what is left.")
            raise typer.Exit(int(ExitCode.FAILED))
