"""Ctrl-C during deploy (DESIGN §8): `batchctl deploy --yes` runs as a real process against the moto server; once a
change has been printed and another change's AWS call is in flight, it gets SIGINT. It must start no new change,
let the in-flight call finish, print what was done and what was not, and exit 130; the next deploy finishes the job.

No timing is involved: the process talks to moto through an `AwsProxy` that holds the next mutating request after
the first "+ created" line, so a call is provably in flight when the signal arrives. The proxy releases it only once
/proc shows the signal delivered (no longer pending), so the process has seen Ctrl-C before its call returns.
The engine-level rules (stop event, halting on failure) are unit-tested in tests/unit/test_engine.py.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import IO, Any

import pytest
from typer.testing import CliRunner

from batchctl.cli.app import app
from tests.reliability_support import ENV, AwsProxy, example_text, leftovers, write_project

# SIGINT starts as SIG_IGN in a process launched from a non-interactive shell's background job, and a process keeps
# an ignored disposition; restore Python's own handler explicitly, then run the real entry point.
LAUNCH = (
    "import signal, sys; signal.signal(signal.SIGINT, signal.default_int_handler); "
    "sys.argv[0] = 'batchctl'; from batchctl.cli import main; main()"
)
SIGINT_BIT = 1 << (signal.SIGINT - 1)
PARALLELISM_1 = ("--parallelism", "1")  # so everything after the held change is "not started"


def sigint_pending(pid: int) -> bool:
    """True while SIGINT waits to be delivered to the process or to any of its threads (Linux /proc)."""
    paths = [Path(f"/proc/{pid}/status"), *Path(f"/proc/{pid}/task").glob("*/status")]
    for path in paths:
        try:
            text = path.read_text()
        except OSError:
            continue
        for field in ("ShdPnd", "SigPnd"):
            found = re.search(rf"^{field}:\s*([0-9a-f]+)$", text, re.MULTILINE)
            if found and int(found.group(1), 16) & SIGINT_BIT:
                return True
    return False


class Lines:
    """Collects a pipe's lines on a thread; `wait_for` blocks (bounded) until a line matches."""

    def __init__(self, stream: IO[str]) -> None:
        self.lines: list[str] = []
        self._changed = threading.Condition()
        self._thread = threading.Thread(target=self._pump, args=(stream,), daemon=True)
        self._thread.start()

    def _pump(self, stream: IO[str]) -> None:
        for line in stream:
            with self._changed:
                self.lines.append(line.rstrip("\n"))
                self._changed.notify_all()

    def wait_for(self, pattern: str, *, limit_s: float = 120) -> str:
        regex = re.compile(pattern)
        deadline = time.monotonic() + limit_s
        with self._changed:
            while True:
                for line in self.lines:
                    if regex.search(line):
                        return line
                left = deadline - time.monotonic()
                assert left > 0, f"no line matching {pattern!r} in {self.lines}"
                self._changed.wait(left)

    def text(self) -> str:
        self._thread.join(timeout=30)
        return "\n".join(self.lines)


def test_ctrl_c_during_deploy_finishes_in_flight_calls_reports_and_the_next_deploy_completes(
    aws_env: str, boto: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = write_project(tmp_path, example_text(stage="sigint"))
    started = time.monotonic()
    with AwsProxy(aws_env) as proxy:
        env = {**os.environ, **ENV, "AWS_ENDPOINT_URL": proxy.url}
        process = subprocess.Popen(
            [
                sys.executable,
                "-c",
                LAUNCH,
                "-c",
                str(config),
                "deploy",
                "--yes",
                "--skip-image",
                *PARALLELISM_1,
            ],
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        assert process.stdout is not None
        assert process.stderr is not None
        err = Lines(process.stderr)
        out = Lines(process.stdout)
        try:
            first = err.wait_for(r"^\+ created ")
            proxy.hold_next_mutating()
            assert proxy.held.wait(timeout=120), f"no mutating call after {first!r}: {err.lines}"
            process.send_signal(signal.SIGINT)
            deadline = time.monotonic() + 60
            while sigint_pending(process.pid):
                assert time.monotonic() < deadline, "SIGINT was never delivered"
                time.sleep(0.01)
            proxy.release()
            code = process.wait(timeout=120)
        finally:
            if process.poll() is None:
                process.kill()
                process.wait()
    stderr, stdout = err.text(), out.text()
    print(stderr)
    print(f"timing: interrupted after {time.monotonic() - started:.1f}s")

    assert code == 130, stderr
    assert "Traceback" not in stderr + stdout
    # The held call was answered: the change it belonged to finished, and nothing new started after Ctrl-C.
    assert (proxy.held_operation, 200) in proxy.forwarded, (proxy.held_operation, proxy.forwarded[-5:])
    done = [line for line in stderr.splitlines() if re.match(r"^\+ created ", line)]
    not_started = [line for line in stderr.splitlines() if line.startswith("  not started: ")]
    summary = re.search(r"^interrupted: (\d+) change\(s\) done, (\d+) not started$", stderr, re.MULTILINE)
    assert summary, stderr
    assert (int(summary.group(1)), int(summary.group(2))) == (len(done), len(not_started))
    assert len(done) >= 2  # the first printed change, and the one whose call was in flight
    assert not_started, stderr
    assert "Run `batchctl deploy` again to finish." in stderr
    # What was reported as not started is exactly what a plan now shows as still to do.
    monkeypatch.setenv("AWS_ENDPOINT_URL", aws_env)
    runner = CliRunner()
    planned = runner.invoke(app, ["-c", str(config), "-o", "json", "plan"], env=ENV)
    assert planned.exit_code == 0, planned.output
    # The terminal shows a log group's key as logs.log_group:/name (Key.label), the JSON as logs.log_group//name.
    todo = {
        f"{c['action']} {c['key'].replace('//', ':/', 1)}"
        for c in json.loads(planned.stdout)["plan"]["changes"]
        if c["action"] != "noop"
    }
    assert todo == {line.removeprefix("  not started: ") for line in not_started}

    # The next deploy finishes exactly what was not started, then everything is in place.
    again = runner.invoke(app, ["-c", str(config), "deploy", "--yes", "--skip-image"], env=ENV)
    assert again.exit_code == 0, again.output
    assert f"deploy complete: {len(not_started)} change(s) applied." in again.stderr
    assert runner.invoke(app, ["-c", str(config), "plan", "--check"], env=ENV).exit_code == 0
    destroyed = runner.invoke(app, ["-c", str(config), "destroy", "--yes"], env=ENV)
    assert destroyed.exit_code == 0, destroyed.output
    assert leftovers(boto, "demo", "sigint") == []
    print(f"timing: all done after {time.monotonic() - started:.1f}s")
