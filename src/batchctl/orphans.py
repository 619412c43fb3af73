"""Orphans: resources this project and stage own in AWS that jobs.yaml no longer names (a removed job, a renamed
step, a dropped queue or schedule). Pure: which names are orphans, a spec to read each by, and the order to delete
them in. Discovery (provisioners.discover) and deletion (prune) are effectful and live elsewhere.
"""

from __future__ import annotations

import dataclasses
import re
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


# A job or step name inside a generated name (config allows [a-z][a-z0-9-]*; a step adds `-<step>`).
_JOB_PART = "[a-z][a-z0-9-]*"


def name_patterns(cfg: JobsFile, ctx: AwsContext) -> dict[Kind, re.Pattern[str]]:
    """For each per-job kind, the names batchctl would generate for some job of this project and stage.

    Built from the specs of a template job, so the patterns follow naming.py and never a second description of it:
    every name of a kind that contains the template job's name becomes `before<job>after`.
    """
    job = JobConfig(command=["true"], queue=QueueConfig(), schedule=ScheduleConfig(rate="rate(1 day)"))
    ghost = cfg.model_copy(update={"jobs": {_TEMPLATE_JOB: job}})
    shapes: dict[Kind, set[str]] = {kind: set() for kind in DELETE_ORDER}
    for spec in build_specs(ghost, ctx):
        if spec.kind in shapes and _TEMPLATE_JOB in spec.name:
            before, _, after = spec.name.partition(_TEMPLATE_JOB)
            shapes[spec.kind].add(re.escape(before) + _JOB_PART + re.escape(after))
    return {kind: re.compile("|".join(sorted(forms))) for kind, forms in shapes.items() if forms}


def is_generated(kind: Kind, name: str, patterns: Mapping[Kind, re.Pattern[str]]) -> bool:
    """Whether `name` is one batchctl would give a resource of `kind` in this project and stage."""
    pattern = patterns.get(kind)
    return pattern is not None and pattern.fullmatch(name) is not None


def orphan_specs(
    specs: Iterable[Any],
    found: Mapping[Kind, set[str]],
    shapes: Mapping[Kind, Any],
    *,
    patterns: Mapping[Kind, re.Pattern[str]] | None = None,
) -> list[Any]:
    """A spec (named after the orphan, shaped like `shapes[kind]`) for each found name no spec declares.

    With `patterns`, only names batchctl would generate qualify: a resource carrying our tags under another name
    (copied tags, another tool, a look-alike) is `foreign_names`' business, never deleted as an orphan.
    """
    declared = {spec.key for spec in specs}
    orphans = []
    for kind in DELETE_ORDER:
        for name in sorted(found.get(kind, ())):
            if Key(kind, name) in declared:
                continue
            if patterns is not None and not is_generated(kind, name, patterns):
                continue
            orphans.append(dataclasses.replace(shapes[kind], name=name))
    return orphans


def foreign_names(found: Mapping[Kind, set[str]], patterns: Mapping[Kind, re.Pattern[str]]) -> list[Key]:
    """Found (tagged ours) names that batchctl would never generate here: reported, never updated or deleted."""
    return [
        Key(kind, name)
        for kind in DELETE_ORDER
        for name in sorted(found.get(kind, ()))
        if not is_generated(kind, name, patterns)
    ]


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
