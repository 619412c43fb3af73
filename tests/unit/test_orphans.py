"""orphans: which tagged names batchctl would generate for this project and stage (the rest is never deleted)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from batchctl import orphans
from batchctl.config import load_config
from batchctl.naming import AwsContext
from batchctl.specs import Key, Kind

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def patterns() -> dict[Kind, re.Pattern[str]]:
    cfg = load_config(ROOT / "jobs.yaml", stage="dev")
    return dict(orphans.name_patterns(cfg, AwsContext.placeholder()))


@pytest.mark.parametrize(
    ("kind", "name"),
    [
        (Kind.IAM_ROLE, "demo-dev-old-job-job"),
        (Kind.IAM_ROLE, "demo-dev-old-sfn"),
        (Kind.IAM_ROLE, "demo-dev-old-pipe"),
        (Kind.IAM_ROLE, "demo-dev-old-sched"),
        (Kind.SQS_QUEUE, "demo-dev-old"),
        (Kind.SQS_QUEUE, "demo-dev-old-dlq"),
        (Kind.LOG_GROUP, "/batchctl/demo/dev/old"),
        (Kind.LOG_GROUP, "/aws/vendedlogs/states/demo-dev-old"),
        (Kind.JOB_DEFINITION, "demo-dev-etl-extract"),
        (Kind.STATE_MACHINE, "demo-dev-old"),
        (Kind.PIPE, "demo-dev-old"),
        (Kind.SCHEDULE, "demo-dev-old"),
    ],
)
def test_names_batchctl_generates_qualify(
    patterns: dict[Kind, re.Pattern[str]], kind: Kind, name: str
) -> None:
    assert orphans.is_generated(kind, name, patterns)


@pytest.mark.parametrize(
    ("kind", "name"),
    [
        (Kind.IAM_ROLE, "demo-dev-admin"),  # tags copied onto a role of someone else's
        (Kind.IAM_ROLE, "demo-dev-Old-job"),
        (Kind.IAM_ROLE, "other-dev-old-job"),
        (Kind.SQS_QUEUE, "demo-prod-old"),
        (Kind.SQS_QUEUE, "demo-dev-"),
        (Kind.LOG_GROUP, "/batchctl/demo/dev/old/extra"),
        (Kind.LOG_GROUP, "/batchctl/demo/prod/old"),
        (Kind.JOB_DEFINITION, "demo-dev-Report_v2"),
        (Kind.STATE_MACHINE, "demo-devx-old"),
        (Kind.PIPE, "x-demo-dev-old"),
        (Kind.SCHEDULE, "manual-backfill"),
    ],
)
def test_look_alikes_do_not_qualify(patterns: dict[Kind, re.Pattern[str]], kind: Kind, name: str) -> None:
    assert not orphans.is_generated(kind, name, patterns)


def test_orphan_specs_skip_foreign_names_and_foreign_names_lists_them(
    patterns: dict[Kind, re.Pattern[str]],
) -> None:
    cfg = load_config(ROOT / "jobs.yaml", stage="dev")
    ctx = AwsContext.placeholder()
    found = {Kind.SQS_QUEUE: {"demo-dev-old", "demo-dev-Copy"}, Kind.IAM_ROLE: {"demo-dev-admin"}}
    specs = orphans.orphan_specs([], found, orphans.templates(cfg, ctx), patterns=patterns)
    assert [spec.key for spec in specs] == [Key(Kind.SQS_QUEUE, "demo-dev-old")]
    assert orphans.foreign_names(found, patterns) == [
        Key(Kind.SQS_QUEUE, "demo-dev-Copy"),
        Key(Kind.IAM_ROLE, "demo-dev-admin"),
    ]
