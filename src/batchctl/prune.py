"""Find and delete orphans: resources tagged with this project and stage that jobs.yaml no longer declares.

`find` lists the per-job kinds (provisioners.discover), reads each orphan through its kind's provisioner (so a
delete has exactly what `destroy` would have) and returns a destroy plan of them, dependents first. `apply` runs it
with the same engine, events and interrupt handling as `destroy`.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from batchctl import engine, orphans
from batchctl.aws import Aws
from batchctl.build import names_for
from batchctl.config import JobsFile
from batchctl.diff import Action, Change
from batchctl.naming import AwsContext
from batchctl.plan import ApplyResult, Plan
from batchctl.provisioners.discover import find_orphans
from batchctl.specs import Key, Observed


@dataclass
class Orphans:
    """The orphans that exist, as a destroy plan, with what was read of each."""

    plan: Plan
    observed: dict[Key, Observed | None] = field(default_factory=dict)

    @property
    def keys(self) -> list[Key]:
        return [change.key for change in self.plan.changes]


def find(
    aws: Aws,
    provisioners: engine.Provisioners,
    cfg: JobsFile,
    ctx: AwsContext,
    specs: Sequence[Any],
    *,
    parallelism: int = engine.DEFAULT_PARALLELISM,
) -> Orphans:
    """Every resource of ours that no spec in `specs` declares, read and ordered for deletion."""
    names = names_for(cfg, ctx)
    found = find_orphans(aws, names, [spec.key for spec in specs])
    candidates = orphans.orphan_specs(specs, found, orphans.templates(cfg, ctx))
    observed = engine.read_all(candidates, provisioners, parallelism=parallelism) if candidates else {}
    changes = tuple(
        Change(Action.DELETE, None, seen.state)
        for spec in candidates
        if (seen := observed.get(spec.key)) is not None
    )
    plan = Plan(project=names.project, stage=names.stage, changes=changes, destroy=True)
    return Orphans(plan=plan, observed=dict(observed))


def apply(
    found: Orphans,
    provisioners: engine.Provisioners,
    *,
    parallelism: int = engine.DEFAULT_PARALLELISM,
    on_event: engine.EventSink = lambda event: None,
    stop: threading.Event | None = None,
) -> ApplyResult:
    """Delete the orphans, dependents first; an empty plan makes no call."""
    if not found.plan.changes:
        return ApplyResult()
    return engine.apply_destroy(
        found.plan,
        provisioners,
        specs=orphans.deletion_nodes(found.keys),
        observed=found.observed,
        parallelism=parallelism,
        on_event=on_event,
        stop=stop,
    )
