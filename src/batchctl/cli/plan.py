"""`batchctl plan`: what deploy would do. Also the read → plan step that deploy and destroy share."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Annotated, Any

import typer

from batchctl.cli.context import CliState, reporting, state_of
from batchctl.errors import ExitCode

if TYPE_CHECKING:
    from batchctl.engine import Provisioners
    from batchctl.plan import Plan
    from batchctl.prune import Orphans
    from batchctl.specs import Key, Observed

ParallelismOption = Annotated[
    int, typer.Option("--parallelism", min=1, max=64, help="AWS calls and changes in flight at once.")
]


@dataclass
class Prepared:
    """Specs, what exists, the plan, and the provisioners that read them."""

    specs: list[Any]
    observed: dict[Key, Observed | None]
    plan: Plan
    provisioners: Provisioners
    orphans: Orphans  # resources of ours that jobs.yaml no longer declares, as a destroy plan


def current_image_tag(state: CliState) -> str | None:
    """The content-derived tag of the job image (offline), or None when jobs.yaml names a prebuilt `image.uri`."""
    cfg = state.config()
    if cfg.image.uri:
        return None
    from batchctl.image import image_tag

    return image_tag(cfg, state.config_path.resolve().parent)


def prepare(state: CliState, *, parallelism: int, destroy: bool = False) -> Prepared:
    """Load, build, read every resource and diff: the plan that deploy (or destroy) applies."""
    from concurrent.futures import ThreadPoolExecutor

    from batchctl import build, engine, prune
    from batchctl.errors import AwsError
    from batchctl.plan import Plan
    from batchctl.provisioners import SERVICES, build_provisioners

    cfg = state.config()
    aws = state.aws()
    aws.preload(("sts", *SERVICES))  # STS first: the next line waits for its answer, the rest build meanwhile
    tag = None if destroy else current_image_tag(state)
    with state.ui.status("reading the AWS account"):
        ctx = aws.context()
        specs = build.build_specs(cfg, ctx, image_tag=tag)
        provisioners = build_provisioners(aws)
        # The look for resources jobs.yaml no longer declares runs beside the reads, not after them.
        with ThreadPoolExecutor(max_workers=1, thread_name_prefix="orphans") as pool:
            looking = pool.submit(prune.find, aws, provisioners, cfg, ctx, specs, parallelism=parallelism)
            observed = engine.read_all(specs, provisioners, parallelism=parallelism)
            try:
                orphans = looking.result()
            except AwsError as exc:  # e.g. no permission to list: the plan itself stands
                state.ui.warn(f"could not look for resources jobs.yaml no longer declares: {exc.message}")
                orphans = prune.Orphans(
                    plan=Plan(project=cfg.project, stage=cfg.stage, changes=(), destroy=True)
                )
    if destroy:
        made = engine.make_destroy_plan(specs, observed, project=cfg.project, stage=cfg.stage)
    else:
        from dataclasses import replace
        from datetime import UTC, datetime

        triggers = build.build_triggers(cfg, build.names_for(cfg, ctx), now=datetime.now(UTC))
        made = replace(
            engine.make_plan(specs, observed, project=cfg.project, stage=cfg.stage),
            triggers=tuple(triggers),
            orphans=tuple(orphans.keys),
        )
    return Prepared(specs=specs, observed=observed, plan=made, provisioners=provisioners, orphans=orphans)


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
    state = state_of(ctx)
    ui = state.ui
    with reporting(ui):
        prepared = prepare(state, parallelism=parallelism)
        if ui.is_json:
            ui.json({"plan": prepared.plan.to_dict()})
        else:
            ui.render_plan(prepared.plan, show_noop=show_unchanged)
    if check and (prepared.plan.has_changes or prepared.plan.orphans):
        raise typer.Exit(int(ExitCode.DRIFT))
