"""`submit --direct --time ISO` sets the run's time, ISO-8601 UTC to the second; a bad value is a usage error naming
the option (issue 13, review 15)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from batchctl.errors import ExitCode, UsageError
from batchctl.naming import Names
from batchctl.runs.submit import parse_run_time
from tests.integration.test_runs import SUCCEED
from tests.integration.test_runs_cli import _clean, _machine, project, run

__all__ = ["project"]  # a fixture, used by name


def test_submit_direct_with_a_time_starts_the_run_at_that_time(
    project: tuple[Path, Names], boto: Any
) -> None:
    config, names = project
    _machine(boto, names, "fib", SUCCEED)

    started = run(
        config, "submit", "fib", "--direct", "--body", "{}", "--time", "2026-12-03T18:55:42.250+01:00"
    )

    assert started.exit_code == 0, started.output
    run_id = started.stdout.strip()
    arn = f"{names.state_machine_arn('fib').replace(':stateMachine:', ':execution:')}:{run_id}"
    described = boto.client("stepfunctions").describe_execution(executionArn=arn)
    assert json.loads(described["input"])["time"] == "2026-12-03T17:55:42Z"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--direct", "--time", "yesterday"], "--time 'yesterday' is not an ISO-8601 time"),
        (
            ["--direct", "--time", "2026-13-03T00:00:00Z"],
            "--time '2026-13-03T00:00:00Z' is not an ISO-8601 time",
        ),
        (["--time", "2026-12-03T17:55:42Z"], "--time needs --direct"),
    ],
    ids=["words", "no-such-month", "through-the-queue"],
)
def test_a_bad_time_is_a_usage_error_naming_the_option(
    project: tuple[Path, Names], boto: Any, args: list[str], message: str
) -> None:
    config, names = project
    _machine(boto, names, "fib", SUCCEED)

    result = run(config, "submit", "fib", "--body", "{}", *args)

    assert result.exit_code == ExitCode.USAGE
    assert result.stderr.splitlines()[0] == f"error: {message}"
    _clean(result)


def test_run_times_have_second_precision_in_utc() -> None:
    assert parse_run_time("2026-12-03T17:55:42Z") == "2026-12-03T17:55:42Z"
    assert parse_run_time("2026-12-03T17:55:42.999") == "2026-12-03T17:55:42Z"
    assert parse_run_time("2026-12-03") == "2026-12-03T00:00:00Z"
    assert parse_run_time("2026-12-03T23:30:00-01:00") == "2026-12-04T00:30:00Z"
    with pytest.raises(UsageError):
        parse_run_time("0001-01-01T00:00:00+01:00")  # out of range once in UTC
