"""Deploy and destroy, between the CLI and the engine: `prepare` (load → build → read → plan, the image tag computed
once) → `only_jobs` (deploy --job) → `deploy` (build, apply, push, apply, prune) or `destroy`; and the orphans that
`--prune` and `destroy` delete (resources of ours that jobs.yaml no longer declares, found by tag).

Progress reaches the caller through a `Listener` (the CLI passes its `ui.Ui`); questions through a `confirm`
callback. Imports: engine, build, orphans, provisioners, aws, image (lazily: docker-py loads only for an image);
never typer or rich (an import contract says so).
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import AbstractContextManager
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import urlparse

from batchctl import build, engine
from batchctl.aws import Aws
from batchctl.config import JobsFile, resolve_steps
from batchctl.diff import Action, Change
from batchctl.errors import AwsError, UsageError
from batchctl.naming import AwsContext, Names
from batchctl.orphans import DeleteNode, deletion_nodes, foreign_names, name_patterns, orphan_specs, templates
from batchctl.plan import ApplyResult, Event, Plan
from batchctl.provisioners import SERVICES, build_provisioners, discover
from batchctl.provisioners.base import Deduplicating
from batchctl.provisioners.bucket_events import check_bucket_sends_events
from batchctl.provisioners.sfn import running_executions
from batchctl.provisioners.shared_queue import check_shared_job_queue
from batchctl.specs import Key, Kind, Observed

__all__ = [
    "Confirm",
    "Listener",
    "Orphans",
    "Prepared",
    "check_jobs",
    "delete_orphans",
    "deploy",
    "destroy",
    "find_orphans",
    "only_jobs",
    "prepare",
]

Confirm = Callable[[str], None]
"""Asked once, just before the first change, with the question to put; raises to stop (nothing changed yet)."""

LOOPBACK_HOSTS = frozenset({"127.0.0.1", "localhost", "::1"})


class Listener(Protocol):
    """What a deploy or destroy tells its caller while it runs (`ui.Ui` is one)."""

    def status(self, message: str) -> AbstractContextManager[None]:
        """A long step, for as long as the `with` lasts (a spinner on a terminal)."""
        ...

    def render_event(self, event: Event) -> None:
        """One change started, finished or failed."""
        ...

    def warn(self, message: str) -> None: ...

    def detail(self, message: str) -> None:
        """A line of image build or push output."""
        ...

    def render_image(self, reference: str, digest: str | None) -> None:
        """The image the job definitions run was pushed (with its digest), or named on the local engine (None)."""
        ...


# ---- orphans ------------------------------------------------------------------------------------------------


@dataclass
class Orphans:
    """The orphans that exist, as a destroy plan, with what was read of each; and the resources tagged ours under
    names batchctl would never generate (`foreign`: reported, never deleted)."""

    plan: Plan
    observed: dict[Key, Observed | None] = field(default_factory=dict)
    foreign: tuple[Key, ...] = ()

    @property
    def keys(self) -> list[Key]:
        return [change.key for change in self.plan.changes]


def find_orphans(
    aws: Aws,
    provisioners: engine.Provisioners,
    cfg: JobsFile,
    ctx: AwsContext,
    specs: Sequence[Any],
    *,
    parallelism: int = engine.DEFAULT_PARALLELISM,
) -> Orphans:
    """Every resource of ours that no spec in `specs` declares, read through its kind's provisioner (so a delete
    has exactly what `destroy` would have) and ordered for deletion, dependents first. Ours means tagged for this
    project and stage and named as batchctl would name it here; a tagged resource under any other name is foreign:
    listed, never read or deleted."""
    names = build.names_for(cfg, ctx)
    found = discover.find_orphans(aws, names, [spec.key for spec in specs])
    patterns = name_patterns(cfg, ctx)
    candidates = orphan_specs(specs, found, templates(cfg, ctx), patterns=patterns)
    observed = engine.read_all(candidates, provisioners, parallelism=parallelism) if candidates else {}
    changes = tuple(
        Change(Action.DELETE, None, seen.state)
        for spec in candidates
        if (seen := observed.get(spec.key)) is not None
    )
    plan = Plan(project=names.project, stage=names.stage, changes=changes, destroy=True)
    return Orphans(plan=plan, observed=dict(observed), foreign=tuple(foreign_names(found, patterns)))


def delete_orphans(
    found: Orphans,
    provisioners: engine.Provisioners,
    *,
    parallelism: int = engine.DEFAULT_PARALLELISM,
    on_event: engine.EventSink = lambda event: None,
    stop: threading.Event | None = None,
) -> ApplyResult:
    """Delete the orphans, dependents first, with the engine's events and interrupt handling; an empty plan makes
    no call."""
    if not found.plan.changes:
        return ApplyResult()
    return engine.apply_destroy(
        found.plan,
        provisioners,
        specs=deletion_nodes(found.keys),
        observed=found.observed,
        parallelism=parallelism,
        on_event=on_event,
        stop=stop,
    )


# ---- prepare ------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Prepared:
    """Everything a deploy or destroy applies: jobs.yaml, the account, the image tag, the specs, what exists, the
    plan, and the provisioners that read them. A destroy's plan deletes the orphans first, then what jobs.yaml
    declares."""

    cfg: JobsFile
    aws: Aws
    names: Names
    project_dir: Path
    image_tag: str | None  # the content-derived tag; None with image.uri, and for destroy
    specs: list[Any]
    observed: dict[Key, Observed | None]
    plan: Plan
    provisioners: engine.Provisioners
    orphans: Orphans  # resources of ours that jobs.yaml no longer declares, as a destroy plan
    # Extra resources of ours under a name a declared one has (`<name>@<id>`); deploy and destroy delete them.
    duplicates: dict[Key, Observed] = field(default_factory=dict)


def prepare(
    cfg: JobsFile,
    aws: Aws,
    *,
    project_dir: Path,
    listener: Listener,
    parallelism: int = engine.DEFAULT_PARALLELISM,
    destroy: bool = False,
    keep_images: bool = False,
) -> Prepared:
    """Build the specs, read every resource (and look for orphans meanwhile) and diff: the plan that `plan` shows
    and `deploy` applies, or with `destroy` every delete (`keep_images`: not the ECR repository)."""
    aws.preload(("sts", *SERVICES))  # STS first: the next line waits for its answer, the rest build meanwhile
    tag = None if destroy or cfg.image.uri else _image_tag(cfg, project_dir)
    with listener.status("reading the AWS account"):
        ctx = aws.context()
        specs = build.build_specs(cfg, ctx, image_tag=tag)
        provisioners = build_provisioners(aws)
        # The look for resources jobs.yaml no longer declares runs beside the reads, not after them.
        with ThreadPoolExecutor(max_workers=1, thread_name_prefix="orphans") as pool:
            looking = pool.submit(find_orphans, aws, provisioners, cfg, ctx, specs, parallelism=parallelism)
            observed = engine.read_all(specs, provisioners, parallelism=parallelism)
            try:
                orphans = looking.result()
            except AwsError as exc:  # e.g. no permission to list: the plan itself stands
                listener.warn(f"could not look for resources jobs.yaml no longer declares: {exc.message}")
                orphans = Orphans(plan=Plan(project=cfg.project, stage=cfg.stage, changes=(), destroy=True))
    names = build.names_for(cfg, ctx)
    duplicates = find_duplicates(provisioners)
    extra = tuple(Change(Action.DELETE, None, seen.state) for seen in duplicates.values())
    if cfg.compute.job_queue_arn and not destroy:  # a queue built elsewhere: checked, never changed
        vcpus = max(step.vcpus for job in cfg.jobs for step in resolve_steps(cfg, job))
        check_shared_job_queue(aws, arn=cfg.compute.job_queue_arn, compute_type=cfg.compute.type, vcpus=vcpus)
    for job, job_cfg in [] if destroy else sorted(cfg.jobs.items()):
        if job_cfg.s3 is not None:  # a bucket not ours: checked, never changed
            check_bucket_sends_events(aws, bucket=job_cfg.s3.bucket, job=job)
    if destroy:
        declared = engine.make_destroy_plan(specs, observed, project=cfg.project, stage=cfg.stage)
        kept = tuple(c for c in declared.changes if not (keep_images and c.key.kind is Kind.ECR_REPOSITORY))
        # What jobs.yaml no longer declares goes first: nothing declared depends on it.
        plan = replace(declared, changes=orphans.plan.changes + extra + kept, foreign=orphans.foreign)
        plan = replace(
            plan,
            running_runs=_running_runs(aws, plan, {**orphans.observed, **observed}, parallelism=parallelism),
        )
    else:
        made = engine.make_plan(specs, observed, project=cfg.project, stage=cfg.stage)
        plan = replace(
            made,
            changes=made.changes + extra,
            triggers=tuple(build.build_triggers(cfg, names, now=datetime.now(UTC))),
            orphans=tuple(orphans.keys),
            foreign=orphans.foreign,
            notes=tuple(build.build_notes(cfg, ctx)),
        )
    return Prepared(
        cfg, aws, names, project_dir, tag, specs, observed, plan, provisioners, orphans, duplicates
    )


def find_duplicates(provisioners: engine.Provisioners) -> dict[Key, Observed]:
    """The duplicates the reads found (several resources of ours under one name: the one in use is kept), by
    their own key `<kind>/<name>@<id>`."""
    found: dict[Key, Observed] = {}
    for provisioner in provisioners.values():
        if isinstance(provisioner, Deduplicating):
            for extras in provisioner.duplicates().values():
                found.update({seen.state.key: seen for seen in extras})
    return dict(sorted(found.items()))


def _running_runs(
    aws: Aws, plan: Plan, observed: dict[Key, Observed | None], *, parallelism: int
) -> dict[Key, int]:
    """For a destroy plan: how many runs each state machine it deletes has going (its delete stops them)."""
    ctx = aws.context()
    machines: list[tuple[Key, str]] = []
    for change in plan.changes:
        if change.key.kind is Kind.STATE_MACHINE:
            seen = observed.get(change.key)
            arn = (seen.outputs.get("arn") if seen else None) or ctx.arn(
                "states", f"stateMachine:{change.key.name}"
            )
            machines.append((change.key, str(arn)))
    if not machines:
        return {}
    with ThreadPoolExecutor(max_workers=max(1, min(parallelism, len(machines)))) as pool:
        counts = list(pool.map(lambda machine: len(running_executions(aws, *machine)), machines))
    return {key: count for (key, _), count in zip(machines, counts, strict=True) if count}


def _image_tag(cfg: JobsFile, project_dir: Path) -> str:
    from batchctl.image import image_tag

    return image_tag(cfg, project_dir)


def check_jobs(cfg: JobsFile, jobs: Sequence[str], *, prune: bool) -> None:
    """`deploy --job`: every name is a job of jobs.yaml, and --prune is not asked for too (UsageError, before any
    AWS call)."""
    if not jobs:
        return
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


def only_jobs(prepared: Prepared, jobs: Sequence[str]) -> Prepared:
    """The plan with every change outside these jobs' resources (and the shared ones they use) made a NOOP: the
    keys are those a jobs.yaml holding only these jobs would declare; their desired state stays the full file's
    (so a shared policy keeps every job's grants). Orphans are left alone."""
    cfg = prepared.cfg
    only = cfg.model_copy(update={"jobs": {name: cfg.jobs[name] for name in jobs}})
    keys = {spec.key for spec in build.build_specs(only, prepared.names.ctx)}
    plan = prepared.plan
    changes = tuple(c if c.key in keys else replace(c, action=Action.NOOP) for c in plan.changes)
    return replace(prepared, plan=replace(plan, changes=changes, orphans=()))


# ---- deploy and destroy -------------------------------------------------------------------------------------


def deploy(
    prepared: Prepared,
    *,
    listener: Listener,
    confirm: Confirm,
    image: bool = True,
    allow_replace: bool = False,
    prune: bool = False,
    parallelism: int = engine.DEFAULT_PARALLELISM,
    stop: threading.Event | None = None,
) -> ApplyResult | None:
    """Apply the prepared plan; None when it changes nothing (then only the image is published, unasked).

    A REPLACE without `allow_replace` is refused before anything else. With `image` (and no image.uri) the image is
    built before any AWS change, so a broken Dockerfile changes nothing; the repository's own change goes first,
    the image is pushed, then the rest (job definitions only ever point at a tag the repository holds). `prune`
    deletes the orphans once the deploy itself went through. Once `stop` is set (Ctrl-C, or the stage's lock was
    lost), no new change starts."""
    stop = stop if stop is not None else threading.Event()
    plan = prepared.plan
    engine.check_replacements(plan, allow_replace=allow_replace)
    tag = prepared.image_tag if image else None
    pruning = prune and bool(plan.orphans)
    if not plan.has_changes and not pruning:
        if tag is not None:
            _publish(prepared, tag, listener)
        return None
    if tag is not None:
        _require_docker()  # the build below needs the engine: say so before asking, not after the yes
    confirm(f"Apply these changes{' and delete what jobs.yaml no longer declares' if pruning else ''}?")

    def apply(changes: Plan) -> ApplyResult:
        if not changes.has_changes:
            return ApplyResult()
        with listener.status(f"applying {len(changes.pending)} change(s)"):
            return engine.apply(
                changes,
                prepared.provisioners,
                observed=prepared.observed,
                parallelism=parallelism,
                allow_replace=allow_replace,
                on_event=listener.render_event,
                stop=stop,
            )

    main = replace(plan, changes=tuple(c for c in plan.changes if c.key not in prepared.duplicates))
    if tag is not None:
        _build(prepared, tag, listener)
        repository, rest = _split_repository(main)
        result = apply(repository)
        if _went_through(result):
            _publish(prepared, tag, listener)
            result = _followed_by(result, apply(rest))
    else:
        if prepared.image_tag is not None:
            listener.warn("--skip-image: job definitions point at an image tag this deploy did not push")
        result = apply(main)
    # Duplicates go once the kept resources hold everything (a kept route table has taken the associations).
    if _went_through(result):
        result = _followed_by(
            result, _delete_duplicates(prepared, listener, parallelism=parallelism, stop=stop)
        )
    if pruning and _went_through(result):
        count = len(prepared.orphans.keys)
        with listener.status(f"deleting {count} resource(s) jobs.yaml no longer declares"):
            pruned = _delete_orphans(prepared, listener, parallelism=parallelism, stop=stop)
        result = _followed_by(result, pruned)
    elif pruning:
        result.not_started.extend(prepared.orphans.plan.changes)
    return result


def destroy(
    prepared: Prepared,
    *,
    listener: Listener,
    confirm: Confirm,
    parallelism: int = engine.DEFAULT_PARALLELISM,
    stop: threading.Event | None = None,
) -> ApplyResult | None:
    """Delete what `prepare(destroy=True)` planned: the orphans, then (if that went through) what jobs.yaml
    declares, dependents first; None when nothing exists (then nothing is asked). Once `stop` is set, no new
    delete starts."""
    stop = stop if stop is not None else threading.Event()
    plan = prepared.plan
    if not plan.changes:
        return None
    stopping = f" and stop {plan.stops_runs} running run(s)" if plan.stops_runs else ""
    confirm(f"Delete these {len(plan.changes)} resources{stopping}?")
    orphaned = set(prepared.orphans.keys) | set(prepared.duplicates)
    declared = replace(plan, changes=tuple(c for c in plan.changes if c.key not in orphaned))
    with listener.status(f"deleting {len(plan.changes)} resource(s)"):
        result = _delete_orphans(prepared, listener, parallelism=parallelism, stop=stop)
        if _went_through(result):
            result = _followed_by(
                result, _delete_duplicates(prepared, listener, parallelism=parallelism, stop=stop)
            )
        if not _went_through(result):  # the declared resources were never started: say so
            result.not_started.extend(declared.changes)
            return result
        rest = engine.apply_destroy(
            declared,
            prepared.provisioners,
            specs=prepared.specs,
            observed=prepared.observed,
            parallelism=parallelism,
            on_event=listener.render_event,
            stop=stop,
        )
    return _followed_by(result, rest)


def _delete_orphans(
    prepared: Prepared, listener: Listener, *, parallelism: int, stop: threading.Event
) -> ApplyResult:
    return delete_orphans(
        prepared.orphans,
        prepared.provisioners,
        parallelism=parallelism,
        on_event=listener.render_event,
        stop=stop,
    )


def _delete_duplicates(
    prepared: Prepared, listener: Listener, *, parallelism: int, stop: threading.Event
) -> ApplyResult:
    """Delete the duplicates the plan shows as deletes (none of them depends on another)."""
    changes = tuple(
        c for c in prepared.plan.changes if c.key in prepared.duplicates and c.action is Action.DELETE
    )
    if not changes:
        return ApplyResult()
    return engine.apply_destroy(
        replace(prepared.plan, changes=changes),
        prepared.provisioners,
        specs=[DeleteNode(c.key) for c in changes],
        observed=prepared.duplicates,
        parallelism=parallelism,
        on_event=listener.render_event,
        stop=stop,
    )


def _went_through(result: ApplyResult) -> bool:
    return not result.failed and not result.interrupted


def _followed_by(first: ApplyResult, then: ApplyResult) -> ApplyResult:
    """`then`, with what `first` did before it."""
    then.done[:0] = first.done
    return then


def _split_repository(plan: Plan) -> tuple[Plan, Plan]:
    """The repository's own change first (so the image can be pushed), everything else after (the repository's
    change then counts as done)."""
    first = tuple(
        c if c.key.kind is Kind.ECR_REPOSITORY else replace(c, action=Action.NOOP) for c in plan.changes
    )
    rest = tuple(
        replace(c, action=Action.NOOP) if c.key.kind is Kind.ECR_REPOSITORY else c for c in plan.changes
    )
    return replace(plan, changes=first), replace(plan, changes=rest)


# ---- the image ----------------------------------------------------------------------------------------------


def _require_docker() -> None:
    """DockerUnavailableError (with its hint) unless a Docker engine answers."""
    from batchctl.image import ImageBuilder

    ImageBuilder().client().close()


def _build(prepared: Prepared, tag: str, listener: Listener) -> None:
    from batchctl.image import ImageBuilder

    with listener.status(f"building the image {prepared.cfg.project}:{tag}"):
        ImageBuilder().build(prepared.cfg, prepared.project_dir, tag, listener.detail)


def _publish(prepared: Prepared, tag: str, listener: Listener) -> None:
    """Make the stage's repository hold the image at `tag`: nothing when ECR already has it, else build (skipped
    when built) and push. On a loopback endpoint (the sandbox, whose ECR has no registry and whose Batch runs
    images from the local engine) the local build is named `<repository_uri>:<tag>` instead."""
    from batchctl.image import ImageBuilder, ecr_login, image_exists_in_repository, local_image, registry_host

    cfg, names = prepared.cfg, prepared.names
    local = _is_loopback(prepared.aws.endpoint_url)
    builder = ImageBuilder()
    with listener.status("naming the image on the local engine" if local else "pushing the image"):
        if not local and image_exists_in_repository(prepared.aws, names.repository, tag):
            listener.detail(f"image {names.repository_uri}:{tag} is already in ECR; nothing to build or push")
            return
        builder.build(cfg, prepared.project_dir, tag, listener.detail)
        if local:
            builder.tag(local_image(cfg, tag), names.repository_uri, tag)
            listener.detail(f"named {names.repository_uri}:{tag} on the local engine (not pushed)")
            digest = None
        else:
            auth = ecr_login(prepared.aws, registry=registry_host(names.repository_uri))
            listener.detail(f"pushing {names.repository_uri}:{tag}")
            digest = builder.push(local_image(cfg, tag), names.repository_uri, tag, auth, listener.detail)
    listener.render_image(f"{names.repository_uri}:{tag}", digest)


def _is_loopback(endpoint_url: str | None) -> bool:
    """True when AWS calls go to a loopback endpoint (the sandbox)."""
    url = endpoint_url or os.environ.get("AWS_ENDPOINT_URL_ECR") or os.environ.get("AWS_ENDPOINT_URL")
    return bool(url) and urlparse(url).hostname in LOOPBACK_HOSTS
