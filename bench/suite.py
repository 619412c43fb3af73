"""Runs every DESIGN §7 benchmark (one script per figure, each with its own sandbox and proxy), one after another so
they never compete for the 2 cores, under one time budget; then prints the Markdown table of figures and the machine.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import harness as h

# (script, time limit in s): cheap and unloaded figures first; the minutes-long ones last.
SCRIPTS = [
    ("startup", 60),
    ("submit_lines", 90),
    ("logs_tail", 150),
    ("plan_noop", 240),
    ("deploy_first", 240),
    ("deploy_memory", 360),
]
BUDGET_S = 590  # the whole run stays under 10 minutes


def machine() -> str:
    model = "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    memory = ""
    try:
        kib = int(Path("/proc/meminfo").read_text().split("MemTotal:", 1)[1].split()[0])
        memory = f", {kib / 1024 / 1024:.1f} GiB RAM"
    except (OSError, IndexError, ValueError):
        pass
    versions = subprocess.run(
        [
            str(h.PYTHON),
            "-c",
            "import sys, importlib.metadata as m; print(sys.version.split()[0], "
            "*(f'{p} {m.version(p)}' for p in ('batchctl', 'boto3', 'moto')), sep=', ')",
        ],
        capture_output=True,
        text=True,
        check=False,
    ).stdout.strip()
    return f"{model}, {cores} cores{memory}, {platform.system()} {platform.release()}; Python {versions}"


def load() -> str:
    one, five, _ = os.getloadavg()
    return f"load average {one:.1f} (1 min), {five:.1f} (5 min)"


def stop_group(proc: subprocess.Popen[bytes]) -> None:
    for sig, grace_s in ((signal.SIGTERM, 10.0), (signal.SIGKILL, 5.0)):
        try:
            os.killpg(proc.pid, sig)
        except ProcessLookupError:
            return
        try:
            proc.wait(timeout=grace_s)
            return
        except subprocess.TimeoutExpired:
            continue


def table(rows: list[h.Row]) -> str:
    lines = ["| Figure | Bound | Measured | Verdict |", "|---|---|---|---|"]
    for row in rows:
        measured = row.measured + (f" — {row.note}" if row.note else "")
        cells = [row.figure, row.bound, measured, row.verdict]
        lines.append("| " + " | ".join(cell.replace("|", "\\|") for cell in cells) + " |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", help="comma-separated scripts to run: " + ", ".join(s for s, _ in SCRIPTS))
    args = parser.parse_args()
    chosen = [s for s in SCRIPTS if not args.only or s[0] in args.only.split(",")]
    about = machine()
    print(f"# batchctl benchmarks (DESIGN §7), {h.DELAY_MS:.0f} ms added per AWS request\n\nmachine: {about}")
    start_load = load()
    print(f"before: {start_load} (other work on the machine inflates every figure)")
    started = time.monotonic()
    rows: list[h.Row] = []
    with tempfile.TemporaryDirectory(prefix="batchctl-bench-results-") as tmp:
        results = Path(tmp) / "rows.jsonl"
        for script, limit_s in chosen:
            left = BUDGET_S - (time.monotonic() - started)
            if left < min(limit_s, 60):
                print(f"\n## {script}: skipped, {left:.0f} s left of the {BUDGET_S} s budget")
                rows.append(h.Row(script, "-", "skipped (time budget)", "n/a"))
                continue
            results.write_text("")
            t0 = time.monotonic()
            # Its own process group: on timeout the script, its sandbox and its proxy all stop.
            proc = subprocess.Popen(
                [str(h.PYTHON), str(h.BENCH / f"{script}.py")],
                env=os.environ | {"BENCH_RESULTS": str(results)},
                start_new_session=True,
            )
            try:
                failed = proc.wait(timeout=min(limit_s, left)) != 0
            except subprocess.TimeoutExpired:
                failed = True
                print(f"  {script} exceeded its {min(limit_s, left):.0f} s limit: stopped")
                stop_group(proc)
            found = [h.Row(**json.loads(line)) for line in results.read_text().splitlines() if line]
            if failed and not found:
                found = [h.Row(script, "-", "benchmark failed (see its output above)", "n/a")]
            rows += found
            print(f"  ({script}: {time.monotonic() - t0:.0f} s; {load()})", flush=True)
    total = time.monotonic() - started
    print(f"\n## Results ({total:.0f} s in all)\n")
    print(table(rows))
    print(
        f"\nMachine: {about}. Sandbox: moto behind a loopback proxy adding {h.DELAY_MS:.0f} ms to every request. "
        f"At the start: {start_load}; at the end: {load()}."
    )


if __name__ == "__main__":
    main()
    sys.exit(0)
