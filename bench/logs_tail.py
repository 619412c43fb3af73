"""DESIGN §7: `logs tail JOB --since 1d` of 100,000 events ≤ 5 s and ≥ 2× faster than paging them with the AWS CLI;
with `--follow` a new event shows within 2 s.

Arrange (not timed): deploy a 3-job file, then write 100,000 events (10 streams × 10,000, spread over the last 14 h)
into job-000's container log group with PutLogEvents straight to moto.

The peer is the AWS CLI itself when one is installed (`$BENCH_AWS_CLI`, else `aws` on PATH):
`aws logs filter-log-events --log-group-name G --start-time T --output json` through the same proxy, which pages
FilterLogEvents with its default page size, sequentially, and prints JSON. Without an `aws` executable the peer is an
emulation of that command: a fresh Python process that imports boto3, calls FilterLogEvents through the proxy without
a limit, follows nextToken to the end and prints the whole result as indented JSON. The output says which one ran.

Every event must come out exactly once and in time order: the bench checks the count and the order of the lines.
"""

from __future__ import annotations

import os
import re
import select
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from itertools import pairwise
from pathlib import Path
from typing import Any

import harness as h

EVENTS = 100_000
STREAMS = 10
REPEAT = 3
FOLLOW_SAMPLES = 5
BOUND_S = 5.0
FOLLOW_BOUND_S = 2.0
MIN_RATIO = 2.0
JOB = "job-000"
FOLLOW_JOB = "job-003"  # another on-demand job: its own, nearly empty log group
_LINE = re.compile(r"stream (\d+) line (\d+):")

CLI_EMULATION = r"""
import json, sys
import boto3
client = boto3.client("logs")  # endpoint, region and credentials from the environment, as the CLI takes them
params = {"logGroupName": sys.argv[1], "startTime": int(sys.argv[2])}
result = {"events": [], "searchedLogStreams": []}
token = None
while True:
    page = client.filter_log_events(**params, **({"nextToken": token} if token else {}))
    result["events"] += page.get("events", [])
    result["searchedLogStreams"] += page.get("searchedLogStreams", [])
    token = page.get("nextToken")
    if not token:
        break
json.dump(result, sys.stdout, indent=4, ensure_ascii=False)
sys.stdout.write("\n")
"""


def group_of(job: str) -> str:
    return f"/batchctl/bench/b/{job}"


def fill(logs: Any, group: str, *, now_ms: int) -> None:
    """100,000 events in 10 streams named as Batch names them (`<step>/default/<task id>`), the last 14 hours."""
    first_ms = now_ms - 14 * 3600 * 1000
    for s in range(STREAMS):
        stream = f"main/default/{uuid.uuid4().hex}"
        logs.create_log_stream(logGroupName=group, logStreamName=stream)
        per_stream = EVENTS // STREAMS
        events = [
            {
                "timestamp": first_ms + (i * STREAMS + s) * 500,
                "message": f"stream {s} line {i}: processed record {i * 7}",
            }
            for i in range(per_stream)
        ]
        logs.put_log_events(logGroupName=group, logStreamName=stream, logEvents=events)


def in_time_order(stdout: str) -> bool:
    """The lines `fill` wrote carry their stream s and index i; event time is (i * STREAMS + s) * 500 ms."""
    keys = [int(m.group(2)) * STREAMS + int(m.group(1)) for m in map(_LINE.search, stdout.splitlines()) if m]
    return len(keys) == EVENTS and all(a < b for a, b in pairwise(keys))


def aws_cli() -> str | None:
    return os.environ.get("BENCH_AWS_CLI") or shutil.which("aws")


def follow_latency(box: h.Stack, folder: Path, logs: Any) -> tuple[list[float], str]:
    """Start `logs tail --follow`, then write one event at a time; how long until each shows on stdout."""
    group = group_of(FOLLOW_JOB)
    stream = f"main/default/{uuid.uuid4().hex}"
    logs.create_log_stream(logGroupName=group, logStreamName=stream)
    proc = subprocess.Popen(
        [str(h.BATCHCTL), "logs", "tail", FOLLOW_JOB, "--follow", "--since", "5m"],
        cwd=folder,
        env=box.env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        stdin=subprocess.DEVNULL,
        start_new_session=True,
    )
    assert proc.stdout is not None
    assert proc.stderr is not None
    latencies: list[float] = []
    pending = b""
    try:
        time.sleep(4.0)  # startup and the first pass (the group is empty), whatever the machine's load
        if proc.poll() is not None:
            return [], proc.stderr.read().decode(errors="replace")[-300:]
        for k in range(FOLLOW_SAMPLES):
            marker = f"follow-marker-{k}-{uuid.uuid4().hex[:6]}"
            logs.put_log_events(
                logGroupName=group,
                logStreamName=stream,
                logEvents=[{"timestamp": int(time.time() * 1000), "message": marker}],
            )
            written = time.perf_counter()
            deadline = written + 10
            seen = False
            while not seen and time.perf_counter() < deadline:
                ready, _, _ = select.select([proc.stdout], [], [], 0.05)
                if ready:
                    chunk = os.read(proc.stdout.fileno(), 65536)
                    if not chunk:
                        break
                    pending += chunk
                    if marker.encode() in pending:
                        seen = True
                        latencies.append(time.perf_counter() - written)
                        pending = pending[pending.index(marker.encode()) + len(marker) :]
            if not seen:
                return latencies, f"marker {k} did not show within 10 s"
            time.sleep(0.37 * (k + 1) % 1.0)  # land at different points of the poll interval
    finally:
        os.killpg(proc.pid, signal.SIGINT)
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
    return latencies, ""


