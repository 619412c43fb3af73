"""Concurrent commands on one stage (issue 14, item 5): rounds of N real `batchctl deploy` / `destroy` processes
started at once against the moto server. Afterwards every command either succeeded or failed with the lock error
(exit 1, naming the holder), the stage is either fully deployed (`plan --check` exits 0) or fully gone, and no
resource exists twice.

Marked `stress`: each round takes a few seconds of CPU per process (a small jobs.yaml: one job, the network);
`BATCHCTL_STRESS_ROUNDS` sets the rounds (default 3).
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from tests.reliability_support import ENV, SMALL, leftovers

ROUNDS = int(os.environ.get("BATCHCTL_STRESS_ROUNDS", "3"))
# Each round's commands, started together; the first two wait for the lock, the others fail at once if it is held.
MIXES = [
    ("deploy", "deploy", "destroy", "deploy"),
    ("destroy", "deploy", "deploy", "destroy"),
    ("deploy", "destroy", "deploy", "deploy"),
    ("destroy", "destroy", "deploy", "deploy"),
]
WAITING = 2
LOCK_WAIT_S = "300"
EC2_KINDS = {
    "describe_vpcs": ("Vpcs", "VpcId"),
    "describe_subnets": ("Subnets", "SubnetId"),
    "describe_internet_gateways": ("InternetGateways", "InternetGatewayId"),
    "describe_route_tables": ("RouteTables", "RouteTableId"),
    "describe_security_groups": ("SecurityGroups", "GroupId"),
}


def start(config: Path, command: str, *, wait: bool) -> subprocess.Popen[str]:
    args = [sys.executable, "-m", "batchctl", "-c", str(config), command, "--yes"]
    args += ["--lock-timeout", LOCK_WAIT_S if wait else "0"]
    return subprocess.Popen(
        args,
        env={**os.environ, **ENV},
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def run(config: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "batchctl", "-c", str(config), *args],
        env={**os.environ, **ENV},
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=300,
    )


def duplicates(boto: Any) -> dict[str, int]:
    """Name tags that more than one network resource of demo/dev carries, per kind."""
    ec2 = boto.client("ec2")
    ours = [
        {"Name": "tag:batchctl:project", "Values": ["demo"]},
        {"Name": "tag:batchctl:stage", "Values": ["dev"]},
    ]
    found: dict[str, int] = {}
    for operation, (items, _id) in EC2_KINDS.items():
        names = Counter(
            next((t["Value"] for t in item.get("Tags", []) if t["Key"] == "Name"), "")
            for item in getattr(ec2, operation)(Filters=ours)[items]
        )
        found |= {f"{operation}:{name}": count for name, count in names.items() if count > 1}
    return found


@pytest.mark.stress
def test_concurrent_deploys_and_destroys_leave_one_consistent_stage(
    aws_env: str, boto: Any, tmp_path: Path
) -> None:
    config = tmp_path / "jobs.yaml"
    config.write_text(SMALL)
    started = time.monotonic()
    tally: Counter[str] = Counter()
    for round_ in range(ROUNDS):
        mix = MIXES[round_ % len(MIXES)]
        processes = [(command, start(config, command, wait=i < WAITING)) for i, command in enumerate(mix)]
        for command, process in processes:
            out, err = process.communicate(timeout=600)
            assert "Traceback" not in out + err, err
            if process.returncode == 0:
                tally[f"{command} ok"] += 1
                continue
            assert process.returncode == 1, (command, process.returncode, err)
            assert "demo/dev is locked by " in err, (command, err)
            assert "`batchctl unlock`" in err
            tally[f"{command} refused (locked)"] += 1
        assert duplicates(boto) == {}, f"round {round_}"
        checked = run(config, "plan", "--check")
        left = leftovers(boto, "demo", "dev")
        assert checked.returncode == 0 or left == [], (round_, checked.stdout, left)
    destroyed = run(config, "destroy", "--yes")
    assert destroyed.returncode == 0, destroyed.stderr
    assert leftovers(boto, "demo", "dev") == []
    assert tally["deploy ok"] >= ROUNDS  # the waiting commands always get their turn
    print(
        f"stress: {ROUNDS} rounds x {len(MIXES[0])} processes, {dict(tally)}, {time.monotonic() - started:.0f}s"
    )
