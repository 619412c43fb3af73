"""Orphans: resources this project and stage own in AWS that jobs.yaml no longer names (a removed job, a renamed
step, a dropped queue or schedule). Pure: which names are orphans, a spec to read each by, and the order to delete
them in. Discovery (provisioners.discover) and deletion (prune) are effectful and live elsewhere.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from batchctl.build import build_specs
from batchctl.config import JobConfig, JobsFile, QueueConfig, ScheduleConfig
from batchctl.naming import AwsContext
from batchctl.specs import Key, Kind

# Deletion order: a kind goes before every kind after it (a schedule before its state machine, a pipe before its
# queue, a state machine before its role).
DELETE_ORDER = (
    Kind.SCHEDULE,
    Kind.PIPE,
    Kind.STATE_MACHINE,
    Kind.SQS_QUEUE,
    Kind.JOB_DEFINITION,
    Kind.LOG_GROUP,
    Kind.IAM_ROLE,
)
_TEMPLATE_JOB = "orphan-template"


def templates(cfg: JobsFile, ctx: AwsContext) -> dict[Kind, Any]:
    """One spec of each per-job kind, from a job with every trigger: the shape a read of an orphan needs."""
    job = JobConfig(command=["true"], queue=QueueConfig(), schedule=ScheduleConfig(rate="rate(1 day)"))
    ghost = cfg.model_copy(update={"jobs": {_TEMPLATE_JOB: job}})
    found: dict[Kind, Any] = {}
    for spec in build_specs(ghost, ctx):
        if spec.kind in DELETE_ORDER:
            found.setdefault(spec.kind, spec)
    return found


def orphan_specs(
    specs: Iterable[Any], found: Mapping[Kind, set[str]], shapes: Mapping[Kind, Any]
) -> list[Any]:
    """A spec (named after the orphan, shaped like `shapes[kind]`) for each found name no spec declares."""
    declared = {spec.key for spec in specs}
    orphans = []
    for kind in DELETE_ORDER:
        for name in sorted(found.get(kind, ())):
            if Key(kind, name) not in declared:
                orphans.append(dataclasses.replace(shapes[kind], name=name))
    return orphans


@dataclass(frozen=True)
class DeleteNode:
    """What apply_destroy orders orphans by: no Refs, dependencies from DELETE_ORDER only."""

    key: Key
    depends_on: tuple[Key, ...] = field(default=())


def deletion_nodes(keys: Sequence[Key]) -> list[DeleteNode]:
    """Each orphan 'depends on' the orphans of the kinds deleted after it, so dependents go first."""
    rank = {kind: i for i, kind in enumerate(DELETE_ORDER)}
    return [
        DeleteNode(key, tuple(other for other in keys if rank[other.kind] > rank[key.kind])) for key in keys
    ]
