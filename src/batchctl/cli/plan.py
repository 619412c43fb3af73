"""`batchctl plan`: what deploy would do (reads AWS, changes nothing)."""

from __future__ import annotations

from typing import Annotated

import typer

from batchctl.cli.context import CliState, ParallelismOption
from batchctl.cli.target import show_target
from batchctl.errors import ExitCode


def plan(
    ctx: typer.Context,
    check: Annotated[
        bool,
        typer.Option(
            "--check", help="Exit 5 when anything would change or jobs.yaml no longer declares a resource."
        ),
    ] = False,
    show_unchanged: Annotated[
        bool, typer.Option("--show-unchanged", help="List unchanged resources too.")
    ] = False,
    parallelism: ParallelismOption = 16,
) -> None:
    """Show what deploy would change (reads AWS, changes nothing)."""
    from batchctl import deployment, endpoints

    state: CliState = ctx.obj
    ui = state.ui
    target = show_target(state)
    prepared = deployment.prepare(
        state.config(), state.aws(), project_dir=state.project_dir, listener=ui, parallelism=parallelism
    )
    made = prepared.plan
    found = endpoints.from_observed(prepared.cfg, prepared.names, prepared.observed)
    payload = {"plan": made.to_dict(), "target": target, "outputs": [e.to_dict() for e in found]}
    ui.emit(payload, lambda: ui.render_plan(made, show_noop=show_unchanged))
    if check and (made.has_changes or made.orphans):
        raise typer.Exit(int(ExitCode.DRIFT))
