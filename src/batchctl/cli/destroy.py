"""`batchctl destroy`: delete everything this project+stage created (proven by tag), nothing else. Its options,
the confirmation and the rendering; `deployment` deletes."""

from __future__ import annotations

import threading
from typing import Annotated

import typer

from batchctl.cli.context import NOTHING_DONE, CliState, ParallelismOption, confirmation
from batchctl.cli.target import show_target
from batchctl.cli.unlock import LockTimeoutOption, stage_lock
from batchctl.errors import ConfigError, ConfigNotFoundError, ExitCode, UsageError


def destroy(
    ctx: typer.Context,
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Delete without asking.")] = False,
    keep_images: Annotated[bool, typer.Option("--keep-images", help="Keep the ECR repository.")] = False,
    parallelism: ParallelismOption = 16,
    lock_timeout: LockTimeoutOption = 0.0,
    project: Annotated[
        str | None,
        typer.Option(
            "--project",
            metavar="NAME",
            help="Destroy this project's stage (--stage) by its tags alone, without reading jobs.yaml.",
        ),
    ] = None,
) -> None:
    """Delete every resource of this project and stage, dependents first."""
    from batchctl import deployment

    state: CliState = ctx.obj
    ui = state.ui
    _choose_config(state, project)
    target = show_target(state)
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
        ui.emit({"plan": plan.to_dict(), "result": NOTHING_DONE, "target": target}, lambda: ui.info(nothing))
        return
    ui.emit({"plan": plan.to_dict(), "result": result.to_dict(), "target": target})
    ui.render_apply_result(result, verb="destroy")
    if result.interrupted:
        raise typer.Exit(int(ExitCode.INTERRUPTED))
    if result.failed:
        ui.info("Run `batchctl destroy` again once the cause is fixed: it continues with what is left.")
        raise typer.Exit(int(ExitCode.FAILED))


def _choose_config(state: CliState, project: str | None) -> None:
    """jobs.yaml when it validates (and is of `project`, if given); else a stand-in from project, stage and region
    alone (--project/--stage/--region, else the file's own values where they are valid): destroy then finds the
    stage's resources by tag and generated name, and says that it ignores the file's content and why."""
    from batchctl.config.identity import Identity, read_identity, stand_in

    ui = state.ui
    path = state.config_path
    found = Identity()
    try:
        cfg = state.config()
    except ConfigNotFoundError as exc:
        if project is None:
            exc.hint = (
                f"{exc.hint}; or destroy a stage without it: batchctl destroy --project NAME --stage NAME"
            )
            raise
        why = f"there is no {path}"
    except ConfigError as exc:
        found = read_identity(path)
        if (project or found.project) is None or (state.stage or found.stage) is None:
            exc.hint = (
                f"{exc.hint}; or destroy the stage anyway: batchctl destroy --project NAME --stage NAME"
            )
            raise
        lines = exc.message.splitlines()
        first = f"{lines[0]}, first: {lines[1]}" if len(lines) > 1 else lines[0]
        ui.warn(f"{path} is not valid ({first}): destroy ignores its content")
        why = f"{path} is not valid"
    else:
        if project is None or project == cfg.project:
            return
        ui.warn(f"--project {project}: {path} is of project {cfg.project}, destroy ignores its content")
        why = f"{path} is of another project"
    name = project or found.project
    stage = state.stage or found.stage
    if name is None or stage is None:
        raise UsageError(
            f"{why}: destroy needs --stage NAME too", hint="e.g. batchctl destroy --project P --stage S"
        )
    cfg = stand_in(project=name, stage=stage, region=state.region or found.region)
    state.use_config(cfg)
    ui.warn(f"destroying what is tagged for project {name}, stage {stage} and named as batchctl names it")
