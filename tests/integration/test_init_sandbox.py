"""`batchctl init`'s project plans on the sandbox at once: a new user's first three commands, as real processes
(`batchctl sandbox`, `batchctl init` in an empty folder, `batchctl plan` with only the environment the sandbox
prints), need no edit of any file in between."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

BATCHCTL = [sys.executable, "-m", "batchctl"]


def printed_environment(export_line: str) -> dict[str, str]:
    """The variables of the sandbox's `export NAME=value ...` line."""
    assert export_line.startswith("export "), export_line
    return dict(item.split("=", 1) for item in export_line.removeprefix("export ").split())


def user_environment(printed: dict[str, str], home: Path) -> dict[str, str]:
    """A shell with no AWS configuration of its own, plus what the sandbox told the user to export."""
    base = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "BATCHCTL_", "DOCKER_"))}
    return base | {"HOME": str(home), "COLUMNS": "200", "NO_COLOR": "1"} | printed


def test_the_scaffold_plans_on_the_sandbox_without_an_edit(tmp_path: Path) -> None:
    sandbox = subprocess.Popen(
        [*BATCHCTL, "sandbox", "--no-docker", "--port", "0"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert sandbox.stdout is not None
        printed = printed_environment(sandbox.stdout.readline().strip())  # printed once it listens
        env = user_environment(printed, tmp_path / "home")
        folder = tmp_path / "reports"  # a folder name that is a valid project name as it is
        folder.mkdir()

        init = subprocess.run(
            [*BATCHCTL, "init"], cwd=folder, env=env, capture_output=True, text=True, timeout=120
        )
        assert init.returncode == 0, init.stderr

        plan = subprocess.run(
            [*BATCHCTL, "plan"], cwd=folder, env=env, capture_output=True, text=True, timeout=300
        )
        assert plan.returncode == 0, plan.stderr
        assert "Plan for reports/dev: 30 to create, 0 to update, 0 to replace, 0 unchanged." in plan.stdout
        # Nothing to fix first: the only line on stderr says what the plan is for.
        (target,) = plan.stderr.strip().splitlines()
        assert target.startswith("project reports, stage dev: account ")
        assert f"region {printed['AWS_DEFAULT_REGION']}" in target

        as_json = subprocess.run(
            [*BATCHCTL, "plan", "-o", "json"],
            cwd=folder,
            env=env,
            capture_output=True,
            text=True,
            timeout=300,
        )
        assert as_json.returncode == 0, as_json.stderr
        document = json.loads(as_json.stdout)
        changes = document["plan"]["changes"]
        assert changes
        assert {change["action"] for change in changes} == {"create"}
        assert document["plan"]["notes"] == []  # nothing deploy could neither grant nor check
        assert document["plan"]["foreign"] == []
        assert document["plan"]["orphans"] == []
    finally:
        sandbox.send_signal(signal.SIGINT)
        _out, err = sandbox.communicate(timeout=60)
    assert "Traceback" not in err
