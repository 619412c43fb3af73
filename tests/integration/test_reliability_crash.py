"""Crash convergence (DESIGN §8): the example's first deploy is killed at its k-th mutating AWS call, for EVERY k
from 1 to the number of mutating calls a clean first deploy makes. After each cut, one deploy with no fault
converges (the plan after it is all NOOP) and destroy leaves nothing with our tags or names behind.

The crash is a `before-call` handler that raises SimulatedCrash (not a botocore error, so nothing in batchctl
handles it) at the k-th mutating call and at every call after it: the account is left exactly as a process killed
after k-1 mutating calls would leave it, cleanup code included. The cut deploy runs with --parallelism 1 so that
"the k-th call" is the same call on every run; the recovering deploy and the destroy use the default.

Each cut point costs a partial deploy, a deploy, a read, a destroy and a leftover scan (about 3 s on moto); the
sweep is split in two interleaved shards, this file and test_reliability_crash_even.py, so `pytest -n 2` runs them
side by side. Each shard records
`cut_points_tried` / `cut_points_passed` (pytest `record_property`) and prints a summary line.
"""

from __future__ import annotations

import contextlib
import time
from typing import Any

from tests.reliability_support import (
    CrashAt,
    SimulatedCrash,
    deploy,
    destroy,
    example,
    handlers,
    leftovers,
    pending,
    plan_for,
)

SHARDS = 2


def count_mutating_calls(aws: Any, boto: Any) -> list[str]:
    """The mutating calls of a clean first deploy of the example (parallelism 1), then destroy it."""
    cfg = example(stage="clean")
    counter = CrashAt(k=0)  # never trips: only counts
    with handlers(aws, "before-call", counter):
        _, result = deploy(aws, cfg, parallelism=1)
    assert not result.failed, result.failed
    _, removed = destroy(aws, cfg)
    assert not removed.failed, removed.failed
    assert leftovers(boto, "demo", "clean") == []
    return counter.mutating


def cut_and_recover(aws: Any, boto: Any, k: int) -> str | None:
    """Crash the first deploy at mutating call k, then deploy, plan, destroy. None when all went right."""
    stage = f"k{k}"
    cfg = example(stage=stage)
    crash = CrashAt(k)
    with handlers(aws, "before-call", crash), contextlib.suppress(SimulatedCrash):
        deploy(aws, cfg, parallelism=1)
    if crash.crashed_at is None:
        return f"k={k}: the deploy finished before its mutating call {k}"
    _, result = deploy(aws, cfg)
    if result.failed:
        return f"k={k} (cut at {crash.crashed_at}): the next deploy failed: {result.failed}"
    after, _ = plan_for(aws, cfg)
    if after.has_changes:
        return f"k={k} (cut at {crash.crashed_at}): not converged, still pending {pending(after)}"
    _, removed = destroy(aws, cfg)
    if removed.failed:
        return f"k={k} (cut at {crash.crashed_at}): destroy failed: {removed.failed}"
    left = leftovers(boto, "demo", stage)
    if left:
        return f"k={k} (cut at {crash.crashed_at}): destroy left {left}"
    return None


def run_shard(aws: Any, boto: Any, shard: int, record_property: Any) -> None:
    """Cut points shard+1, shard+1+SHARDS, ...: each shard lives in its own test file, so that
    `pytest -n 2 --dist loadfile` runs them side by side."""
    started = time.monotonic()
    calls = count_mutating_calls(aws, boto)
    assert len(calls) > 40, calls  # the example creates ~40 resources; fewer means the count is wrong
    cut_points = list(range(1 + shard, len(calls) + 1, SHARDS))
    failures = [problem for k in cut_points if (problem := cut_and_recover(aws, boto, k))]
    elapsed = time.monotonic() - started
    passed = len(cut_points) - len(failures)
    record_property("mutating_calls_of_first_deploy", len(calls))
    record_property("cut_points_tried", len(cut_points))
    record_property("cut_points_passed", passed)
    record_property("seconds", round(elapsed, 1))
    print(
        f"crash convergence shard {shard + 1}/{SHARDS}: {len(cut_points)} cut points of {len(calls)} tried, "
        f"{passed} passed, {elapsed:.0f}s"
    )
    assert failures == []


def test_a_deploy_cut_at_any_odd_mutating_call_is_finished_by_the_next_deploy(
    aws: Any, boto: Any, record_property: Any
) -> None:
    run_shard(aws, boto, 0, record_property)
