"""Run ids a person can copy (runs/ids.py): what `status` shows names exactly one run, and resolves back to it."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from batchctl.errors import ExitCode, RunError, UsageError
from batchctl.runs import resolve_run, short_ids

UUIDS = ["3f2a9c1e-0000-4000-8000-000000000001", "3f2a9c1e-1111-4000-8000-000000000002"]


def test_a_prefix_goes_one_character_past_the_longest_shared_start() -> None:
    shown = short_ids([*UUIDS, "5e6f7a8b-1c2d-4e3f-9a0b-c1d2e3f4a5b6"])
    assert shown == {
        UUIDS[0]: "3f2a9c1e-0",
        UUIDS[1]: "3f2a9c1e-1",
        "5e6f7a8b-1c2d-4e3f-9a0b-c1d2e3f4a5b6": "5e6f7a8b",
    }


def test_short_ids_and_ids_that_are_a_prefix_of_another_are_shown_whole() -> None:
    shown = short_ids(
        ["r1", "r1-r1", "r1-r2", "cli-20261204T134024Z-aaaa0001", "cli-20261204T134024Z-aaaa0002"]
    )
    assert all(shown[run_id] == run_id for run_id in shown)


def test_an_exact_id_wins_over_a_prefix_and_a_unique_prefix_resolves() -> None:
    assert resolve_run("r1", ["r1", "r1-r1"]) == "r1"
    assert resolve_run("r1-r", ["r1", "r1-r1"]) == "r1-r1"
    assert resolve_run("3f2a9c1e-1", UUIDS) == UUIDS[1]


def test_an_ambiguous_prefix_is_a_usage_error_naming_the_runs_and_an_unknown_one_a_run_error() -> None:
    with pytest.raises(UsageError, match="ambiguous: 2 runs start with it") as ambiguous:
        resolve_run("3f2a9c1e", UUIDS)
    assert UUIDS[0] in ambiguous.value.message
    assert ambiguous.value.exit_code == ExitCode.USAGE
    with pytest.raises(RunError, match="no run 'ghost'"):
        resolve_run("ghost", UUIDS)
    with pytest.raises(UsageError):
        resolve_run("  ", UUIDS)


@given(st.lists(st.text(alphabet="ab-1", min_size=1, max_size=12), min_size=1, max_size=12, unique=True))
def test_what_is_shown_names_one_run_and_resolves_to_it(ids: list[str]) -> None:
    shown = short_ids(ids)
    for run_id, value in shown.items():
        assert run_id.startswith(value)
        assert resolve_run(value, ids) == run_id
        # Never a cut id that looks like another: no other id starts with what is shown.
        assert value == run_id or not any(o.startswith(value) for o in ids if o != run_id)
