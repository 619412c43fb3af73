"""Crash convergence, the even cut points (see test_reliability_crash.py for the odd ones and the method)."""

from __future__ import annotations

from typing import Any

from tests.integration.test_reliability_crash import run_shard


def test_a_deploy_cut_at_any_even_mutating_call_is_finished_by_the_next_deploy(
    aws: Any, boto: Any, record_property: Any
) -> None:
    run_shard(aws, boto, 1, record_property)
