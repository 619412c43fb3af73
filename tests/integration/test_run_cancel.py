"""Run ids (the full id or a unique prefix, across jobs) and cancelling runs, on the moto server without Docker: a run
held RUNNING by its workflow is stopped, a finished one is left as it is (issue 15, item 1)."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any
from uuid import uuid4

import pytest

from batchctl import runs
from batchctl.errors import ExitCode, RunError, UsageError
from batchctl.naming import Names
from batchctl.runs.cancel import CANCEL_ERROR, cancel_runs, running_executions
from batchctl.runs.executions import locate_run
from tests.integration.test_runs import SUCCEED, WAIT, _create_machine, _start
from tests.integration.test_runs_cli import _clean, _machine, project, run

__all__ = ["project"]  # a fixture, used by name


@pytest.fixture
def names(aws: Any) -> Names:
    return Names(project=f"t{uuid4().hex[:8]}", stage="dev", ctx=aws.context())


def test_a_run_is_found_by_its_full_id_or_a_unique_prefix_in_any_job(
    aws: Any, boto: Any, names: Names
) -> None:
    etl = _create_machine(boto, names, "etl", SUCCEED)
    fib = _create_machine(boto, names, "fib", SUCCEED)
    _start(boto, etl, "cli-20261204T100000Z-aaaa1111", {})
    _start(boto, fib, "cli-20261204T100000Z-bbbb2222", {})
    _start(boto, fib, "cli-20261204T100000Z-bbbb2222-r1", {})
    jobs = ["etl", "fib"]

    assert locate_run(aws, names, jobs=jobs, run_id="cli-20261204T100000Z-aaaa1111").job == "etl"
    assert (
        locate_run(aws, names, jobs=jobs, run_id="cli-20261204T100000Z-a").run_id
        == "cli-20261204T100000Z-aaaa1111"
    )
    # A whole id wins over the longer ids it is a prefix of.
    assert locate_run(aws, names, jobs=jobs, run_id="cli-20261204T100000Z-bbbb2222").run_id == (
        "cli-20261204T100000Z-bbbb2222"
    )
    assert locate_run(aws, names, jobs=jobs, run_id="cli-20261204T100000Z-bbbb2222-").job == "fib"


def test_an_unknown_or_ambiguous_run_id_is_a_clear_error(aws: Any, boto: Any, names: Names) -> None:
    fib = _create_machine(boto, names, "fib", SUCCEED)
    _start(boto, fib, "cli-1-aaaa", {})
    _start(boto, fib, "cli-1-bbbb", {})

    with pytest.raises(UsageError) as ambiguous:
        locate_run(aws, names, jobs=["fib"], run_id="cli-1-")
    with pytest.raises(RunError) as unknown:
        locate_run(aws, names, jobs=["fib", "not-deployed"], run_id="nope")

    assert ambiguous.value.exit_code is ExitCode.USAGE
    assert "2 runs start with it (cli-1-aaaa, cli-1-bbbb)" in str(ambiguous.value)
    assert "more of the id" in (ambiguous.value.hint or "")
    assert unknown.value.exit_code is ExitCode.FAILED
    assert "no run 'nope'" in str(unknown.value)


def test_cancel_stops_a_running_run_and_leaves_a_finished_one(aws: Any, boto: Any, names: Names) -> None:
    waiting = _create_machine(boto, names, "fib", WAIT)
    done = _create_machine(boto, names, "etl", SUCCEED)
    _start(boto, waiting, "run-going", {})
    _start(boto, done, "run-done", {})
    runs.follow(
        aws, names, job="etl", run_id="run-done", on_update=lambda _u: None, poll_s=0.05, timeout_s=30
    )
    going = running_executions(aws, waiting, job="fib")
    assert [e.run_id for e in going] == ["run-going"]
    finished = locate_run(aws, names, jobs=["etl", "fib"], run_id="run-done")

    results = cancel_runs(aws, [*going, finished], reason="not needed", timeout_s=30, poll_s=0.05)

    assert [(r.run_id, r.status, r.stopped) for r in results] == [
        ("run-going", "ABORTED", True),
        ("run-done", "SUCCEEDED", True),
    ]
    assert running_executions(aws, waiting, job="fib") == []
    described = boto.client("stepfunctions").describe_execution(executionArn=going[0].arn)
    assert described["status"] == "ABORTED"
    assert json.loads(json.dumps(results[0].to_dict()))["stopped"] is True
    assert CANCEL_ERROR.startswith("batchctl.")


# ---- the command, without Docker ------------------------------------------------------------------------------


def test_cancel_command_on_runs_that_are_not_going(project: tuple[Path, Names], boto: Any) -> None:
    config, names = project
    _machine(boto, names, "fib", SUCCEED)
    _machine(boto, names, "daily", WAIT)
    machine = names.state_machine_arn("fib")
    _start(boto, machine, "run-done-1234", {})
    _start(boto, names.state_machine_arn("daily"), "run-going-5678", {})
    deadline = time.monotonic() + 30
    sfn = boto.client("stepfunctions")
    arn = f"{machine.replace(':stateMachine:', ':execution:')}:run-done-1234"
    while sfn.describe_execution(executionArn=arn)["status"] == "RUNNING" and time.monotonic() < deadline:
        time.sleep(0.05)

    finished = run(config, "cancel", "run-done")
    none_going = run(config, "cancel", "fib", "--all")
    unknown_job = run(config, "cancel", "nope", "--all")
    ambiguous = run(config, "cancel", "run-")
    going = run(config, "cancel", "run-going", "-o", "json")

    assert finished.exit_code == 1
    assert (
        finished.stderr.strip().splitlines()[0]
        == "error: run run-done-1234 of fib already finished (SUCCEEDED)"
    )
    assert none_going.exit_code == 0
    assert "job fib has no running run" in none_going.stderr
    assert unknown_job.exit_code != 0
    assert "nope" in unknown_job.stderr
    assert ambiguous.exit_code == ExitCode.USAGE
    assert "2 runs start with it" in ambiguous.stderr
    assert going.exit_code == 0, going.output
    (result,) = json.loads(going.stdout)["runs"]
    assert (result["run_id"], result["status"], result["stopped"]) == ("run-going-5678", "ABORTED", True)
    for result in (finished, none_going, unknown_job, ambiguous, going):
        _clean(result)
