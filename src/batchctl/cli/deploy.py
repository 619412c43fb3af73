"""`batchctl deploy`: build and push the job image, then apply exactly the plan that `plan` shows."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, Annotated

import typer

from batchctl.cli.context import CliState, confirm_or_exit, reporting, state_of
from batchctl.cli.plan import ParallelismOption, Prepared, prepare
from batchctl.errors import ExitCode

if TYPE_CHECKING:
    from batchctl.config import JobsFile
    from batchctl.plan import ApplyResult, Plan


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
            help="Only these jobs (repeat the option) and the shared resources they use.",
        ),
    ] = None,
    parallelism: ParallelismOption = 16,
) -> None:
    """Build and push the image, then create or update every resource of jobs.yaml, idempotently."""
    state = state_of(ctx)
    ui = state.ui
    with reporting(ui):
        from batchctl import engine

        cfg = state.config()
        if jobs:
            _check_jobs(cfg, jobs, prune=prune)
        prepared = prepare(state, parallelism=parallelism)
        plan = prepared.plan
        if jobs:
            plan = _only_jobs(state, plan, jobs)
        engine.check_replacements(plan, allow_replace=allow_replace)
        needs_image = not skip_image and not cfg.image.uri
        pruning = prune and bool(plan.orphans)
        if not plan.has_changes and not pruning:
            if needs_image:
                _publish_image(state, prepared)
            if ui.is_json:
                ui.json({"plan": plan.to_dict(), "result": {"done": [], "failed": [], "not_started": []}})
            else:
                ui.info("No changes: everything is up to date.")
                _mention_orphans(state, plan)
            return
        if not ui.is_json:
            ui.render_plan(plan)
        confirm_or_exit(
            ui,
            question=f"Apply these changes{' and delete what jobs.yaml no longer declares' if pruning else ''}?",
            yes=yes,
        )
        if needs_image:
            # Build before any AWS change, so a broken Dockerfile changes nothing; the repository must exist
            # before the push, and the job definitions should only point at a tag the repository holds.
            _build_image(state)
            first, rest = _split_repository(plan)
            result = _apply(state, prepared, first, parallelism=parallelism, allow_replace=allow_replace)
            if not result.failed and not result.interrupted:
                _publish_image(state, prepared)
                later = _apply(state, prepared, rest, parallelism=parallelism, allow_replace=allow_replace)
                later.done[:0] = result.done
                result = later
        else:
            if not cfg.image.uri:
                ui.warn("--skip-image: job definitions point at an image tag this deploy did not push")
            result = _apply(state, prepared, plan, parallelism=parallelism, allow_replace=allow_replace)
        if pruning and not result.failed and not result.interrupted:
            result = _prune(state, prepared, result, parallelism=parallelism)
        elif pruning:
            result.not_started.extend(prepared.orphans.plan.changes)
        if ui.is_json:
            ui.json({"plan": plan.to_dict(), "result": result.to_dict()})
        ui.render_apply_result(result, verb="deploy")
        if not prune:
            _mention_orphans(state, plan)
        if result.interrupted:
            ui.info("Run `batchctl deploy` again to finish.")
            raise typer.Exit(int(ExitCode.INTERRUPTED))
        if result.failed:
            ui.info("Fix the cause and run `batchctl deploy` again: it continues from what exists.")
            raise typer.Exit(int(ExitCode.FAILED))


def _apply(
    state: CliState, prepared: Prepared, plan: Plan, *, parallelism: int, allow_replace: bool
) -> ApplyResult:
    from batchctl import engine

    if not plan.has_changes:
        from batchctl.plan import ApplyResult

        return ApplyResult()
    with state.ui.status(f"applying {len(plan.pending)} change(s)"):
        return engine.apply(
            plan,
            prepared.provisioners,
            observed=prepared.observed,
            parallelism=parallelism,
            allow_replace=allow_replace,
            on_event=state.ui.render_event,
            stop=threading.Event(),
        )


def _prune(state: CliState, prepared: Prepared, result: ApplyResult, *, parallelism: int) -> ApplyResult:
    """Delete the orphans once the deploy itself went through; the results of both, in order."""
    from batchctl import prune

    with state.ui.status(f"deleting {len(prepared.orphans.keys)} resource(s) jobs.yaml no longer declares"):
        pruned = prune.apply(
            prepared.orphans,
            prepared.provisioners,
            parallelism=parallelism,
            on_event=state.ui.render_event,
            stop=threading.Event(),
        )
    pruned.done[:0] = result.done
    return pruned


def _check_jobs(cfg: JobsFile, jobs: list[str], *, prune: bool) -> None:
    from batchctl.errors import UsageError

    unknown = sorted(set(jobs) - set(cfg.jobs))
    if unknown:
        raise UsageError(
            f"--job {unknown[0]}: jobs.yaml has no such job", hint=f"its jobs: {', '.join(sorted(cfg.jobs))}"
        )
    if prune:
        raise UsageError(
            "--prune and --job cannot be combined",
            hint="--prune compares the whole jobs.yaml with the account",
        )


def _only_jobs(state: CliState, plan: Plan, jobs: list[str]) -> Plan:
    """The plan with every change outside these jobs' resources (and the shared ones they use) made a NOOP:
    the keys are those a jobs.yaml holding only these jobs would declare; their desired state stays the full
    file's (so a shared policy keeps every job's grants)."""
    from dataclasses import replace

    from batchctl import build
    from batchctl.diff import Action

    cfg = state.config()
    only = cfg.model_copy(update={"jobs": {name: cfg.jobs[name] for name in jobs}})
    keys = {spec.key for spec in build.build_specs(only, state.aws().context())}
    changes = tuple(c if c.key in keys else replace(c, action=Action.NOOP) for c in plan.changes)
    return replace(plan, changes=changes, orphans=())


def _mention_orphans(state: CliState, plan: Plan) -> None:
    if plan.orphans:
        state.ui.warn(
            f"{len(plan.orphans)} resource(s) of this stage are no longer in jobs.yaml and were kept "
            f"({', '.join(map(str, plan.orphans[:3]))}{', ...' if len(plan.orphans) > 3 else ''}); "
            "`batchctl deploy --prune` deletes them"
        )


def _split_repository(plan: Plan) -> tuple[Plan, Plan]:
    """The repository's own change first (so the image can be pushed), everything else after (the repository's
    change then counts as done)."""
    from dataclasses import replace

    from batchctl.diff import Action
    from batchctl.specs import Kind

    first = tuple(
        c if c.key.kind is Kind.ECR_REPOSITORY else replace(c, action=Action.NOOP) for c in plan.changes
    )
    rest = tuple(
        replace(c, action=Action.NOOP) if c.key.kind is Kind.ECR_REPOSITORY else c for c in plan.changes
    )
    return replace(plan, changes=first), replace(plan, changes=rest)


def _is_local_endpoint(state: CliState) -> bool:
    """True when AWS calls go to a loopback endpoint (the sandbox): its ECR has no registry to push to."""
    import os
    from urllib.parse import urlparse

    url = state.endpoint_url or os.environ.get("AWS_ENDPOINT_URL_ECR") or os.environ.get("AWS_ENDPOINT_URL")
    return bool(url) and urlparse(url).hostname in {"127.0.0.1", "localhost", "::1"}


def _build_image(state: CliState) -> None:
    from batchctl.image import ImageBuilder, image_tag

    cfg = state.config()
    project_dir = state.config_path.resolve().parent
    tag = image_tag(cfg, project_dir)
    with state.ui.status(f"building the image {cfg.project}:{tag}"):
        ImageBuilder().build(cfg, project_dir, tag, _progress(state))


def _publish_image(state: CliState, prepared: Prepared) -> None:
    from batchctl.build import names_for
    from batchctl.image import publish_image

    cfg = state.config()
    aws = state.aws()
    local = _is_local_endpoint(state)
    with state.ui.status("pushing the image" if not local else "naming the image on the local engine"):
        published = publish_image(
            aws,
            cfg,
            state.config_path.resolve().parent,
            names_for(cfg, aws.context()),
            _progress(state),
            push=not local,
        )
    if published.pushed:
        state.ui.info(f"[green]↑[/] pushed {published.reference} ({published.digest})")
    elif local:
        state.ui.info(
            f"image {published.reference} is on the local engine (the sandbox's Batch runs it there)"
        )


def _progress(state: CliState) -> Callable[[str], None]:
    return state.ui.detail
