"""`deploy --job NAME`: only that job's resources (and the shared ones it uses) change; other jobs' edits wait."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from typer.testing import CliRunner

from batchctl.cli.app import app
from tests.reliability_support import ENV, example_text, write_project


def test_deploy_one_job_leaves_the_other_jobs_edits_for_later(aws_env: str, tmp_path: Path) -> None:
    config = write_project(tmp_path, example_text(stage="one"))
    runner = CliRunner()

    def run(*args: str) -> Any:
        return runner.invoke(app, ["-c", str(config), *args], env=ENV)

    assert run("deploy", "--yes", "--skip-image").exit_code == 0
    config.write_text(
        example_text(
            stage="one",
            **{"      LOG_LEVEL: info": "      LOG_LEVEL: debug", "memory_mib: 4096": "memory_mib: 8192"},
        )
    )
    before = json.loads(run("-o", "json", "plan").stdout)["plan"]["changes"]
    pending = sorted(c["key"] for c in before if c["action"] != "noop")
    assert pending == [
        "batch.job_definition/demo-one-daily-report",
        "batch.job_definition/demo-one-fibonacci",
    ]

    deployed = run("-o", "json", "deploy", "--yes", "--skip-image", "--job", "fibonacci")
    assert deployed.exit_code == 0, deployed.output
    assert json.loads(deployed.stdout)["result"]["done"] == ["batch.job_definition/demo-one-fibonacci:update"]
    after = json.loads(run("-o", "json", "plan").stdout)["plan"]["changes"]
    assert [c["key"] for c in after if c["action"] != "noop"] == [
        "batch.job_definition/demo-one-daily-report"
    ]

    assert run("deploy", "--yes", "--skip-image", "--job", "daily-report").exit_code == 0
    assert run("plan", "--check").exit_code == 0
    assert run("destroy", "--yes").exit_code == 0


def test_deploy_job_refuses_an_unknown_job_and_prune(tmp_path: Path) -> None:
    config = write_project(tmp_path, example_text(stage="bad"))
    runner = CliRunner()
    unknown = runner.invoke(app, ["-c", str(config), "deploy", "--yes", "--job", "fibonaci"], env=ENV)
    assert unknown.exit_code == 2
    assert "--job fibonaci: jobs.yaml has no such job" in unknown.stderr
    assert "daily-report, etl, fibonacci" in unknown.stderr
    assert "Traceback" not in unknown.output
    both = runner.invoke(app, ["-c", str(config), "deploy", "--yes", "--job", "etl", "--prune"], env=ENV)
    assert both.exit_code == 2
    assert "--prune and --job cannot be combined" in both.stderr


def test_a_new_cidr_is_refused_before_any_change_even_with_allow_replace(
    aws_env: str, tmp_path: Path
) -> None:
    config = write_project(tmp_path, example_text(stage="net"))
    runner = CliRunner()

    def run(*args: str) -> Any:
        return runner.invoke(app, ["-c", str(config), *args], env=ENV)

    assert run("deploy", "--yes", "--skip-image").exit_code == 0
    config.write_text(example_text(stage="net", **{"cidr: 10.20.0.0/24": "cidr: 10.30.0.0/24"}))
    planned = json.loads(run("-o", "json", "plan").stdout)["plan"]["changes"]
    assert {"key": "ec2.vpc/demo-net-vpc", "action": "replace"}.items() <= next(
        c for c in planned if c["key"] == "ec2.vpc/demo-net-vpc"
    ).items()
    for extra in ([], ["--allow-replace"]):
        refused = run("deploy", "--yes", "--skip-image", *extra)
        assert refused.exit_code == 1, refused.output
        assert "Traceback" not in refused.output
    assert "ec2.vpc/demo-net-vpc cannot be replaced (cidr_block) while" in refused.stderr
    assert "batchctl destroy" in refused.stderr
    # Nothing was touched: the old network still stands and the plan is the same.
    assert json.loads(run("-o", "json", "plan").stdout)["plan"]["changes"] == planned
    assert run("destroy", "--yes").exit_code == 0