def main() -> list[h.Row]:
    h.heading(f"logs tail of {EVENTS:,} events, and --follow latency")
    rows: list[h.Row] = []
    with h.stack() as box, tempfile.TemporaryDirectory(prefix="batchctl-bench-") as tmp:
        folder = h.project_folder(Path(tmp), jobs=6, name="logs")
        h.deploy_unmeasured(box, folder)
        logs = box.client("logs")
        now_ms = int(time.time() * 1000)
        started = time.perf_counter()
        fill(logs, group_of(JOB), now_ms=now_ms)
        print(
            f"  arranged: {EVENTS:,} events in {STREAMS} streams of {group_of(JOB)} "
            f"({time.perf_counter() - started:.1f} s, not a figure)"
        )

        probe = h.batchctl(box, folder, "logs", "tail", JOB, "--since", "1d")
        if h.not_available(probe):
            print(f"  `batchctl logs tail` is not available yet: {probe.stderr.strip()[:200]}")
            return [
                h.Row(
                    f"`logs tail --since 1d`, {EVENTS:,} events",
                    "≤ 5 s, ≥ 2× the AWS CLI",
                    "not available yet",
                    "n/a",
                ),
                h.Row("`logs tail --follow`: new event shown", "≤ 2 s", "not available yet", "n/a"),
            ]
        probe.check()

        times: list[float] = []
        printed: list[int] = []
        ordered: list[bool] = []
        calls_seen = None
        cpu: list[float] = []
        for i in range(REPEAT):
            box.reset_calls()
            result = h.batchctl(box, folder, "logs", "tail", JOB, "--since", "1d", timeout_s=120).check()
            times.append(result.seconds)
            cpu.append(result.cpu_s)
            printed.append(len(result.stdout.splitlines()))
            ordered.append(in_time_order(result.stdout))
            if i == 0:
                calls_seen = box.calls()
        assert calls_seen is not None
        tail_s = h.median(times)
        print(
            f"  batchctl logs tail {JOB} --since 1d: median {h.secs(tail_s)} {h.spread(times)}, CPU "
            f"{h.secs(h.median(cpu))}; lines printed {printed}; every event once and in time order: {ordered}"
        )
        h.print_calls(calls_seen, title="AWS calls of one `logs tail`")

        start = str(now_ms - 86_400_000)
        aws = aws_cli()
        if aws:
            version = h.run([aws, "--version"], env=box.env()).stdout.strip() or "version unknown"
            peer_name = f"AWS CLI ({version.split()[0]}, `aws logs filter-log-events`)"
            peer_args = [
                aws,
                "logs",
                "filter-log-events",
                "--log-group-name",
                group_of(JOB),
                "--start-time",
                start,
            ]
            peer_args += ["--output", "json"]
        else:
            peer_name = (
                "AWS CLI emulation (no `aws` installed: boto3, FilterLogEvents paged to the end, JSON out)"
            )
            peer_args = [str(h.PYTHON), "-c", CLI_EMULATION, group_of(JOB), start]
        print(f"  peer: {peer_name}")
        peer_times: list[float] = []
        peer_events = 0
        for i in range(REPEAT):
            box.reset_calls()
            peer = h.run(peer_args, env=box.env(), timeout_s=300).check()
            peer_times.append(peer.seconds)
            if i == 0:
                peer_events = peer.stdout.count('"eventId"')
                h.print_calls(box.calls(), title="AWS calls of the peer")
        peer_s = h.median(peer_times)
        ratio = peer_s / tail_s
        print(
            f"  {peer_name}: median {h.secs(peer_s)} {h.spread(peer_times)}; {peer_events:,} events; "
            f"batchctl is {ratio:.1f}× faster"
        )

        latencies, problem = follow_latency(box, folder, logs)
        if latencies:
            print(f"  --follow: each new event shown after {h.spread(latencies)}")
        if problem:
            print(f"  --follow: {problem}")

    complete = all(n == EVENTS for n in printed) and all(ordered)
    peer_label = "AWS CLI" if aws else "AWS CLI emulation"
    rows.append(
        h.Row(
            f"`logs tail --since 1d`, {EVENTS:,} events",
            "≤ 5 s, ≥ 2× faster than the AWS CLI",
            f"{h.secs(tail_s)} (median of {REPEAT}); {peer_label} {h.secs(peer_s)} ({ratio:.1f}×)",
            h.verdict(tail_s <= BOUND_S and ratio >= MIN_RATIO and complete),
            "every event once, in time order"
            if complete
            else f"printed {printed} lines (expected {EVENTS:,}), in time order: {ordered}",
        )
    )
    worst = max(latencies) if latencies else float("inf")
    rows.append(
        h.Row(
            "`logs tail --follow`: new event shown",
            "≤ 2 s",
            f"median {h.secs(h.median(latencies))}, worst {h.secs(worst)} of {len(latencies)}"
            if latencies
            else "never shown",
            h.verdict(worst <= FOLLOW_BOUND_S and not problem),
            problem,
        )
    )
    return rows


if __name__ == "__main__":
    h.emit(main())
    sys.exit(0)
